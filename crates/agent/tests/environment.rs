//! Environment metadata through the agent: host facts and each workload's runtime on `environment_info`.

mod common;

use common::{FakeProc, Proc};
use prescale_agent::env::{HostEnvironment, Roots, Runtime};
use prescale_agent::{Agent, AgentConfig, AgentSample};
use prescale_core::Timestamp;
use std::collections::BTreeMap;

fn info(s: &AgentSample, workload: &str) -> Option<BTreeMap<String, String>> {
    s.points
        .iter()
        .find(|p| {
            p.key.workload.as_str() == workload && p.key.metric.as_str() == "environment_info"
        })
        .map(|p| {
            assert_eq!(p.sample.value, 1.0);
            p.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
}

#[test]
fn each_workload_reports_the_host_and_its_runtime() {
    let fake = FakeProc::new();
    let root = fake.root();
    std::fs::write(
        root.join("cpuinfo"),
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7R13 Processor\nflags\t\t: fpu avx2 aes\n",
    )
    .unwrap();
    std::fs::write(root.join("meminfo"), "MemTotal:       4096 kB\n").unwrap();
    std::fs::write(root.join("sys/kernel/osrelease"), "6.1.0-test\n").unwrap();
    let fs_root = tempfile::tempdir().unwrap();
    std::fs::write(fs_root.path().join(".dockerenv"), "").unwrap();

    fake.put(10, &Proc::new("java"));
    fake.write(
        10,
        "maps",
        "7f00-7f01 r-xp 00000000 08:01 5 /usr/lib/jvm/java-21-openjdk-amd64/lib/server/libjvm.so\n",
    );
    let mut go = Proc::new("api");
    go.environ = vec![("GOMAXPROCS".into(), "2".into())];
    fake.put(20, &go);
    fake.put(30, &Proc::new("nginx"));
    std::os::unix::fs::symlink("/usr/sbin/nginx", root.join("30/exe")).unwrap();

    let cfg = AgentConfig {
        proc_root: root.clone(),
        sys_root: root.join("sys"),
        root_fs: fs_root.path().to_path_buf(),
        ..AgentConfig::default()
    };
    let mut agent = Agent::new(cfg).unwrap();
    let s = agent.sample_at(Timestamp(1_000), 200.0).unwrap();
    let java = info(&s, "java").expect("java's info point");
    assert_eq!(java["runtime"], "java");
    assert_eq!(java["runtime_version"], "21");
    assert_eq!(java["runtime_evidence"], "library");
    assert_eq!(java["cpu_model"], "AMD EPYC 7R13 Processor");
    assert_eq!(java["cpu_features"], "avx2,aes");
    assert_eq!(java["memory_bytes"], "4194304");
    assert_eq!(java["kernel"], "6.1.0-test");
    assert_eq!(java["container"], "docker");
    assert_eq!(java["source"], "agent");
    let api = info(&s, "api").unwrap();
    assert_eq!(
        (api["runtime"].as_str(), api["runtime_evidence"].as_str()),
        ("go", "environment")
    );
    assert_eq!(info(&s, "nginx").unwrap()["runtime"], "unknown");
    assert_eq!(
        agent.runtime_of("java").map(|r| r.runtime),
        Some(Runtime::Java)
    );
    assert_eq!(
        agent.environment().and_then(|h| h.memory_bytes),
        Some(4 << 20)
    );

    // Repeated once a minute, not every sample.
    let s = agent.sample_at(Timestamp(2_000), 201.0).unwrap();
    assert!(info(&s, "java").is_none());
    let s = agent.sample_at(Timestamp(62_000), 261.0).unwrap();
    assert!(info(&s, "java").is_some());

    // Off: no info points.
    let cfg = AgentConfig {
        proc_root: root.clone(),
        sys_root: root.join("sys"),
        environment: false,
        ..AgentConfig::default()
    };
    let mut quiet = Agent::new(cfg).unwrap();
    let s = quiet.sample_at(Timestamp(1_000), 200.0).unwrap();
    assert!(info(&s, "java").is_none() && quiet.environment().is_none());
}

#[test]
fn this_machine_has_a_cpu_memory_and_a_kernel() {
    let h = HostEnvironment::detect(&Roots {
        proc: "/proc".into(),
        sys: "/sys".into(),
        fs: "/".into(),
    });
    assert!(h.cpu.as_ref().is_some_and(|c| c.logical >= 1), "{h:?}");
    assert!(h.memory_bytes.is_some_and(|m| m > 0));
    assert!(h.kernel.is_some());
    assert!(h.problems.is_empty(), "{:?}", h.problems);
}

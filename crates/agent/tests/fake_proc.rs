//! The agent against hand-written /proc trees: grouping, rates, pid reuse, bad files, net and cgroups.

mod common;

use common::{FakeProc, Proc};
use prescale_agent::{Agent, AgentConfig, AgentError, AgentSample, NetAttribution};
use prescale_core::Timestamp;
use std::time::Duration;

fn value(s: &AgentSample, workload: &str, metric: &str) -> Option<f64> {
    s.points
        .iter()
        .find(|p| p.key.workload.as_str() == workload && p.key.metric.as_str() == metric)
        .map(|p| p.sample.value)
}

fn workloads(s: &AgentSample) -> Vec<String> {
    let mut w: Vec<String> = s
        .points
        .iter()
        .map(|p| p.key.workload.as_str().to_string())
        .collect();
    w.sort();
    w.dedup();
    w
}

fn config(fake: &FakeProc) -> AgentConfig {
    AgentConfig {
        proc_root: fake.root(),
        sys_root: fake.root().join("sys"),
        ..AgentConfig::default()
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6 * b.abs().max(1.0))
}

#[test]
fn groups_by_command_and_turns_counters_into_rates() {
    let fake = FakeProc::new();
    let mut a = Proc::new("nginx");
    a.threads = 2;
    a.fds = 4;
    let mut b = Proc::new("nginx");
    b.threads = 3;
    b.fds = 5;
    let r = Proc::new("redis-server");
    fake.put(10, &a);
    fake.put(11, &b);
    fake.put(20, &r);
    let mut agent = Agent::new(config(&fake)).unwrap();
    let s1 = agent.sample_at(Timestamp(1_000), 200.0).unwrap();
    assert_eq!(workloads(&s1), vec!["nginx", "redis-server"]);
    assert_eq!(value(&s1, "nginx", "processes"), Some(2.0));
    assert_eq!(value(&s1, "nginx", "threads"), Some(5.0));
    assert_eq!(value(&s1, "nginx", "open_fds"), Some(9.0));
    assert_eq!(value(&s1, "nginx", "rss_bytes"), Some(2.0 * 256.0 * 4096.0));
    assert_eq!(
        value(&s1, "nginx", "cpu_cores"),
        None,
        "no rate on the first sample"
    );
    assert!(s1.points.iter().all(
        |p| p.labels.get("source").map(String::as_str) == Some("agent")
            && p.labels.get("host").map(String::as_str) == Some("fakehost")
            && p.sample.ts == Timestamp(1_000)
    ));

    // Two seconds later: nginx 10 used 150 ticks (1.5 s), nginx 11 used 50, redis none.
    a.utime += 100;
    a.stime += 50;
    b.utime += 50;
    a.ctx = (20, 4);
    b.ctx = (10, 0);
    a.io = Some([1000, 2000, 10, 20, 4096, 8192]);
    fake.put(10, &a);
    fake.put(11, &b);
    let s2 = agent.sample_at(Timestamp(3_000), 202.0).unwrap();
    assert!(close(value(&s2, "nginx", "cpu_cores"), 1.0));
    assert!(close(value(&s2, "redis-server", "cpu_cores"), 0.0));
    assert!(close(
        value(&s2, "nginx", "ctx_switches_voluntary_per_s"),
        15.0
    ));
    assert!(close(
        value(&s2, "nginx", "ctx_switches_involuntary_per_s"),
        2.0
    ));
    assert!(close(value(&s2, "nginx", "read_bytes_per_s"), 2048.0));
    assert!(close(value(&s2, "nginx", "write_bytes_per_s"), 4096.0));
    assert!(close(value(&s2, "nginx", "read_chars_per_s"), 500.0));
    assert!(close(value(&s2, "nginx", "write_chars_per_s"), 1000.0));
    assert!(close(value(&s2, "nginx", "syscr_per_s"), 5.0));
    assert!(close(value(&s2, "nginx", "syscw_per_s"), 10.0));
    assert_eq!(s2.stats.processes_sampled, 3);
    assert_eq!(s2.stats.workloads, 2);
    assert_eq!(s2.overhead.processes, 3);
    assert!(s2.overhead.wall_seconds >= 0.0 && s2.overhead.cpu_seconds >= 0.0);
}

#[test]
fn pid_reuse_does_not_mix_two_processes() {
    let fake = FakeProc::new();
    let mut old = Proc::new("worker");
    old.utime = 5_000;
    old.starttime = 1_000; // 10 s after boot
    fake.put(42, &old);
    let mut agent = Agent::new(config(&fake)).unwrap();
    agent.sample_at(Timestamp(0), 200.0).unwrap();
    // pid 42 now belongs to a process that started before the last sample (at 150 s): no rate.
    let mut reused = Proc::new("worker");
    reused.utime = 10;
    reused.starttime = 15_000;
    fake.put(42, &reused);
    let s = agent.sample_at(Timestamp(1_000), 201.0).unwrap();
    assert_eq!(value(&s, "worker", "cpu_cores"), None);
    assert_eq!(value(&s, "worker", "processes"), Some(1.0));
    // And one that started after the previous sample counts from zero.
    let mut fresh = Proc::new("worker");
    fresh.utime = 50;
    fresh.starttime = 20_150; // 201.5 s
    fake.put(42, &fresh);
    let s = agent.sample_at(Timestamp(2_000), 202.0).unwrap();
    assert!(close(value(&s, "worker", "cpu_cores"), 0.5));
}

#[test]
fn new_process_after_first_sample_counts_from_zero() {
    let fake = FakeProc::new();
    fake.put(1, &Proc::new("init"));
    let mut agent = Agent::new(config(&fake)).unwrap();
    agent.sample_at(Timestamp(0), 300.0).unwrap();
    let mut p = Proc::new("job");
    p.starttime = 30_020; // 300.2 s
    p.utime = 40;
    p.io = Some([0, 0, 0, 0, 0, 1000]);
    fake.put(7, &p);
    let s = agent.sample_at(Timestamp(1_000), 301.0).unwrap();
    assert!(close(value(&s, "job", "cpu_cores"), 0.4));
    assert!(close(value(&s, "job", "write_bytes_per_s"), 1000.0));
}

#[test]
fn malformed_and_vanished_processes_are_counted_not_errors() {
    let fake = FakeProc::new();
    fake.put(1, &Proc::new("good"));
    fake.put(2, &Proc::new("badstat"));
    fake.write(2, "stat", "2 (badstat S 1 2 garbage");
    fake.put(3, &Proc::new("badio"));
    fake.write(3, "io", "rchar: many\n");
    fake.put(4, &Proc::new("badstatus"));
    fake.write(4, "status", "\u{0}\u{1}binary");
    fake.put(5, &Proc::new("noio"));
    fake.write(5, "stat", "");
    // Something that is not a process at all.
    std::fs::create_dir_all(fake.path().join("12abc")).unwrap();
    let mut agent = Agent::new(config(&fake)).unwrap();
    let s = agent.sample_at(Timestamp(0), 10.0).unwrap();
    assert_eq!(workloads(&s), vec!["badio", "badstatus", "good"]);
    assert_eq!(s.stats.malformed, 4, "{:?}", s.stats);
    assert_eq!(value(&s, "badio", "read_bytes_per_s"), None);
    assert_eq!(value(&s, "badio", "processes"), Some(1.0));

    fake.remove(1);
    let s = agent.sample_at(Timestamp(1_000), 11.0).unwrap();
    assert!(!workloads(&s).contains(&"good".to_string()));
}

#[test]
fn vanished_during_read_is_normal() {
    let fake = FakeProc::new();
    fake.put(1, &Proc::new("a"));
    fake.put(2, &Proc::new("b"));
    // The stat is there but the rest of the directory is gone, as when a process exits mid-read.
    std::fs::remove_file(fake.path().join("2/status")).unwrap();
    let mut agent = Agent::new(config(&fake)).unwrap();
    let s = agent.sample_at(Timestamp(0), 10.0).unwrap();
    assert_eq!(workloads(&s), vec!["a"]);
    assert_eq!(s.stats.vanished, 1);
}

#[test]
fn kernel_threads_are_skipped() {
    let fake = FakeProc::new();
    let mut k = Proc::new("kworker/0:1");
    k.flags = 0x0020_0040;
    fake.put(2, &k);
    fake.put(3, &Proc::new("app"));
    let mut agent = Agent::new(config(&fake)).unwrap();
    let s = agent.sample_at(Timestamp(0), 10.0).unwrap();
    assert_eq!(workloads(&s), vec!["app"]);
    assert_eq!(s.stats.kernel_threads, 1);
    let mut cfg = config(&fake);
    cfg.kernel_threads = true;
    let s = Agent::new(cfg)
        .unwrap()
        .sample_at(Timestamp(0), 10.0)
        .unwrap();
    assert_eq!(workloads(&s), vec!["app", "kworker/0:1"]);
}

fn with_rules(fake: &FakeProc, toml_text: &str) -> AgentConfig {
    let mut cfg: AgentConfig = toml::from_str(toml_text).unwrap();
    cfg.proc_root = fake.root();
    cfg.sys_root = fake.root().join("sys");
    cfg
}

#[test]
fn rules_first_match_wins_with_templates() {
    let fake = FakeProc::new();
    let mut pod = Proc::new("java");
    pod.cgroup = "11:memory:/kubepods/burstable/podaaa-111/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n1:name=systemd:/kubepods/burstable/podaaa-111/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n0::/\n".into();
    fake.put(10, &pod);
    let mut docker = Proc::new("node");
    docker.cgroup = "0::/system.slice/docker-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope\n".into();
    fake.put(11, &docker);
    let mut unit = Proc::new("postgres");
    unit.cgroup = "1:name=systemd:/system.slice/postgresql@15-main.service\n0::/\n".into();
    fake.put(12, &unit);
    let mut env = Proc::new("python3");
    env.environ = vec![("PRESCALE_WORKLOAD".into(), "checkout".into())];
    fake.put(13, &env);
    let mut cmd = Proc::new("python3");
    cmd.cmdline = "python3 -m celery worker".into();
    fake.put(14, &cmd);
    fake.put(15, &Proc::new("nginx"));
    fake.put(16, &Proc::new("bash"));

    let cfg = with_rules(
        &fake,
        r#"
        interval = "1s"
        unmatched = "drop"
        [[rules]]
        cgroup = "/kubepods/[^/]+/pod(?P<pod>[^/]+)"
        workload = "pod-$pod"
        [[rules]]
        container_id = true
        workload = "ctr-$short"
        [[rules]]
        systemd_unit = "^(postgresql)@.*\\.service$"
        [[rules]]
        env = "PRESCALE_WORKLOAD"
        [[rules]]
        cmdline = "celery (worker)"
        workload = "celery-$1"
        [[rules]]
        command = "^nginx"
        "#,
    );
    let mut agent = Agent::new(cfg).unwrap();
    let s = agent.sample_at(Timestamp(0), 10.0).unwrap();
    assert_eq!(
        workloads(&s),
        vec![
            "celery-worker",
            "checkout",
            "ctr-fedcba987654",
            "nginx",
            "pod-aaa-111",
            "postgresql"
        ]
    );
    assert_eq!(s.stats.excluded, 1, "bash matches no rule and is dropped");
}

#[test]
fn include_and_exclude_filter_workloads() {
    let fake = FakeProc::new();
    for (pid, c) in [(1, "nginx"), (2, "redis"), (3, "sshd"), (4, "nginx-debug")] {
        fake.put(pid, &Proc::new(c));
    }
    let cfg = with_rules(
        &fake,
        "include = [\"^nginx\", \"^redis$\"]\nexclude = [\"debug\"]\n",
    );
    let s = Agent::new(cfg)
        .unwrap()
        .sample_at(Timestamp(0), 1.0)
        .unwrap();
    assert_eq!(workloads(&s), vec!["nginx", "redis"]);
    assert_eq!(s.stats.excluded, 2);
}

#[test]
fn network_bytes_go_to_the_namespace_owner_only() {
    let fake = FakeProc::new();
    let mut c1 = Proc::new("envoy");
    c1.netns = Some(111);
    let mut c2 = Proc::new("envoy");
    c2.netns = Some(111);
    let mut host_a = Proc::new("sshd");
    host_a.netns = Some(1);
    let mut host_b = Proc::new("cron");
    host_b.netns = Some(1);
    for (pid, p) in [(10, &c1), (11, &c2), (20, &host_a), (21, &host_b)] {
        fake.put(pid, p);
        fake.net_dev(pid, 0, 0);
    }
    let mut agent = Agent::new(config(&fake)).unwrap();
    agent.sample_at(Timestamp(0), 50.0).unwrap();
    for pid in [10, 11] {
        fake.net_dev(pid, 4_000, 1_000);
    }
    for pid in [20, 21] {
        fake.net_dev(pid, 50_000, 50_000);
    }
    let s = agent.sample_at(Timestamp(2_000), 52.0).unwrap();
    assert!(close(value(&s, "envoy", "net_rx_bytes_per_s"), 2_000.0));
    assert!(close(value(&s, "envoy", "net_tx_bytes_per_s"), 500.0));
    assert_eq!(value(&s, "sshd", "net_rx_bytes_per_s"), None);

    let mut cfg = config(&fake);
    cfg.net = NetAttribution::Shared;
    let mut agent = Agent::new(cfg).unwrap();
    agent.sample_at(Timestamp(0), 60.0).unwrap();
    for pid in [20, 21] {
        fake.net_dev(pid, 60_000, 50_000);
    }
    let s = agent.sample_at(Timestamp(1_000), 61.0).unwrap();
    assert!(close(value(&s, "sshd", "net_rx_bytes_per_s"), 10_000.0));
    assert!(close(value(&s, "cron", "net_rx_bytes_per_s"), 10_000.0));
}

#[test]
fn cgroup_memory_for_cgroup_rules_v1() {
    let fake = FakeProc::new();
    let mem = fake.path().join("sys/fs/cgroup/memory/kubepods/podx");
    std::fs::create_dir_all(mem.join("ctr1")).unwrap();
    std::fs::write(mem.join("memory.usage_in_bytes"), "1048576\n").unwrap();
    std::fs::write(mem.join("ctr1/memory.usage_in_bytes"), "524288\n").unwrap();
    let mut a = Proc::new("app");
    a.cgroup = "4:memory:/kubepods/podx\n0::/\n".into();
    let mut b = Proc::new("sidecar");
    b.cgroup = "4:memory:/kubepods/podx/ctr1\n0::/\n".into();
    fake.put(1, &a);
    fake.put(2, &b);
    fake.put(3, &Proc::new("other"));
    let cfg = with_rules(
        &fake,
        "[[rules]]\ncgroup = \"^/kubepods/(?P<pod>[^/]+)\"\nworkload = \"$pod\"\n",
    );
    let s = Agent::new(cfg)
        .unwrap()
        .sample_at(Timestamp(0), 1.0)
        .unwrap();
    // The nested cgroup is already inside its parent's usage.
    assert_eq!(value(&s, "podx", "cgroup_memory_bytes"), Some(1048576.0));
    assert_eq!(value(&s, "podx", "processes"), Some(2.0));
    assert_eq!(value(&s, "other", "cgroup_memory_bytes"), None);
}

#[test]
fn cgroup_memory_v2() {
    let fake = FakeProc::new();
    let root = fake.path().join("sys/fs/cgroup");
    std::fs::create_dir_all(root.join("system.slice/web.service")).unwrap();
    std::fs::write(root.join("cgroup.controllers"), "cpu memory io\n").unwrap();
    std::fs::write(
        root.join("system.slice/web.service/memory.current"),
        "4096\n",
    )
    .unwrap();
    let mut p = Proc::new("web");
    p.cgroup = "0::/system.slice/web.service\n".into();
    fake.put(1, &p);
    let cfg = with_rules(&fake, "[[rules]]\nsystemd_unit = \"^(.*)\\\\.service$\"\n");
    let s = Agent::new(cfg)
        .unwrap()
        .sample_at(Timestamp(0), 1.0)
        .unwrap();
    assert_eq!(value(&s, "web", "cgroup_memory_bytes"), Some(4096.0));
}

#[test]
fn only_tracked_processes_are_read_between_rescans() {
    let fake = FakeProc::new();
    fake.put(1, &Proc::new("target"));
    fake.put(2, &Proc::new("noise"));
    let mut cfg = config(&fake);
    cfg.interval = Duration::from_millis(10);
    cfg.include = vec![prescale_agent::Pattern::new("^target$").unwrap()];
    let mut agent = Agent::new(cfg).unwrap();
    let s = agent.sample_at(Timestamp(0), 10.0).unwrap();
    assert!(s.stats.full_scan);
    assert_eq!(s.stats.processes_seen, 2);
    let s = agent.sample_at(Timestamp(10), 10.01).unwrap();
    assert!(!s.stats.full_scan);
    assert_eq!(s.stats.processes_seen, 1);
    assert_eq!(workloads(&s), vec!["target"]);
    // A new process appears at the next listing.
    fake.put(3, &Proc::new("target"));
    let s = agent.sample_at(Timestamp(1_000), 11.0).unwrap();
    assert!(s.stats.full_scan);
    assert_eq!(value(&s, "target", "processes"), Some(2.0));
}

#[test]
fn exec_reclassifies_the_process() {
    let fake = FakeProc::new();
    fake.put(5, &Proc::new("sh"));
    let mut cfg = config(&fake);
    cfg.include = vec![prescale_agent::Pattern::new("^nginx$").unwrap()];
    let mut agent = Agent::new(cfg).unwrap();
    assert!(agent
        .sample_at(Timestamp(0), 1.0)
        .unwrap()
        .points
        .is_empty());
    fake.put(5, &Proc::new("nginx"));
    let s = agent.sample_at(Timestamp(1_000), 2.0).unwrap();
    assert_eq!(workloads(&s), vec!["nginx"]);
}

#[test]
fn interval_is_validated() {
    let fake = FakeProc::new();
    for bad in [Duration::from_millis(5), Duration::from_secs(7200)] {
        let mut cfg = config(&fake);
        cfg.interval = bad;
        let err = Agent::new(cfg).err().unwrap();
        assert!(matches!(err, AgentError::Interval { got, .. } if got == bad));
        assert!(err.to_string().contains("10ms"), "{err}");
    }
    let cfg: AgentConfig = toml::from_str("interval = \"10ms\"").unwrap();
    assert_eq!(cfg.interval, Duration::from_millis(10));
    let cfg: AgentConfig = toml::from_str("interval = 2.5").unwrap();
    assert_eq!(cfg.interval, Duration::from_millis(2500));
    assert!(toml::from_str::<AgentConfig>("interval = \"soon\"").is_err());
}

#[test]
fn bad_config_is_refused_with_a_reason() {
    let two = toml::from_str::<AgentConfig>("[[rules]]\ncommand = \"a\"\ncgroup = \"b\"\n")
        .unwrap_err()
        .to_string();
    assert!(two.contains("exactly one"), "{two}");
    let regex = toml::from_str::<AgentConfig>("[[rules]]\ncommand = \"(\"\n")
        .unwrap_err()
        .to_string();
    assert!(regex.contains("command"), "{regex}");
    assert!(toml::from_str::<AgentConfig>("bogus = 1").is_err());
    assert!(toml::from_str::<AgentConfig>("[[rules]]\nvalue = \"x\"\n").is_err());
    let missing = AgentConfig {
        proc_root: "/nonexistent/proc".into(),
        ..AgentConfig::default()
    };
    assert!(matches!(
        Agent::new(missing),
        Err(AgentError::ProcRoot { .. })
    ));
}

#[test]
fn workload_names_that_are_not_valid_ids_are_counted() {
    let fake = FakeProc::new();
    let mut p = Proc::new("x");
    p.environ = vec![("W".into(), "   ".into())];
    fake.put(1, &p);
    let mut q = Proc::new("y");
    q.environ = vec![("W".into(), "a\u{7}b".into())];
    fake.put(2, &q);
    let cfg = with_rules(&fake, "unmatched = \"drop\"\n[[rules]]\nenv = \"W\"\n");
    let s = Agent::new(cfg)
        .unwrap()
        .sample_at(Timestamp(0), 1.0)
        .unwrap();
    assert!(s.points.is_empty());
    assert_eq!(s.stats.invalid_workload, 1);
    assert_eq!(s.stats.excluded, 2);
}

#[test]
fn settled_excluded_processes_are_not_reread_at_each_listing() {
    let fake = FakeProc::new();
    let mut old = Proc::new("noise");
    old.starttime = 100; // 1 s after boot
    fake.put(1, &old);
    fake.put(2, &Proc::new("target"));
    let mut cfg = config(&fake);
    cfg.include = vec![prescale_agent::Pattern::new("^target$").unwrap()];
    let mut agent = Agent::new(cfg).unwrap();
    let s = agent.sample_at(Timestamp(0), 500.0).unwrap();
    assert_eq!(s.stats.excluded, 1);
    // Garbage in the excluded process's stat goes unread: it is old and was classified recently.
    fake.write(1, "stat", "garbage");
    let s = agent.sample_at(Timestamp(1_000), 501.0).unwrap();
    assert_eq!((s.stats.excluded, s.stats.malformed), (1, 0));
    // At the periodic reclassification it is read again.
    let s = agent.sample_at(Timestamp(40_000), 540.0).unwrap();
    assert_eq!(s.stats.malformed, 1);
}

#[test]
fn keep_open_off_reads_the_same() {
    let fake = FakeProc::new();
    let mut p = Proc::new("app");
    fake.put(1, &p);
    let mut cfg = config(&fake);
    cfg.keep_open = 0;
    let mut agent = Agent::new(cfg).unwrap();
    agent.sample_at(Timestamp(0), 10.0).unwrap();
    p.utime = 100;
    fake.put(1, &p);
    let s = agent.sample_at(Timestamp(1_000), 11.0).unwrap();
    assert!(close(value(&s, "app", "cpu_cores"), 1.0));
}

//! `[workload.resources]` end to end: the daemon sizes per-replica CPU and memory from the
//! workload's use, names the cheapest instance type one replica fits, and hands all of it to a real
//! `exec` actuator in its environment.

mod common;

use common::*;
use prescale_ingest::remote_write::{encode, from_points};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_memory_and_instance_type_reach_an_exec_actuator() {
    let calls = tempfile::NamedTempFile::new().unwrap();
    let log = calls.path().display().to_string();
    let d = start(&format!(
        r#"
tick = "200ms"
mode = "act"
[learn]
enabled = false
[[workload]]
workload = "api"
metric = "rps"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
stale_after = "1h"
policy = "threshold"
max = 20
actuator = {{ type = "exec", program = "sh", args = ["-c", "echo $PRESCALE_REPLICAS $PRESCALE_CPU_MILLIS $PRESCALE_MEMORY_BYTES $PRESCALE_INSTANCE_TYPE >> {log}"], timeout = "5s" }}
[workload.resources]
stabilization = "1s"
instance_types = "builtin"
cpu = {{ metric = "cpu_cores" }}
memory = {{ metric = "rss_bytes" }}
"#
    ))
    .await;
    // 80 rps: the threshold rule wants 9 replicas (80 × 1.1 / 10). In all the workload uses 3.2
    // cores and 6 GiB: per replica with the default 15 % headroom 0.409 cores (409m) and
    // 6144 MiB / 9 × 1.15 = 785.1 MiB (786 MiB); the cheapest built-in type sustaining that is
    // c6i.large (t3.small and t3.medium are cheaper, but burstable: 0.4 vCPU sustained).
    let gib = 1024.0 * 1024.0 * 1024.0;
    let points = |ts: i64| {
        vec![
            ("rps", vec![("job", "api")], ts, 80.0),
            ("cpu_cores", vec![("job", "api")], ts, 3.2),
            ("rss_bytes", vec![("job", "api")], ts, 6.0 * gib),
        ]
    };
    let t0 = now_ms() - 30_000;
    let history: Vec<_> = (0..120).flat_map(|i| points(t0 + i * 250)).collect();
    assert_eq!(
        post_write(&d.base, encode(&from_points(history))).await.0,
        204
    );
    let want = format!("9 409 {} c6i.large", 786 * 1024 * 1024);
    let begin = Instant::now();
    loop {
        assert_eq!(
            post_write(&d.base, encode(&from_points(points(now_ms()))))
                .await
                .0,
            204
        );
        let text = std::fs::read_to_string(calls.path()).unwrap();
        if text.lines().any(|l| l.trim() == want) {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "no call with {want:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sized = decision_where(&d.base, "api", |r| {
        r["resources"]["instance"]["after"] == "c6i.large" && r["replicas_after"] == 9
    })
    .await;
    let inst = &sized["resources"]["instance"];
    assert!(
        (inst["hourly_cost"].as_f64().unwrap() - 9.0 * 0.085).abs() < 1e-9,
        "{inst}"
    );
    assert!(inst["reason"]
        .as_str()
        .unwrap()
        .starts_with("cheapest of 12 types"));
    assert_eq!(sized["resources"]["memory"]["metric"], "rss_bytes");
    d.daemon.shutdown().await.unwrap();
}

#[test]
fn an_instance_catalogue_needs_cpu_and_memory_and_a_readable_file() {
    let cases = [
        (
            r#"instance_types = "/nonexistent/types.toml""#,
            [
                "workload[0].resources.instance_types",
                "/nonexistent/types.toml",
            ],
        ),
        (
            r#"instance_types = "builtin""#,
            ["resources.instance_types", "both cpu and memory"],
        ),
    ];
    for (line, wants) in cases {
        let text = format!(
            "[[workload]]\nworkload = \"w\"\nmetric = \"m\"\ncapacity_per_replica = 1.0\n\
             [workload.resources]\n{line}\ncpu = {{ metric = \"cpu_cores\" }}\n"
        );
        let e = prescale_daemon::DaemonConfig::from_toml(&text)
            .unwrap_err()
            .to_string();
        for want in wants {
            assert!(e.contains(want), "{want} missing from {e}");
        }
    }
}

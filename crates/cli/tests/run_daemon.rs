//! `prescale run` as a process: serves the three endpoints, acknowledged remote-write samples survive
//! kill -9, and `--once` stores one round of agent samples and exits.

mod common;

use common::{http, now_ms};
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::Store;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let cfg = dir.path().join("prescale.toml");
    std::fs::write(&cfg, "[agent]\nenabled = false\n").unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("--db")
        .arg(&db)
        .args(["run", "--config"])
        .arg(&cfg)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while http().get(&format!("{base}/healthz")).call().is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = now_ms() - 60_000;
    let body =
        encode(&from_points((0..100).map(|i| {
            ("depth", vec![("job", "durable")], t + i * 100, i as f64)
        })));
    let r = http()
        .post(&format!("{base}/api/v1/write"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .send(&body[..])
        .unwrap();
    assert_eq!(r.status(), 204);
    let w = http()
        .get(&format!("{base}/api/v1/workloads"))
        .call()
        .unwrap();
    assert_eq!(w.status(), 200);
    let m = http().get(&format!("{base}/metrics")).call().unwrap();
    assert_eq!(m.status(), 200);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let s = Store::open(&db).unwrap();
    let summaries = s.workload_summaries().unwrap();
    let w = summaries
        .iter()
        .find(|w| w.workload.as_str() == "durable")
        .expect("acknowledged samples survive kill -9");
    assert_eq!(w.series[0].samples, 100);
}

#[test]
fn once_stores_agent_samples_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("once.db");
    let status = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("--db")
        .arg(&db)
        .args(["run", "--once", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let s = Store::open(&db).unwrap();
    let summaries = s.workload_summaries().unwrap();
    assert!(
        !summaries.is_empty(),
        "the agent stored this machine's workloads"
    );
    assert!(summaries
        .iter()
        .flat_map(|w| &w.series)
        .any(|s| s.metric.as_str() == "cpu_cores"));
}

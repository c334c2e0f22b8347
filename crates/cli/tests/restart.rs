//! kill -9 and restart: `prescale run` comes back with its state. The decision log is intact, the
//! mode and kill switches operators set are restored (not reset to the config's), and the
//! controller forecasts again at once from the history in the store instead of starting cold.
//! A process pool's replicas, left running by the killed daemon, are adopted by the next one
//! instead of being started again beside it, and a graceful stop leaves none behind.

mod common;

use common::{http, now_ms};
use prescale_ingest::remote_write::{encode, from_points};
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "restart-test-token-0123456789";

fn start(db: &Path, cfg: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("--db")
        .arg(db)
        .args(["run", "--config"])
        .arg(cfg)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while http()
        .get(&format!("http://127.0.0.1:{port}/healthz"))
        .call()
        .is_err()
    {
        assert!(start.elapsed() < Duration::from_secs(30), "no daemon");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn get_json(base: &str, path: &str) -> Value {
    let mut r = http().get(&format!("{base}{path}")).call().unwrap();
    assert_eq!(r.status(), 200, "{path}");
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

fn post(base: &str, path: &str, body: &str) {
    let r = http()
        .post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// Demand with a 20 s cycle (high for the last 8 s of each), one sample every 250 ms.
fn demand(ts: i64) -> f64 {
    if ts.rem_euclid(20_000) >= 12_000 {
        80.0
    } else {
        20.0
    }
}

fn write(base: &str, from: i64, to: i64) {
    write_with(base, from, to, demand);
}

fn write_with(base: &str, from: i64, to: i64, demand: fn(i64) -> f64) {
    let pts: Vec<_> = (from..to)
        .step_by(250)
        .map(|ts| ("cpu", vec![("job", "api")], ts, demand(ts)))
        .collect();
    let r = http()
        .post(&format!("{base}/api/v1/write"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .send(&encode(&from_points(pts))[..])
        .unwrap();
    assert_eq!(r.status(), 204);
}

fn decisions(base: &str) -> Vec<Value> {
    get_json(base, "/api/v1/decisions?workload=api&limit=1000")["decisions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn kill_9_and_restart_recovers_decisions_switches_and_the_learned_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let cfg = dir.path().join("prescale.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
tick = "200ms"
api_token = "{TOKEN}"
[agent]
enabled = false
[learn]
enabled = false
[[workload]]
workload = "api"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
season = "20s"
stale_after = "1h"
max = 20
actuator = {{ type = "dry-run" }}
"#
        ),
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(&db, &cfg, port);
    // Four minutes of history, then live samples until decisions carry a forecast.
    let t0 = now_ms() - 240_000;
    write(&base, t0, now_ms());
    let begin = Instant::now();
    let mut last = now_ms();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = now_ms();
        write(&base, last, now);
        last = now;
        let d = decisions(&base);
        if d.len() >= 5 && d[0]["forecast"].is_object() {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(90),
            "no forecast: {d:?}"
        );
    }
    post(&base, "/api/v1/mode", r#"{"mode":"act"}"#);
    post(
        &base,
        "/api/v1/kill-switch",
        r#"{"engaged":true,"workload":"api"}"#,
    );
    let before = decisions(&base);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut child = start(&db, &cfg, port);
    assert_eq!(get_json(&base, "/api/v1/mode")["mode"], "act");
    let kill = get_json(&base, "/api/v1/kill-switch");
    assert_eq!(kill["workloads"], serde_json::json!(["api"]), "{kill}");
    // Every decision acknowledged before the kill is still served, unchanged.
    let after = decisions(&base);
    for d in &before {
        assert!(after.contains(d), "lost {d}");
    }
    // The first decisions after the restart forecast at once from the stored history (no
    // cold start), and the kill switch stops their actuation.
    let begin = Instant::now();
    let fresh = loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = now_ms();
        write(&base, last, now);
        last = now;
        let d = decisions(&base);
        let new: Vec<Value> = d.into_iter().filter(|x| !before.contains(x)).collect();
        if let Some(first) = new.iter().rev().find(|x| !x["replicas_after"].is_null()) {
            break first.clone();
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "no decision after restart"
        );
    };
    assert!(fresh["forecast"].is_object(), "{fresh}");
    assert!(
        fresh["inputs"]["history_steps"].as_u64().unwrap() >= 200,
        "{fresh}"
    );
    assert_eq!(fresh["mode"], "act", "{fresh}");
    let outcome = fresh["actuation"]["outcome"].as_str().unwrap();
    assert!(outcome == "kill-switch" || outcome == "skipped", "{fresh}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Live processes whose environment holds `mark` (a zombie counts as gone).
fn marked_processes(mark: &str) -> Vec<u32> {
    let needle = format!("PRESCALE_TEST_MARK={mark}");
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']));
            !zombie
                && environ
                    .split(|b| *b == 0)
                    .any(|var| var == needle.as_bytes())
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Kills whatever carries the mark when the test ends, passed or not (a failed assertion must not
/// leave `sleep 300` orphans behind).
struct KillMarked(String);

impl Drop for KillMarked {
    fn drop(&mut self) {
        for pid in marked_processes(&self.0) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// The pids the pool's state file records, sorted.
fn recorded_pids(state: &Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(state) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut pids: Vec<u32> = v["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| u32::try_from(r["pid"].as_u64().unwrap()).unwrap())
        .collect();
    pids.sort_unstable();
    pids
}

#[test]
fn kill_9_and_restart_adopts_the_process_pools_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let state = dir.path().join("p.db.pool.api.json");
    let cfg = dir.path().join("prescale.toml");
    let mark = dir.path().display().to_string();
    let _cleanup = KillMarked(mark.clone());
    std::fs::write(
        &cfg,
        format!(
            r#"
tick = "200ms"
mode = "act"
api_token = "{TOKEN}"
[agent]
enabled = false
[learn]
enabled = false
[[workload]]
workload = "api"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
stale_after = "1h"
min = 3
max = 3
actuator = {{ type = "process-pool", program = "sleep", args = ["300"], grace = "1s", env = {{ PRESCALE_TEST_MARK = "{mark}" }} }}
"#
        ),
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let flat = |_: i64| 20.0;
    let mut child = start(&db, &cfg, port);
    let mut last = now_ms() - 60_000;
    let begin = Instant::now();
    let before = loop {
        let now = now_ms();
        write_with(&base, last, now, flat);
        last = now;
        let running = marked_processes(&mark);
        if running.len() == 3 && recorded_pids(&state) == running {
            break running;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(60),
            "the pool never ran 3 replicas: running {running:?}, recorded {:?}",
            recorded_pids(&state)
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    child.kill().unwrap(); // SIGKILL: the pool's replicas are orphaned, still running.
    child.wait().unwrap();
    assert_eq!(marked_processes(&mark), before);

    let mut child = start(&db, &cfg, port);
    let decided = decisions(&base).len();
    let begin = Instant::now();
    while decisions(&base).len() < decided + 3 {
        let now = now_ms();
        write_with(&base, last, now, flat);
        last = now;
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "no decisions after the restart"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let newest = &decisions(&base)[0];
    assert_eq!(newest["replicas_after"], 3, "{newest}");
    assert_eq!(
        marked_processes(&mark),
        before,
        "the restarted daemon adopted the running replicas instead of starting more"
    );
    assert_eq!(recorded_pids(&state), before);

    // A second daemon on the same store is refused by the pool's lock; the replicas are untouched.
    let other_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let second = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("--db")
        .arg(&db)
        .args(["run", "--config"])
        .arg(&cfg)
        .args(["--listen", &format!("127.0.0.1:{other_port}")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{stderr}");
    assert!(stderr.contains("another running prescale"), "{stderr}");
    assert_eq!(marked_processes(&mark), before);

    // A graceful stop (SIGTERM) stops every replica, adopted ones included.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    child.wait().unwrap();
    let begin = Instant::now();
    while !marked_processes(&mark).is_empty() {
        assert!(
            begin.elapsed() < Duration::from_secs(10),
            "replicas outlived the daemon: {:?}",
            marked_processes(&mark)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(recorded_pids(&state).is_empty());
}

//! The control loop end to end: samples posted by remote-write, ticks on a short interval,
//! decisions read back from `/api/v1/decisions` (newest first) and `prescale_desired_replicas` on
//! `/metrics`; an `act` workload goes through its dry-run actuator; a workload without telemetry holds.

mod common;

use common::*;
use prescale_ingest::remote_write::{encode, from_points};
use std::time::Duration;

const CONFIG: &str = r#"
tick = "100ms"
mode = "act"

[[workload]]
workload = "api"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
policy = "hpa"
max = 20
mode = "forecast-only"

[[workload]]
workload = "db"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
policy = "hpa"
mode = "act"
actuator = { type = "dry-run" }

[[workload]]
workload = "gone"
metric = "cpu"
capacity_per_replica = 1.0
"#;

fn decisions(text: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["decisions"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_decide_store_and_serve_decisions() {
    let d = start(CONFIG).await;
    let t0 = now_ms() - 60_000;
    let mut points = Vec::new();
    for i in 0..240 {
        let ts = t0 + i * 250;
        points.push(("cpu", vec![("job", "api")], ts, 55.0));
        points.push(("cpu", vec![("job", "db")], ts, 35.0));
    }
    let (s, b) = post_write(&d.base, encode(&from_points(points))).await;
    assert_eq!(s, 204, "{b}");

    let base = d.base.clone();
    let mut api = Vec::new();
    // Live telemetry keeps arriving, so new 1 s steps complete and the HPA's 15 s scale-up period
    // can pass; bounded wait (up to 60 s on a loaded machine).
    for _ in 0..600 {
        let ts = now_ms();
        let fresh = vec![
            ("cpu", vec![("job", "api")], ts, 55.0),
            ("cpu", vec![("job", "db")], ts, 35.0),
        ];
        let (s, b) = post_write(&base, encode(&from_points(fresh))).await;
        assert_eq!(s, 204, "{b}");
        let (s, text) = get(&base, "/api/v1/decisions?workload=api&limit=1000").await;
        assert_eq!(s, 200, "{text}");
        api = decisions(&text);
        if api.len() >= 5 && api.iter().any(|r| r["replicas_after"] == 8) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, five) = get(&base, "/api/v1/decisions?workload=api&limit=5").await;
    assert_eq!(decisions(&five).len(), 5);
    let ats: Vec<i64> = api.iter().map(|r| r["at"].as_i64().unwrap()).collect();
    assert!(
        ats.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ats:?}"
    );
    assert!(api
        .iter()
        .all(|r| r["workload"] == "api" && r["mode"] == "forecast-only"));
    // 55 per step at 10 per replica and the HPA's 0.7 target: 8 replicas, first bound by the
    // HPA's scale-up limit (1 → 5), and the record says what it would have been without it.
    let first = api
        .iter()
        .rev()
        .find(|r| r["replicas_after"].is_u64())
        .expect("a decision");
    assert_eq!(first["replicas_after"], 5, "{first}");
    assert_eq!(first["pre_guard"], 8, "{first}");
    assert_eq!(first["bound_by"], "scale-up limit 5", "{first}");
    let decided = api
        .iter()
        .find(|r| r["replicas_after"] == 8)
        .unwrap_or_else(|| panic!("no decision at 8 in {api:#?}"));
    assert_eq!(decided["policy"], "hpa");
    assert!(decided["inputs"]["freshness_s"].is_f64(), "{decided}");
    assert_eq!(decided["actuation"]["outcome"], "skipped");

    let mut db = Vec::new();
    for _ in 0..100 {
        db = decisions(&get(&base, "/api/v1/decisions?workload=db&limit=50").await.1);
        if db.iter().any(|r| r["actuation"]["outcome"] == "applied") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        db.iter()
            .any(|r| r["actuation"]["outcome"] == "applied"
                && r["actuation"]["actuator"] == "dry-run"),
        "{db:?}"
    );

    let gone = decisions(
        &get(&base, "/api/v1/decisions?workload=gone&limit=1")
            .await
            .1,
    );
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0]["reason_json"]["rule"], "no-telemetry");
    assert!(gone[0]["replicas_after"].is_null());

    let all = decisions(&get(&base, "/api/v1/decisions?limit=2").await.1);
    assert_eq!(all.len(), 2);

    let (_, metrics) = get(&base, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("prescale_desired_replicas{")
                && l.contains("workload=\"api\"")
                && l.contains("policy=\"hpa\"")
                && l.ends_with(" 8")),
        "{metrics}"
    );
    d.daemon.shutdown().await.unwrap();
}

#[test]
fn workload_config_problems_name_their_path() {
    let err = prescale_daemon::DaemonConfig::from_toml(
        r#"
mode = "sometimes"
[[workload]]
workload = "api"
metric = "cpu"
capacity_per_replica = -1.0
lead = "soon"
policy = "magic"
actuator = { type = "exec", program = "" }
"#,
    )
    .unwrap_err()
    .to_string();
    for path in [
        "mode",
        "workload[0].lead",
        "workload[0].policy",
        "workload[0].spec",
        "workload[0].actuator.program",
    ] {
        assert!(err.contains(path), "{path} missing in {err}");
    }
}

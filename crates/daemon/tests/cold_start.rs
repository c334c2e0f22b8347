//! Cold start: a controlled workload with almost no history of its own is forecast from its
//! nearest cluster's profile (here: the cluster of the workload it is declared `like`), scaled to
//! its own level, instead of deciding without a forecast.

mod common;

use common::*;
use prescale_core::{Interval, Timestamp};
use prescale_daemon::{Daemon, DaemonConfig};
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::Store;
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};
use serde_json::Value;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_workload_is_forecast_from_its_clusters_profile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    // Three days of a synthetic fleet at 5 min steps, ending now.
    let interval = Interval::from_secs(300).unwrap();
    let end = now_ms() / 300_000 * 300_000;
    let fleet = demo_fleet(&DemoConfig {
        workloads: 10,
        days: 3,
        interval,
        start: Timestamp(end - 3 * 86_400_000),
        seed: 11,
    })
    .unwrap();
    let like = fleet[0].key.workload.to_string();
    let mut store = Store::open(&db).unwrap();
    for s in &fleet {
        store.upsert_series(s).unwrap();
    }
    drop(store);
    let text = format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
tick = "200ms"
[agent]
enabled = false
[learn]
fingerprint_every = "1s"
windows = ["1h", "6h"]
[[workload]]
workload = "newbie"
metric = "requests"
capacity_per_replica = 10.0
step = "5m"
lead = "5m"
season = "1d"
stale_after = "1h"
like = "{like}"
"#,
        db = db.display().to_string()
    );
    let d = Daemon::start(DaemonConfig::from_toml(&text).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", d.local_addr());
    // The learn loop fingerprints and clusters the fleet first.
    let begin = Instant::now();
    while get(&base, "/api/v1/clusters").await.0 != 200 {
        assert!(begin.elapsed() < Duration::from_secs(60), "never clustered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The newcomer has three steps of its own.
    let pts: Vec<_> = (1..=3)
        .map(|k| {
            (
                "requests",
                vec![("job", "newbie")],
                end - k * 300_000 + 1,
                40.0,
            )
        })
        .collect();
    let (s, b) = post_write(&base, encode(&from_points(pts))).await;
    assert_eq!(s, 204, "{b}");
    let begin = Instant::now();
    let decision = loop {
        let (_, text) = get(&base, "/api/v1/decisions?workload=newbie&limit=10").await;
        let v: Value = serde_json::from_str(&text).unwrap();
        let found = v["decisions"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["forecast"].is_object()).cloned());
        if let Some(r) = found {
            break r;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(60),
            "no cold-start forecast: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let model = decision["model"].as_str().unwrap();
    assert!(model.starts_with("profile of cluster"), "{decision}");
    let notes = decision["feedback"].to_string();
    assert!(notes.contains("cold start"), "{decision}");
    assert_eq!(
        decision["inputs"]["history_steps"].as_u64(),
        Some(3),
        "{decision}"
    );
    // Scaled to its own level (40 at the phases it was seen), with a band made wide by knowing
    // that level from three points only.
    let f = &decision["forecast"];
    let (lower, point, upper) = (
        f["lower"].as_f64().unwrap(),
        f["point"].as_f64().unwrap(),
        f["upper"].as_f64().unwrap(),
    );
    assert!(lower < point && point < upper, "{f}");
    assert!((10.0..400.0).contains(&point), "{f}");
    d.shutdown().await.unwrap();
}

//! Fleet learning live: the learn loop trains the fleet gbm across the controlled workloads'
//! histories (and a GRU per k-means cluster) in the background, saves them with the store, shows
//! them on `/api/v1/models` with their held-out accuracy and hands them to every controller of
//! their step; a restarted daemon starts with the saved models.

mod common;

use common::*;
use prescale_core::{Interval, Timestamp};
use prescale_daemon::{Daemon, DaemonConfig};
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::Store;
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};
use serde_json::Value;
use std::time::{Duration, Instant};

fn config(db: &std::path::Path, workloads: &[String]) -> String {
    let mut text = format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
tick = "200ms"
[agent]
enabled = false
[learn]
fingerprint_every = "1h"
cluster_every = "1h"
fleet_every = "10s"
"#,
        db = db.display().to_string()
    );
    for w in workloads {
        text.push_str(&format!(
            r#"[[workload]]
workload = "{w}"
metric = "requests"
capacity_per_replica = 10.0
step = "5m"
lead = "5m"
season = "1d"
stale_after = "1h"
"#
        ));
    }
    text
}

async fn fleet_models(base: &str) -> Vec<Value> {
    let (s, text) = get(base, "/api/v1/models").await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["fleet"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_gbm_is_trained_live_saved_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let interval = Interval::from_secs(300).unwrap();
    let end = now_ms() / 300_000 * 300_000;
    let fleet = demo_fleet(&DemoConfig {
        workloads: 4,
        days: 3,
        interval,
        start: Timestamp(end - 3 * 86_400_000),
        seed: 5,
    })
    .unwrap();
    let mut store = Store::open(&db).unwrap();
    let mut names = Vec::new();
    for s in &fleet {
        store.upsert_series(s).unwrap();
        if s.key.metric.as_str() == "requests" {
            names.push(s.key.workload.to_string());
        }
    }
    drop(store);
    assert!(names.len() >= 3, "{names:?}");
    let d = Daemon::start(DaemonConfig::from_toml(&config(&db, &names)).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", d.local_addr());
    assert!(fleet_models(&base).await.is_empty(), "nothing trained yet");
    let begin = Instant::now();
    let model = loop {
        let models = fleet_models(&base).await;
        let gbm = models.iter().find(|m| m["kind"] == "gbm");
        let served = gbm
            .and_then(|m| m["offered_to"].as_array())
            .map_or(0, Vec::len);
        if let Some(m) = gbm.filter(|_| served == names.len()) {
            break m.clone();
        }
        assert!(
            begin.elapsed() < Duration::from_secs(90),
            "no fleet model: {models:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(model["kind"], "gbm");
    assert_eq!(model["step_ms"], 300_000);
    assert_eq!(
        model["series"].as_u64(),
        Some(names.len() as u64),
        "{model}"
    );
    let mae = model["holdout_mae"].as_f64().unwrap();
    assert!(mae.is_finite() && mae > 0.0, "{model}");
    // its horizon reaches the controllers' (refit every 12 steps + lead 2, guarded: 26)
    assert!(model["horizon"].as_u64().unwrap() >= 14, "{model}");
    d.shutdown().await.unwrap();

    // saved with the store
    let saved = Store::open(&db).unwrap().latest_fleet_models().unwrap();
    let gbm: Vec<_> = saved.iter().filter(|r| r.kind == "gbm").collect();
    assert_eq!(gbm.len(), 1);
    assert_eq!(gbm[0].series, names.len());
    // cluster GRUs are saved beside it (kind gru@<cluster>) when a cluster has two workloads
    assert!(
        saved
            .iter()
            .all(|r| r.kind == "gbm" || r.kind.starts_with("gru@")),
        "{saved:?}"
    );

    // a restart serves the saved model before any new training (the next is 10 s away), also to
    // a workload that joins now
    let mut with_young = names.clone();
    with_young.push("young".into());
    let d = Daemon::start(DaemonConfig::from_toml(&config(&db, &with_young)).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", d.local_addr());
    let begin = Instant::now();
    loop {
        let models = fleet_models(&base).await;
        let gbm = models.iter().find(|m| m["kind"] == "gbm");
        let served = |w: &str| {
            gbm.and_then(|m| m["offered_to"].as_array())
                .is_some_and(|o| o.iter().any(|x| x == w))
        };
        if let Some(m) = gbm.filter(|_| served("young")) {
            assert_eq!(m["trained_at"], model["trained_at"], "{m}");
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(8),
            "saved model not loaded or not handed to the young workload: {models:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // cold start by the fleet: with ten steps of its own (too few for any local model: the short
    // one needs 36), the young workload is forecast by the fleet gbm, not a borrowed profile
    let pts: Vec<_> = (1..=10)
        .map(|k| {
            let v = 40.0 + 5.0 * (k % 3) as f64;
            ("requests", vec![("job", "young")], end - k * 300_000 + 1, v)
        })
        .collect();
    let (s, b) = post_write(&base, encode(&from_points(pts))).await;
    assert_eq!(s, 204, "{b}");
    let begin = Instant::now();
    let decision = loop {
        let (s, text) = get(&base, "/api/v1/decisions?workload=young&limit=5").await;
        assert_eq!(s, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let found = v["decisions"]
            .as_array()
            .and_then(|d| d.iter().find(|d| !d["model"].is_null()).cloned());
        if let Some(d) = found {
            break d;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(20),
            "no forecast for the young workload: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let label = decision["model"].as_str().unwrap();
    assert!(label.starts_with("gbm-young"), "{decision}");
    let f = &decision["forecast"];
    assert!(f["point"].as_f64().is_some_and(|p| p > 0.0), "{decision}");
    assert!(f["lower"].as_f64() <= f["upper"].as_f64(), "{decision}");
    d.shutdown().await.unwrap();
}

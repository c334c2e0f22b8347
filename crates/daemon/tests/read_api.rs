//! The read API end to end: a daemon whose store holds a synthetic fleet's history fingerprints and
//! clusters it (the learn loop), and serves `/api/v1/clusters` and `/workloads/{id}/fingerprint`; a
//! live controlled workload shows in `/api/v1/models` and `/workloads/{id}/forecast`; annotations
//! need the bearer token; `[learn]` config problems are named by their path.

mod common;

use common::*;
use prescale_core::{Interval, Timestamp};
use prescale_daemon::config::LearnConfig;
use prescale_daemon::{Daemon, DaemonConfig};
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::Store;
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};
use serde_json::Value;
use std::time::{Duration, Instant};

const TOKEN: &str = "read-api-token-0123456789";
/// Synthetic workloads in the store before start.
const FLEET: usize = 10;

/// The config: short learn windows and a 1 s fingerprint period, one live controlled workload.
fn config(db: &std::path::Path) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
api_token = "{TOKEN}"
tick = "200ms"

[agent]
enabled = false

[learn]
fingerprint_every = "1s"
cluster_every = "1h"
windows = ["1h", "6h"]

[[workload]]
workload = "live"
metric = "requests"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
actuator = {{ type = "dry-run" }}
"#,
        db = db.display().to_string()
    )
}

/// Three days of the synthetic fleet at 5 min steps, ending now.
fn prefill(db: &std::path::Path) {
    let interval = Interval::from_secs(300).unwrap();
    let days = 3;
    let end = now_ms() / 300_000 * 300_000;
    let fleet = demo_fleet(&DemoConfig {
        workloads: FLEET,
        days,
        interval,
        start: Timestamp(end - days as i64 * 86_400_000),
        seed: 11,
    })
    .unwrap();
    let mut store = Store::open(db).unwrap();
    for s in &fleet {
        store.upsert_series(s).unwrap();
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// GETs `path` until `done` holds for a 200 answer's JSON (bounded by `patience`), feeding the live
/// workload a fresh sample between tries.
async fn until(base: &str, path: &str, patience: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        feed(base, now_ms()).await;
        let (s, text) = get(base, path).await;
        if s == 200 {
            let v = json(&text);
            if done(&v) {
                return v;
            }
        }
        assert!(
            start.elapsed() < patience,
            "timed out waiting on {path}: last answer {s} {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn demand(ts: i64) -> f64 {
    50.0 + 10.0 * (ts as f64 / 5000.0).sin()
}

async fn feed(base: &str, ts: i64) {
    let points = vec![("requests", vec![("job", "live")], ts, demand(ts))];
    let (s, b) = post_write(base, encode(&from_points(points))).await;
    assert_eq!(s, 204, "{b}");
}

async fn post(base: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, String) {
    let url = format!("{base}{path}");
    let (auth, body) = (auth.map(str::to_string), body.to_string());
    tokio::task::spawn_blocking(move || {
        let mut req = http().post(&url).header("Content-Type", "application/json");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let mut r = req.send(body.as_bytes()).unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_fleet_models_forecasts_and_annotations_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prescale.db");
    prefill(&db);
    let cfg = DaemonConfig::from_toml(&config(&db)).unwrap();
    let daemon = Daemon::start(cfg).await.unwrap();
    let base = format!("http://{}", daemon.local_addr());
    // History of the live workload: the last minute at 4 samples a second.
    let t0 = now_ms() - 60_000;
    let history: Vec<_> = (0..240)
        .map(|i| {
            let ts = t0 + i * 250;
            ("requests", vec![("job", "live")], ts, demand(ts))
        })
        .collect();
    let (s, b) = post_write(&base, encode(&from_points(history))).await;
    assert_eq!(s, 204, "{b}");

    // The learn loop fingerprints every second and clusters after its first run.
    let clusters = until(&base, "/api/v1/clusters", Duration::from_secs(45), |_| true).await;
    assert_eq!(clusters["algorithm"], "kmeans");
    let cl = clusters["clusters"].as_array().unwrap();
    assert!(cl.len() >= 2, "{clusters}");
    let map = clusters["map"].as_array().unwrap();
    assert!(map.len() >= FLEET, "{clusters}");
    assert!(map
        .iter()
        .all(|p| p["x"].as_f64().unwrap().is_finite() && p["y"].as_f64().unwrap().is_finite()));
    for c in cl {
        let members = c["members"].as_array().unwrap();
        assert!(!members.is_empty(), "{c}");
        assert_eq!(c["size"].as_u64(), Some(members.len() as u64));
        assert_eq!(f64s(&c["centroid_map"]).len(), 2, "{c}");
        for m in members {
            let p = map.iter().find(|p| &p["workload"] == m);
            assert_eq!(
                p.map(|p| &p["cluster"]),
                Some(&c["id"]),
                "{m} in {clusters}"
            );
        }
    }

    // A member's fingerprint matches its cluster.
    let member = cl[0]["members"][0].as_str().unwrap().to_string();
    let (s, text) = get(&base, &format!("/api/v1/workloads/{member}/fingerprint")).await;
    assert_eq!(s, 200, "{text}");
    let fp = json(&text);
    assert_eq!(fp["workload"], member.as_str());
    assert_eq!(fp["cluster"], cl[0]["id"], "{fp}");
    assert_eq!(fp["clustering_run"], clusters["clustering_run"]);
    assert!(!f64s(&fp["vector"]).is_empty(), "{fp}");
    assert!(!fp["features"].as_object().unwrap().is_empty(), "{fp}");
    assert!(fp["history"].as_u64().unwrap() >= 1, "{fp}");
    // Its anomaly score (the autoencoder's reconstruction error) is served, and on /metrics.
    assert_eq!(fp["reducer"], "pca", "{fp}");
    assert_eq!(fp["basis"].as_str().map(str::len), Some(16), "{fp}");
    let score = fp["reconstruction_error"].as_f64().unwrap();
    assert!(score.is_finite() && score >= 0.0, "{fp}");
    let (s, text) = get(&base, "/metrics").await;
    assert_eq!(s, 200);
    assert!(text.contains("# TYPE prescale_fingerprint_reconstruction_error gauge"));
    assert!(
        text.contains(&format!(
            "prescale_fingerprint_reconstruction_error{{workload=\"{member}\"}} "
        )),
        "{text}"
    );
    if fp["fingerprint_run"] == clusters["fingerprint_run"] {
        let p = map
            .iter()
            .find(|p| p["workload"] == member.as_str())
            .unwrap();
        assert_eq!(
            f64s(&fp["map"]),
            vec![p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap()]
        );
    }
    let (s, text) = get(&base, "/api/v1/workloads/nobody/fingerprint").await;
    assert_eq!(s, 404, "{text}");
    assert!(text.contains("nobody"), "{text}");
    let (s, text) = get(&base, "/api/v1/workloads/%20/fingerprint").await;
    assert_eq!(s, 400, "{text}");
    let (s, text) = get(&base, "/api/v1/clusters?algorithm=magic").await;
    assert_eq!(s, 400, "{text}");
    assert!(text.contains("kmeans"), "{text}");

    // The live controlled workload: a forecast with a band, then accuracy stats.
    let fc = until(
        &base,
        "/api/v1/workloads/live/forecast",
        Duration::from_secs(30),
        |_| true,
    )
    .await;
    assert_eq!(fc["source"], "control-loop");
    let f = &fc["forecasts"][0];
    assert_eq!(f["metric"], "requests");
    let (point, lower, upper) = (f64s(&f["point"]), f64s(&f["lower"]), f64s(&f["upper"]));
    assert!(!point.is_empty());
    assert_eq!(point.len(), lower.len());
    assert_eq!(point.len(), upper.len());
    assert_eq!(point.len(), f["ts"].as_array().unwrap().len());
    for i in 0..point.len() {
        assert!(
            lower[i] <= point[i] && point[i] <= upper[i],
            "step {i}: {f}"
        );
    }
    let models = until(&base, "/api/v1/models", Duration::from_secs(30), |v| {
        v["models"].as_array().is_some_and(|ms| {
            ms.iter().any(|m| {
                m["workload"] == "live" && m["stats"].as_array().is_some_and(|s| !s.is_empty())
            })
        })
    })
    .await;
    let live = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["workload"] == "live")
        .unwrap();
    assert!(live["fits"].as_u64().unwrap() >= 1, "{live}");
    let (s, text) = get(&base, "/api/v1/workloads/nobody/forecast").await;
    assert_eq!(s, 404, "{text}");
    let (s, text) = get(&base, "/api/v1/anomalies?workload=live&limit=5").await;
    assert_eq!(s, 200, "{text}");
    assert!(json(&text)["anomalies"].is_array());
    let (s, text) = get(&base, "/api/v1/anomalies?limit=0").await;
    assert_eq!(s, 400, "{text}");

    // Annotations: the token is needed to add one.
    let note = r#"{"text": "deploy v2", "workload": "live", "tags": ["deploy"]}"#;
    let (s, text) = post(&base, "/api/v1/annotations", None, note).await;
    assert_eq!(s, 401, "{text}");
    let (s, text) = post(&base, "/api/v1/annotations", Some("Bearer wrong"), note).await;
    assert_eq!(s, 401, "{text}");
    let bearer = format!("Bearer {TOKEN}");
    let (s, text) = post(&base, "/api/v1/annotations", Some(&bearer), note).await;
    assert_eq!(s, 201, "{text}");
    let added = json(&text);
    assert_eq!(added["text"], "deploy v2");
    let fleet_note = r#"{"text": "sale starts", "at": 1800000000000}"#;
    let (s, text) = post(&base, "/api/v1/annotations", Some(&bearer), fleet_note).await;
    assert_eq!(s, 201, "{text}");
    let (s, text) = post(
        &base,
        "/api/v1/annotations",
        Some(&bearer),
        r#"{"text": " "}"#,
    )
    .await;
    assert_eq!(s, 400, "{text}");
    let (s, text) = get(&base, "/api/v1/annotations?workload=live").await;
    assert_eq!(s, 200, "{text}");
    let listed = json(&text)["annotations"].as_array().cloned().unwrap();
    assert_eq!(listed.len(), 2, "{text}");
    assert_eq!(listed[0]["text"], "sale starts", "newest first: {text}");
    assert_eq!(listed[1], added);
    let (_, text) = get(&base, "/api/v1/annotations?workload=other").await;
    assert_eq!(json(&text)["annotations"].as_array().unwrap().len(), 1);
    daemon.shutdown().await.unwrap();

    // Annotations are kept in the store: a restarted daemon serves them unchanged.
    let cfg = DaemonConfig::from_toml(&config(&db)).unwrap();
    let daemon = Daemon::start(cfg).await.unwrap();
    let base = format!("http://{}", daemon.local_addr());
    let (s, text) = get(&base, "/api/v1/annotations?workload=live").await;
    assert_eq!(s, 200, "{text}");
    assert_eq!(json(&text)["annotations"].as_array().unwrap(), &listed);
    daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotations_are_refused_without_a_configured_token() {
    let d = start("").await;
    let (s, text) = post(&d.base, "/api/v1/annotations", None, r#"{"text": "x"}"#).await;
    assert_eq!(s, 403, "{text}");
    let (s, text) = get(&d.base, "/api/v1/clusters").await;
    assert_eq!(s, 404, "{text}");
    assert!(text.contains("no fingerprint yet"), "{text}");
    let (s, text) = get(&d.base, "/api/v1/models").await;
    assert_eq!(s, 200, "{text}");
    assert_eq!(json(&text)["models"], serde_json::json!([]));
    d.daemon.shutdown().await.unwrap();
}

#[test]
fn learn_config_defaults_switch_and_problems() {
    let c = DaemonConfig::from_toml("").unwrap();
    assert_eq!(c.learn, Some(LearnConfig::default()));
    let off = DaemonConfig::from_toml("[learn]\nenabled = false\n").unwrap();
    assert_eq!(off.learn, None);
    let short = DaemonConfig::from_toml(
        "[learn]\nfingerprint_every = \"5s\"\ncluster_every = \"10m\"\nwindows = [\"1h\", \"6h\"]\n",
    )
    .unwrap();
    let l = short.learn.unwrap();
    assert_eq!(l.fingerprint_every, Duration::from_secs(5));
    assert_eq!(l.cluster_every, Duration::from_secs(600));
    assert_eq!(
        l.windows,
        vec![Duration::from_secs(3600), Duration::from_secs(6 * 3600)]
    );
    let err = DaemonConfig::from_toml(
        "[learn]\nfingerprint_every = \"0s\"\ncluster_every = \"soon\"\nwindows = [\"1h\", \"1h\", \"x\"]\n",
    )
    .unwrap_err()
    .to_string();
    for path in [
        "learn.fingerprint_every",
        "learn.cluster_every",
        "learn.windows[1]",
        "learn.windows[2]",
    ] {
        assert!(err.contains(path), "{path} missing in {err}");
    }
    let err = DaemonConfig::from_toml("[learn]\nwindows = []\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("learn.windows"), "{err}");
    let err = DaemonConfig::from_toml("[learn]\nevery = \"1m\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("every"), "{err}");
}

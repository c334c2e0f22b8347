//! `POST /api/v1/whatif`: a controlled workload's stored history replays through its live
//! controller's spec, with other policies beside it; bounded and read-only.

mod common;

use common::{http, live_config, now_ms, prefill_live};
use prescale_daemon::{Daemon, DaemonConfig};
use serde_json::{json, Value};

async fn post(base: &str, body: Value) -> (u16, String) {
    let url = format!("{base}/api/v1/whatif");
    tokio::task::spawn_blocking(move || {
        let mut r = http()
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workloads_history_replays_through_its_controller_with_policies_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("whatif.db");
    // An hour of 1-second history of the controlled workload (its step is 1 s).
    prefill_live(&db, "web", "requests", 3600);
    let cfg = DaemonConfig::from_toml(&live_config(&db, "web", "")).unwrap();
    let daemon = Daemon::start(cfg).await.unwrap();
    let base = format!("http://{}", daemon.local_addr());
    let to = now_ms() / 1000 * 1000;
    let from = to - 1_800_000;
    let (s, body) = post(
        &base,
        json!({"workload": "web", "from": from, "to": to, "policies": ["hpa@0.6", "oracle"]}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["workload"], "web");
    assert_eq!(r["metric"], "requests");
    assert_eq!(r["steps"], 1800);
    assert_eq!(r["capacity_per_replica"], 10.0);
    assert!(r["fits"].as_u64().unwrap() > 10, "{r}");
    let names: Vec<&str> = r["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["predictive", "hpa@0.60", "oracle"]);
    assert_eq!(r["policies"][0]["acting"], true);
    assert_eq!(r["policies"][1]["acting"], false);
    assert_eq!(r["policies"][2]["under_pct"], 0.0);
    // Mistakes are named; no token is needed for this read-only replay.
    let (s, body) = post(&base, json!({"workload": "nobody"})).await;
    assert_eq!((s, body.contains("not controlled")), (404, true), "{body}");
    let (s, body) = post(
        &base,
        json!({"workload": "web", "from": to - 100 * 86_400_000, "to": to}),
    )
    .await;
    assert_eq!((s, body.contains("at most")), (422, true), "{body}");
    let (s, _) = post(&base, json!({"workload": "web", "speed": 3})).await;
    assert_eq!(s, 400);
    let (s, body) = post(
        &base,
        json!({"workload": "web", "from": to - 400_000_000_000, "to": to - 399_999_000_000}),
    )
    .await;
    assert_eq!(
        (s, body.contains("no stored samples")),
        (404, true),
        "{body}"
    );
    daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_slo_comes_back_per_policy_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slo.db");
    prefill_live(&db, "web", "requests", 1800);
    prefill_live(&db, "web", "queue_depth", 1800);
    let text = live_config(&db, "web", "")
        + "[workload.slo]\nmetric = \"queue_depth\"\nmax = 50.0\nkind = \"queue\"\n";
    let daemon = Daemon::start(DaemonConfig::from_toml(&text).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", daemon.local_addr());
    let to = now_ms() / 1000 * 1000;
    let (s, body) = post(
        &base,
        json!({"workload": "web", "from": to - 1_200_000, "to": to, "policies": ["oracle"]}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    let slo = &r["slo"];
    assert_eq!(
        (slo["kind"].as_str(), slo["max"].as_f64()),
        (Some("queue"), Some(50.0)),
        "{r}"
    );
    let names: Vec<&str> = slo["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["predictive", "oracle"]);
    assert!(
        slo["policies"][1]["violation_pct"].as_f64().is_some(),
        "{slo}"
    );
    assert!(slo["observed"]["violation_pct"].as_f64().is_some(), "{slo}");
    daemon.shutdown().await.unwrap();

    // A latency objective without replica history cannot be estimated: said, replay still served.
    let text = live_config(&db, "web", "")
        + "[workload.slo]\nmetric = \"queue_depth\"\nmax = 50.0\nkind = \"latency\"\n";
    let daemon = Daemon::start(DaemonConfig::from_toml(&text).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", daemon.local_addr());
    let (s, body) = post(
        &base,
        json!({"workload": "web", "from": to - 1_200_000, "to": to}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let r: Value = serde_json::from_str(&body).unwrap();
    let why = r["slo"]["error"].as_str().unwrap_or_default();
    assert!(why.contains("only 0 steps have both"), "{r}");
    daemon.shutdown().await.unwrap();
}

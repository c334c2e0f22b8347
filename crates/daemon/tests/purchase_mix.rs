//! `[workload.purchase]` end to end: each live decision records the purchase mix its replicas
//! would be bought as (`actions.purchase`) and `/metrics` exports it
//! (`prescale_purchase_replicas`, `prescale_purchase_hourly_dollars`).

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const LIVE: &str = "live";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_decision_records_its_purchase_mix_and_metrics_export_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    prefill_live(&db, LIVE, "requests", 600);
    let pricing =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pricing.example.toml");
    // c5.large: on demand 0.085/h, spot 0.037/h; at most half the replicas on spot.
    let text = format!(
        "{}[workload.purchase]\npricing = {:?}\ninstance_type = \"c5.large\"\n\
         interruptible = true\nmax_spot_share = 0.5\n",
        live_config(&db, LIVE, ""),
        pricing.to_str().unwrap()
    );
    let d =
        prescale_daemon::Daemon::start(prescale_daemon::DaemonConfig::from_toml(&text).unwrap())
            .await
            .unwrap();
    let base = format!("http://{}", d.local_addr());
    let feeder = tokio::spawn(feed_live(base.clone(), LIVE, "requests"));

    let begin = Instant::now();
    let (record, metrics) = loop {
        let (_, text) = get(
            &base,
            &format!("/api/v1/decisions?workload={LIVE}&limit=20"),
        )
        .await;
        let v: Value = serde_json::from_str(&text).unwrap();
        let found = v["decisions"].as_array().and_then(|all| {
            all.iter()
                .find(|r| r["actions"]["purchase"].is_object() && r["forecast"].is_object())
                .cloned()
        });
        let (_, metrics) = get(&base, "/metrics").await;
        if let Some(r) = found.filter(|_| metrics.contains("prescale_purchase_replicas")) {
            break (r, metrics);
        }
        assert!(
            begin.elapsed() < Duration::from_secs(60),
            "no decision with a purchase mix: {text}\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let p = &record["actions"]["purchase"];
    let n = |k: &str| p[k].as_u64().unwrap();
    let after = record["replicas_after"].as_u64().unwrap();
    assert_eq!(p["instance_type"], "c5.large");
    // A day of steps has not passed: nothing committed yet; half on spot, the rest on demand.
    assert_eq!(n("committed"), 0, "{p}");
    assert_eq!(n("spot"), after / 2, "{p}");
    assert_eq!(n("spot") + n("on_demand"), after, "{p}");
    let cost = p["hourly_cost"].as_f64().unwrap();
    let want = n("spot") as f64 * 0.037 + n("on_demand") as f64 * 0.085;
    assert!((cost - want).abs() < 1e-9, "{p}");
    assert!((p["hourly_cost_on_demand"].as_f64().unwrap() - after as f64 * 0.085).abs() < 1e-9);
    assert!(p["low_band_replicas"].as_u64().is_some(), "{p}");

    for kind in ["committed", "spot", "on_demand"] {
        let line = format!(
            "prescale_purchase_replicas{{instance_type=\"c5.large\",purchase=\"{kind}\",workload=\"{LIVE}\"}}"
        );
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    for basis in ["mix", "on_demand"] {
        let line = format!(
            "prescale_purchase_hourly_dollars{{basis=\"{basis}\",instance_type=\"c5.large\",workload=\"{LIVE}\"}}"
        );
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    feeder.abort();
    d.shutdown().await.unwrap();
}

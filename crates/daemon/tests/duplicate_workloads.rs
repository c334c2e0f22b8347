//! One controller per workload (issue 12, item 6): a `PredictiveScaler` whose workload is already
//! controlled — by a configured `[[workload]]` or by another scaler that had it first — is
//! reported invalid (SpecValid=False naming the owner) instead of being run a second time. Uses
//! the in-process FAKE Kubernetes API of prescale-kube's tests.

mod common;
#[path = "../../kube/tests/fake_api/mod.rs"]
mod fake_api;

use common::*;
use fake_api::{FakeApi, C};
use std::time::{Duration, Instant};

fn scaler(target: &str) -> serde_json::Value {
    serde_json::json!({
        "targetRef": {"kind": "Deployment", "name": target},
        "metrics": [{"name": "rps", "capacityPerReplica": 10.0}],
        "minReplicas": 1, "maxReplicas": 20, "leadTime": "1s", "step": "1s"
    })
}

/// The SpecValid condition of scaler shop/`name` once it has one.
fn spec_valid(api: &FakeApi, name: &str) -> Option<serde_json::Value> {
    api.scaler("shop", name)?["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "SpecValid")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scaler_for_a_workload_already_controlled_is_reported_not_run() {
    let api = FakeApi::start();
    for d in ["api", "web"] {
        api.add_deployment("shop", d, 2, &[C("app", Some("250m"), None, None)]);
    }
    api.add_scaler("shop", "api-scaler", scaler("api"));
    api.add_scaler("shop", "web-a", scaler("web"));
    api.add_scaler("shop", "web-b", scaler("web"));
    let d = start(&format!(
        r#"
tick = "200ms"
[learn]
enabled = false
[kubernetes]
api_server = "{url}"
predictive_scalers = true
resync = "1s"
[[workload]]
workload = "shop/api"
metric = "rps"
capacity_per_replica = 10.0
"#,
        url = api.url()
    ))
    .await;
    let begin = Instant::now();
    let (api_scaler, web_b) = loop {
        if let (Some(a), Some(b)) = (spec_valid(&api, "api-scaler"), spec_valid(&api, "web-b")) {
            break (a, b);
        }
        assert!(
            begin.elapsed() < Duration::from_secs(20),
            "no SpecValid on the duplicates: {:?} {:?}",
            api.scaler("shop", "api-scaler"),
            api.scaler("shop", "web-b")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (c, owner) in [
        (&api_scaler, "a [[workload]] of the config"),
        (&web_b, "PredictiveScaler shop/web-a"),
    ] {
        assert_eq!(c["status"], "False", "{c}");
        let m = c["message"].as_str().unwrap_or("");
        assert!(
            m.contains("already controlled by") && m.contains(owner),
            "{c}"
        );
    }
    // Each workload has one controller: one kill-switch gauge each, shop/web from web-a.
    let (_, metrics) = get(&d.base, "/metrics").await;
    for w in ["shop/api", "shop/web"] {
        let gauge = format!("prescale_kill_switch_engaged{{scope=\"workload\",workload=\"{w}\"}}");
        assert_eq!(metrics.matches(&gauge).count(), 1, "{w}: {metrics}");
    }
    assert!(spec_valid(&api, "web-a").is_none_or(|c| c["status"] != "False"));
    d.daemon.shutdown().await.unwrap();
}

//! `actuator = { type = "kubernetes", ... }` from the config: the daemon scales a Deployment through
//! the scale subresource of the in-process FAKE Kubernetes API of prescale-kube's tests (no real
//! API server can run here; the fake speaks the real paths, verbs, content types and status codes).

mod common;
#[path = "../../kube/tests/fake_api/mod.rs"]
mod fake_api;

use common::*;
use fake_api::{FakeApi, C};
use prescale_ingest::remote_write::{encode, from_points};
use std::time::{Duration, Instant};

const TOKEN: &str = "kubernetes-test-token-0123456789";

/// A daemon config acting every 200 ms on workload `web` (1 s steps, threshold rule) through the
/// Kubernetes actuator on Deployment shop/web of the fake API at `url`; `extra` goes inside the
/// `[[workload]]` table (bounds, a `[workload.resources]` table after it).
fn web_config(url: &str, extra: &str) -> String {
    format!(
        r#"
tick = "200ms"
mode = "act"
[learn]
enabled = false
[kubernetes]
api_server = "{url}"
request_timeout = "5s"
[[workload]]
workload = "web"
metric = "rps"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
stale_after = "1h"
policy = "threshold"
actuator = {{ type = "kubernetes", kind = "Deployment", namespace = "shop", name = "web" }}
{extra}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_scales_a_deployment_through_the_kubernetes_api() {
    let api = FakeApi::start();
    api.add_deployment(
        "shop",
        "web",
        2,
        &[C("app", Some("250m"), Some("256Mi"), None)],
    );
    // An HPA on another Deployment of the namespace does not stop prescale acting on this one.
    api.add_hpa("shop", "api-cpu", "Deployment", "api");
    let d = start(&web_config(&api.url(), "max = 20")).await;
    // Demand of 80 for half a minute: the threshold rule wants 9 replicas (80 × 1.1 / 10).
    let t0 = now_ms() - 30_000;
    let pts: Vec<_> = (0..120)
        .map(|i| ("rps", vec![("job", "web")], t0 + i * 250, 80.0))
        .collect();
    assert_eq!(post_write(&d.base, encode(&from_points(pts))).await.0, 204);
    let begin = Instant::now();
    loop {
        let ts = now_ms();
        let body = encode(&from_points(vec![("rps", vec![("job", "web")], ts, 80.0)]));
        assert_eq!(post_write(&d.base, body).await.0, 204);
        if api.replicas("deployments", "shop", "web") == Some(9) {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "deployment at {:?}",
            api.replicas("deployments", "shop", "web")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, text) = get(&d.base, "/api/v1/decisions?workload=web&limit=50").await;
    assert!(text.contains("\"outcome\":\"applied\""), "{text}");
    assert!(text.contains("\"actuator\":\"kubernetes\""), "{text}");
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hpa_on_the_same_deployment_is_refused_and_the_decision_says_why() {
    let api = FakeApi::start();
    api.add_deployment(
        "shop",
        "web",
        2,
        &[C("app", Some("250m"), Some("256Mi"), None)],
    );
    api.add_hpa("shop", "web-cpu", "Deployment", "web");
    let d = start(&web_config(&api.url(), "max = 20")).await;
    let t0 = now_ms() - 30_000;
    let pts: Vec<_> = (0..120)
        .map(|i| ("rps", vec![("job", "web")], t0 + i * 250, 80.0))
        .collect();
    assert_eq!(post_write(&d.base, encode(&from_points(pts))).await.0, 204);
    let begin = Instant::now();
    let failed = loop {
        let ts = now_ms();
        let body = encode(&from_points(vec![("rps", vec![("job", "web")], ts, 80.0)]));
        assert_eq!(post_write(&d.base, body).await.0, 204);
        let (_, text) = get(&d.base, "/api/v1/decisions?workload=web&limit=50").await;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let found = v["decisions"].as_array().and_then(|ds| {
            ds.iter()
                .find(|r| r["actuation"]["outcome"] == "failed")
                .cloned()
        });
        if let Some(r) = found {
            break r;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "no failed actuation: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let actuation = &failed["actuation"];
    assert_eq!(actuation["actuator"], "kubernetes", "{failed}");
    assert_eq!(actuation["retryable"], false, "{failed}");
    let error = actuation["error"].as_str().unwrap();
    for want in [
        "refused to act on Deployment/shop/web",
        "HorizontalPodAutoscaler shop/web-cpu scales it too",
        "undo each other's changes",
    ] {
        assert!(error.contains(want), "{want:?} missing from {error}");
    }
    assert_eq!(failed["replicas_after"], 9, "{failed}");
    // The Deployment was never patched: the HPA keeps it.
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(2));
    assert!(api.patches().is_empty(), "{:?}", api.patches());
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        metrics.contains("prescale_decisions_total{outcome=\"failed\",workload=\"web\"}"),
        "{metrics}"
    );
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_means_store_open_and_first_control_pass_done() {
    // No control loop at all (nothing configured, observe mode off): the store answers, but no
    // pass ever comes, so the daemon is live and not ready.
    let idle = start("[agent]\nenabled = false\n[observe]\nenabled = false\n").await;
    assert_eq!(get(&idle.base, "/healthz").await.0, 200);
    let (s, body) = get(&idle.base, "/readyz").await;
    assert_eq!(s, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false, "{v}");
    assert_eq!(v["store"], "open", "{v}");
    assert_eq!(v["control_passes"], 0, "{v}");
    assert_eq!(v["waiting_for"][0], "the control loop's first pass", "{v}");
    idle.daemon.shutdown().await.unwrap();

    // A controlled workload: ready once the loop has passed over it.
    let api = FakeApi::start();
    api.add_deployment("shop", "web", 2, &[C("app", None, None, None)]);
    let d = start(&web_config(&api.url(), "")).await;
    let begin = Instant::now();
    let v = loop {
        let (s, body) = get(&d.base, "/readyz").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if s == 200 {
            break v;
        }
        assert_eq!(s, 503, "{body}");
        assert!(begin.elapsed() < Duration::from_secs(10), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(v["ready"], true, "{v}");
    assert_eq!(v["store"], "open", "{v}");
    assert!(v["control_passes"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["waiting_for"], serde_json::json!([]), "{v}");
    d.daemon.shutdown().await.unwrap();
}

/// The container's CPU request in the Deployment's pod template.
fn cpu_request(api: &FakeApi) -> Option<String> {
    let d = api.object("deployments", "shop", "web")?;
    d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_sizes_the_cpu_request_of_a_deployment_from_its_use() {
    let api = FakeApi::start();
    api.add_deployment(
        "shop",
        "web",
        4,
        &[C("app", Some("250m"), Some("256Mi"), None)],
    );
    let d = start(&web_config(
        &api.url(),
        r#"min = 4
max = 4
[workload.resources]
headroom = 0.25
stabilization = "1s"
cpu = { metric = "cpu_cores", min = "50m", max = "2" }"#,
    ))
    .await;
    // Demand 80 and a total CPU use of 3.2 cores: with four replicas (min = max) each needs 0.8,
    // 1 core with the 25 % headroom: far above the 250m the Deployment asks for.
    let point = |metric: &'static str, ts: i64, v: f64| (metric, vec![("job", "web")], ts, v);
    let t0 = now_ms() - 30_000;
    let mut pts = Vec::new();
    for i in 0..120 {
        pts.push(point("rps", t0 + i * 250, 80.0));
        pts.push(point("cpu_cores", t0 + i * 250, 3.2));
    }
    assert_eq!(post_write(&d.base, encode(&from_points(pts))).await.0, 204);
    let begin = Instant::now();
    loop {
        let ts = now_ms();
        let body = encode(&from_points(vec![
            point("rps", ts, 80.0),
            point("cpu_cores", ts, 3.2),
        ]));
        assert_eq!(post_write(&d.base, body).await.0, 204);
        if cpu_request(&api).as_deref() == Some("1") {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "cpu request {:?}",
            cpu_request(&api)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(4));
    // The memory request is not sized and stays as it was.
    let dep = api.object("deployments", "shop", "web").unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"],
        "256Mi"
    );
    let (_, text) = get(&d.base, "/api/v1/decisions?workload=web&limit=50").await;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sized = v["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resources"]["cpu"]["after"] == 1.0)
        .unwrap_or_else(|| panic!("no decision sized 1 core: {text}"));
    assert_eq!(sized["resources"]["cpu"]["metric"], "cpu_cores");
    assert_eq!(sized["resources"]["cpu"]["before"], 0.25, "{sized}");
    assert_eq!(sized["actuation"]["outcome"], "applied", "{sized}");
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        metrics.contains("prescale_desired_cpu_request_cores{workload=\"web\"} 1\n"),
        "{metrics}"
    );
    assert!(!metrics.contains("prescale_desired_memory_request_bytes"));
    d.daemon.shutdown().await.unwrap();
}

#[test]
fn kubernetes_actuator_problems_are_named() {
    let bad = r#"
[kubernetes]
api_server = "ftp://nowhere"
limits = "sometimes"
[[workload]]
workload = "w"
metric = "m"
capacity_per_replica = 1.0
actuator = { type = "kubernetes", kind = "DaemonSet", name = "w" }
"#;
    let e = prescale_daemon::DaemonConfig::from_toml(bad).unwrap_err();
    let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
    for want in [
        "kubernetes.api_server",
        "kubernetes.limits",
        "workload[0].actuator.kind",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictive_scalers_are_controlled_and_report_their_status() {
    let api = FakeApi::start();
    api.add_deployment(
        "shop",
        "web",
        2,
        &[C("app", Some("250m"), Some("256Mi"), None)],
    );
    api.add_scaler(
        "shop",
        "web",
        serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"name": "rps", "capacityPerReplica": 10.0}],
            "minReplicas": 1, "maxReplicas": 20, "leadTime": "1s", "step": "1s",
            "policy": "threshold", "mode": "act",
            "resources": {"cpu": {"metric": "cpu_cores", "min": "50m", "max": "2"},
                          "stabilization": "1s"}
        }),
    );
    // Invalid: a lead time that is not a duration.
    api.add_scaler(
        "shop",
        "broken",
        serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"name": "rps", "capacityPerReplica": 10.0}],
            "minReplicas": 1, "maxReplicas": 20, "leadTime": "soon"
        }),
    );
    // Invalid: `like` names neither a workload nor labels.
    api.add_scaler(
        "shop",
        "badlike",
        serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"name": "rps", "capacityPerReplica": 10.0}],
            "minReplicas": 1, "maxReplicas": 20, "like": "=nope"
        }),
    );
    // Invalid: at most zero replicas (min 0 ≤ max 0 passes the CRD's own check).
    api.add_scaler(
        "shop",
        "zero",
        serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"name": "rps", "capacityPerReplica": 10.0}],
            "minReplicas": 0, "maxReplicas": 0, "workload": "shop/zero"
        }),
    );
    let d = start(&format!(
        r#"
tick = "200ms"
mode = "act"
api_token = "{TOKEN}"
[learn]
enabled = false
[kubernetes]
api_server = "{url}"
predictive_scalers = true
resync = "1s"
"#,
        url = api.url()
    ))
    .await;
    // The scaler's workload is `namespace/target`: shop/web. It uses 3.6 cores in all: over the
    // 9 replicas it needs, 0.4 each, 460m with the default 15 % headroom.
    let t0 = now_ms() - 30_000;
    let pts: Vec<_> = (0..120)
        .flat_map(|i| {
            [
                ("rps", vec![("job", "shop/web")], t0 + i * 250, 80.0),
                ("cpu_cores", vec![("job", "shop/web")], t0 + i * 250, 3.6),
            ]
        })
        .collect();
    assert_eq!(post_write(&d.base, encode(&from_points(pts))).await.0, 204);
    let begin = Instant::now();
    loop {
        let ts = now_ms();
        let body = encode(&from_points(vec![
            ("rps", vec![("job", "shop/web")], ts, 80.0),
            ("cpu_cores", vec![("job", "shop/web")], ts, 3.6),
        ]));
        assert_eq!(post_write(&d.base, body).await.0, 204);
        let status = api
            .scaler("shop", "web")
            .map(|s| s["status"].clone())
            .unwrap_or_default();
        if api.replicas("deployments", "shop", "web") == Some(9)
            && status["desiredReplicas"] == 9
            && status["desiredCpu"] == "460m"
            && cpu_request(&api).as_deref() == Some("460m")
        {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "deployment at {:?}, status {status}",
            api.replicas("deployments", "shop", "web")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = api.scaler("shop", "web").unwrap()["status"].clone();
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    let cond = |t: &str| {
        conditions
            .iter()
            .find(|c| c["type"] == t)
            .map(|c| c["status"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(cond("SpecValid").as_deref(), Some("True"), "{status}");
    assert_eq!(cond("Acting").as_deref(), Some("True"), "{status}");
    // The invalid ones are reported, not controlled: SpecValid=False naming the field.
    for (name, field) in [
        ("broken", "leadTime"),
        ("badlike", "spec.like"),
        ("zero", "spec.maxReplicas"),
    ] {
        let status = api.scaler("shop", name).unwrap()["status"].clone();
        let valid = status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "SpecValid").cloned())
            .unwrap_or_default();
        assert_eq!(valid["status"], "False", "{status}");
        assert!(
            valid["message"].as_str().unwrap().contains(field),
            "{status}"
        );
    }
    // Its workload is controlled like a configured one: it has a kill switch, set through the API
    // and shown on /metrics.
    let gauge = |v: u8| {
        format!("prescale_kill_switch_engaged{{scope=\"workload\",workload=\"shop/web\"}} {v}\n")
    };
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(metrics.contains(&gauge(0)), "{metrics}");
    let url = format!("{}/api/v1/kill-switch", d.base);
    let engaged = tokio::task::spawn_blocking(move || {
        http()
            .post(&url)
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .send(r#"{"engaged":true,"workload":"shop/web"}"#)
            .unwrap()
            .status()
            .as_u16()
    })
    .await
    .unwrap();
    assert_eq!(engaged, 200);
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(metrics.contains(&gauge(1)), "{metrics}");
    // Deleted: its workload stops deciding.
    assert!(api.remove_scaler("shop", "web"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        !metrics.contains("workload=\"shop/web\""),
        "a deleted scaler's workload is off /metrics: {metrics}"
    );
    let (_, before) = get(&d.base, "/api/v1/decisions?workload=shop/web&limit=1000").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let body = encode(&from_points(vec![(
        "rps",
        vec![("job", "shop/web")],
        now_ms(),
        80.0,
    )]));
    assert_eq!(post_write(&d.base, body).await.0, 204);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, after) = get(&d.base, "/api/v1/decisions?workload=shop/web&limit=1000").await;
    assert_eq!(
        before, after,
        "decisions continued after the scaler was deleted"
    );
    d.daemon.shutdown().await.unwrap();
}

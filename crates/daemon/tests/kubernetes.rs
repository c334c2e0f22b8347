//! `actuator = { type = "kubernetes", ... }` from the config: the daemon scales a Deployment through
//! the scale subresource of the in-process FAKE Kubernetes API of prescale-kube's tests (no real
//! API server can run here; the fake speaks the real paths, verbs, content types and status codes);
//! refuses an object an HPA scales; answers `/readyz`; and runs the in-cluster configs of
//! `deploy/kustomize` (validated, then run against the fake API and a fake Prometheus).

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
    decision_where(&d.base, "web", |r| {
        r["actuation"]["outcome"] == "applied" && r["actuation"]["actuator"] == "kubernetes"
    })
    .await;
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
    let sized = decision_where(&d.base, "web", |r| r["resources"]["cpu"]["after"] == 1.0).await;
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

/// The `prescale.toml` of a kustomize directory under `deploy/kustomize`.
fn deploy_config(dir: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/kustomize")
        .join(dir)
        .join("prescale.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const SECRET: &str = "/etc/prescale-secrets/write-token";
const PROMETHEUS: &str = "http://prometheus-server.monitoring.svc:9090";

#[test]
fn the_in_cluster_configs_in_deploy_validate() {
    let base = deploy_config("base");
    let namespaced = deploy_config("overlays/namespaced");
    // The namespaced overlay's config is the base's with PredictiveScalers of one namespace.
    let scoped = base.replace(
        "predictive_scalers = true\n",
        "predictive_scalers = true\nscaler_namespace = \"shop\"\n",
    );
    assert_ne!(scoped, base);
    assert!(
        namespaced.ends_with(&scoped),
        "deploy/kustomize/overlays/namespaced/prescale.toml drifted from the base's"
    );
    // The write token is a mounted Secret there; here a file of ours stands in for it.
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("write-token");
    std::fs::write(&token, "in-cluster-write-token-0123456789\n").unwrap();
    for (name, text, scope) in [
        ("base", &base, None),
        ("namespaced", &namespaced, Some("shop")),
    ] {
        assert!(text.contains(SECRET), "{name}: the config reads {SECRET}");
        let text = text.replace(SECRET, &token.display().to_string());
        let c = prescale_daemon::DaemonConfig::from_toml(&text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            c.listen.ip().is_unspecified(),
            "{name}: listens on every interface"
        );
        assert_eq!(c.listen.port(), 9464, "{name}");
        assert_eq!(c.db, std::path::Path::new("/var/lib/prescale/prescale.db"));
        assert!(c.write_auth.is_some_and(|a| a.bearer.is_some()), "{name}");
        assert!(c.agent.is_none(), "{name}: no host agent in a pod");
        // Live telemetry: a PromQL source polled every 30 s, mapped to namespace/deployment.
        assert_eq!(c.promql.len(), 1, "{name}");
        assert_eq!(c.promql[0].interval, Duration::from_secs(30), "{name}");
        assert_eq!(c.promql[0].metric.as_deref(), Some("http_rps"), "{name}");
        assert_eq!(c.backfill.len(), 1, "{name}");
        let scalers = c.kubernetes.scalers.expect("PredictiveScalers on");
        assert_eq!(scalers.namespace.as_deref(), scope, "{name}");
        let keda = c.keda.expect("the KEDA scaler on");
        assert!(keda.listen.ip().is_unspecified(), "{name}");
        assert_eq!(keda.listen.port(), 9465, "{name}");
    }
}

/// A fake Prometheus on 127.0.0.1:0: `/api/v1/query` answers `sum by (namespace, deployment)`'s
/// shape (shop/web at `rps`, now), `/api/v1/query_range` an empty matrix; returns its URL and the
/// number of instant queries it answered.
async fn fake_prometheus(rps: f64) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::post;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let queries = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = queries.clone();
    let app = axum::Router::new()
        .route(
            "/api/v1/query",
            post(move |body: String| {
                let counted = counted.clone();
                async move {
                    assert!(body.contains("query="), "{body}");
                    counted.fetch_add(1, Ordering::SeqCst);
                    let now = now_ms() as f64 / 1000.0;
                    axum::Json(serde_json::json!({
                        "status": "success",
                        "data": { "resultType": "vector", "result": [
                            { "metric": { "namespace": "shop", "deployment": "web" },
                              "value": [now, rps.to_string()] }
                        ] }
                    }))
                }
            }),
        )
        .route(
            "/api/v1/query_range",
            post(|| async {
                axum::Json(serde_json::json!({
                    "status": "success", "data": { "resultType": "matrix", "result": [] }
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, queries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_cluster_config_reads_live_telemetry_for_a_predictive_scaler() {
    let (prometheus, queries) = fake_prometheus(120.0).await;
    let api = FakeApi::start();
    api.add_deployment("shop", "web", 2, &[C("app", Some("250m"), None, None)]);
    // deploy/example-predictivescaler.yaml's target and metric, forecast-only.
    api.add_scaler(
        "shop",
        "web",
        serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web", "container": "app"},
            "metrics": [{"name": "http_rps", "capacityPerReplica": 50}],
            "minReplicas": 2, "maxReplicas": 40, "leadTime": "5m", "step": "1m",
            "mode": "forecast-only"
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("write-token");
    std::fs::write(&token, "in-cluster-write-token-0123456789\n").unwrap();
    // The cluster's addresses become the fakes'; `listen` and `db` are the harness's; the 30 s
    // PromQL interval (its timeout with it) and the scaler resync become 1 s.
    let text: String = deploy_config("base")
        .lines()
        .filter(|l| !l.starts_with("listen = ") && !l.starts_with("db = "))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(SECRET, &token.display().to_string())
        .replace(PROMETHEUS, &prometheus)
        .replace("interval = \"30s\"", "interval = \"1s\"")
        .replace("timeout = \"10s\"", "timeout = \"1s\"")
        .replace("resync = \"30s\"", "resync = \"1s\"")
        .replace("listen = \"0.0.0.0:9465\"", "listen = \"127.0.0.1:0\"")
        .replace(
            "[kubernetes]\n",
            &format!("[kubernetes]\napi_server = \"{}\"\n", api.url()),
        );
    assert!(!text.contains("svc:9090"), "{text}");
    let d = start(&text).await;
    let begin = Instant::now();
    loop {
        let (_, workloads) = get(&d.base, "/api/v1/workloads").await;
        let (ready, _) = get(&d.base, "/readyz").await;
        let status = api.scaler("shop", "web").unwrap()["status"].clone();
        let valid = status["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "SpecValid" && c["status"] == "True")
        });
        if workloads.contains("\"shop/web\"")
            && workloads.contains("http_rps")
            && ready == 200
            && valid
        {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "queries {}, ready {ready}, workloads {workloads}, status {status}",
            queries.load(std::sync::atomic::Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Polled, not read once: the source keeps asking.
    let asked = queries.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(queries.load(std::sync::atomic::Ordering::SeqCst) > asked);
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        metrics.contains("prescale_samples_ingested_total{source=\"promql:http-rps\"}"),
        "{metrics}"
    );
    // Forecast-only: the Deployment is untouched.
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(2));
    d.daemon.shutdown().await.unwrap();
}

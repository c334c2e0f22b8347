//! The Kubernetes actuator against the in-process fake API server (see `fake_api`; not a real API server).

mod fake_api;

use fake_api::{FakeApi, C};
use prescale_actuate::{
    ActuationRequest, Actuator, Backoff, BreakerConfig, BreakerState, DesiredState, Resources,
    Retrying,
};
use prescale_core::{Timestamp, WorkloadId};
use prescale_kube::{
    AsyncKubeActuator, KubeActuator, KubeError, KubeOptions, KubeTarget, LimitsPolicy,
};

fn wid(s: &str) -> WorkloadId {
    WorkloadId::new(s).unwrap()
}

fn request(desired: DesiredState) -> ActuationRequest {
    ActuationRequest {
        desired,
        decision_id: "d-1".into(),
        reason: "{\"rule\":\"predictive\"}".into(),
        issued_at: Timestamp(1_700_000_000_000),
    }
}

fn resources(cpu: Option<u64>, mem: Option<u64>) -> Resources {
    Resources {
        cpu_millis: cpu,
        memory_bytes: mem,
    }
}

/// A fake with Deployment shop/web (2 replicas, container app 250m/256Mi, limit 1 CPU) and StatefulSet
/// shop/db (1 replica), and an actuator with both registered as `web` and `db`.
fn setup(options: KubeOptions) -> (FakeApi, KubeActuator) {
    let api = FakeApi::start();
    api.add_deployment(
        "shop",
        "web",
        2,
        &[
            C("app", Some("250m"), Some("256Mi"), Some("1")),
            C("sidecar", Some("10m"), None, None),
        ],
    );
    api.add_statefulset("shop", "db", 1, &[C("pg", Some("1"), Some("1Gi"), None)]);
    let mut act = KubeActuator::new(api.config(), options).unwrap();
    act.register(
        wid("web"),
        KubeTarget::deployment("shop", "web").with_container("app"),
    );
    act.register(wid("db"), KubeTarget::statefulset("shop", "db"));
    // The HPA guard lists shop's HorizontalPodAutoscalers (none) and keeps the list for 30 s: listed
    // here, the requests these tests count are the actuation's own (tests/hpa.rs covers the guard).
    act.block_on(async |a| a.hpa_conflict(&KubeTarget::deployment("shop", "web")).await)
        .unwrap();
    api.clear_log();
    (api, act)
}

#[test]
fn scales_a_deployment_through_the_scale_subresource() {
    let (api, mut act) = setup(KubeOptions::default());
    let applied = act
        .apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap();
    assert!(applied.changed);
    assert!(
        applied.detail.contains("replicas 2→5"),
        "{}",
        applied.detail
    );
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(5));

    let reqs = api.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(
        reqs[0].path,
        "/apis/apps/v1/namespaces/shop/deployments/web/scale"
    );
    assert_eq!(reqs[1].method, "PATCH");
    assert_eq!(
        reqs[1].path,
        "/apis/apps/v1/namespaces/shop/deployments/web/scale"
    );
    assert_eq!(
        reqs[1].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert!(
        reqs[1].query.contains("fieldManager=prescale"),
        "{}",
        reqs[1].query
    );
    let body: serde_json::Value = serde_json::from_str(&reqs[1].body).unwrap();
    assert_eq!(body["spec"]["replicas"], 5);
    assert!(
        body["metadata"]["resourceVersion"].is_string(),
        "patch carries its precondition"
    );

    // The same request again: read only, no PATCH.
    api.clear_log();
    let again = act
        .apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap();
    assert!(!again.changed);
    assert!(again.detail.contains("already 5"), "{}", again.detail);
    assert!(api.patches().is_empty(), "{:?}", api.patches());
    assert_eq!(api.requests().len(), 1);

    let current = act.current(&wid("web")).unwrap().unwrap();
    assert_eq!(current.replicas, Some(5));
    assert_eq!(
        current.resources,
        Some(resources(Some(250), Some(256 << 20)))
    );
}

#[test]
fn scales_a_statefulset() {
    let (api, mut act) = setup(KubeOptions::default());
    let applied = act
        .apply(&request(DesiredState::replicas(wid("db"), 3)))
        .unwrap();
    assert!(applied.changed);
    assert_eq!(api.replicas("statefulsets", "shop", "db"), Some(3));
    let patch = &api.patches()[0];
    assert_eq!(
        patch.path,
        "/apis/apps/v1/namespaces/shop/statefulsets/db/scale"
    );
    assert_eq!(
        api.replicas("deployments", "shop", "web"),
        Some(2),
        "other workloads untouched"
    );
}

#[test]
fn patches_the_containers_requests_and_keeps_the_rest() {
    let (api, mut act) = setup(KubeOptions::default());
    let before = api.object("deployments", "shop", "web").unwrap();
    let mut desired = DesiredState::unchanged(wid("web"));
    desired.resources = Some(resources(Some(500), Some(512 << 20)));
    let applied = act.apply(&request(desired.clone())).unwrap();
    assert!(applied.changed, "{}", applied.detail);
    assert!(applied.detail.contains("250m"), "{}", applied.detail);

    let after = api.object("deployments", "shop", "web").unwrap();
    let app = &after["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(app["name"], "app");
    assert_eq!(app["resources"]["requests"]["cpu"], "500m");
    assert_eq!(app["resources"]["requests"]["memory"], "512Mi");
    assert_eq!(
        app["resources"]["limits"]["cpu"], "1",
        "limits untouched by default"
    );
    assert_eq!(app["image"], "registry.example/app:1");
    let sidecar = &after["spec"]["template"]["spec"]["containers"][1];
    assert_eq!(
        sidecar["resources"]["requests"]["cpu"], "10m",
        "other containers untouched"
    );
    assert_ne!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    assert_eq!(after["metadata"]["generation"], 2);

    let patch = &api.patches()[0];
    assert_eq!(patch.path, "/apis/apps/v1/namespaces/shop/deployments/web");
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );

    api.clear_log();
    assert!(!act.apply(&request(desired)).unwrap().changed);
    assert!(api.patches().is_empty());
}

#[test]
fn limits_follow_requests_when_configured() {
    let options = KubeOptions {
        limits: LimitsPolicy::MatchRequests,
        ..KubeOptions::default()
    };
    let (api, mut act) = setup(options);
    let mut desired = DesiredState::unchanged(wid("web"));
    desired.resources = Some(resources(Some(2000), None));
    assert!(act.apply(&request(desired)).unwrap().changed);
    let app = &api.object("deployments", "shop", "web").unwrap()["spec"]["template"]["spec"]
        ["containers"][0];
    assert_eq!(app["resources"]["requests"]["cpu"], "2");
    assert_eq!(app["resources"]["limits"]["cpu"], "2");
    assert_eq!(
        app["resources"]["requests"]["memory"], "256Mi",
        "unset dimension kept"
    );
}

#[test]
fn conflict_once_is_retried_after_a_fresh_read() {
    let (api, mut act) = setup(KubeOptions::default());
    api.concurrent_write_before_next_patches(1);
    let applied = act
        .apply(&request(DesiredState::replicas(wid("web"), 4)))
        .unwrap();
    assert!(applied.changed);
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(4));
    let verbs: Vec<String> = api.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(verbs, ["GET", "PATCH", "GET", "PATCH"]);
}

#[test]
fn injected_409_once_then_success() {
    let (api, mut act) = setup(KubeOptions::default());
    api.fail_next(1, 409);
    assert!(
        act.apply(&request(DesiredState::replicas(wid("web"), 6)))
            .unwrap()
            .changed
    );
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(6));
}

#[test]
fn repeated_conflicts_are_retryable_errors() {
    let (api, mut act) = setup(KubeOptions::default());
    api.concurrent_write_before_next_patches(2);
    let err = act
        .apply(&request(DesiredState::replicas(wid("web"), 4)))
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("409"), "{err}");
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(2));
}

#[test]
fn persistent_503_is_retryable() {
    let (api, mut act) = setup(KubeOptions::default());
    api.fail_next(10, 503);
    let err = act
        .apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(
        api.requests().len(),
        1,
        "kube-rs' retry layer is off: one attempt, retries belong to Retrying"
    );
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(2));
}

#[test]
fn missing_object_is_permanent_with_the_status_message() {
    let (_api, mut act) = setup(KubeOptions::default());
    act.register(wid("ghost"), KubeTarget::deployment("shop", "ghost"));
    let err = act
        .apply(&request(DesiredState::replicas(wid("ghost"), 3)))
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let text = err.to_string();
    assert!(text.contains("404"), "{text}");
    assert!(
        text.contains("deployments.apps \"ghost\" not found"),
        "{text}"
    );
}

#[test]
fn forbidden_and_invalid_are_permanent() {
    let (api, act) = setup(KubeOptions::default());
    api.fail_next(1, 403);
    let err = act
        .apply_kube(&request(DesiredState::replicas(wid("web"), 3)))
        .unwrap_err();
    assert_eq!(err.status_code(), Some(403));
    assert!(!err.is_retryable());

    // Requests above the unchanged 1-CPU limit: the API answers 422 Invalid.
    let mut desired = DesiredState::unchanged(wid("web"));
    desired.resources = Some(resources(Some(1500), None));
    let err = act.apply_kube(&request(desired)).unwrap_err();
    assert_eq!(err.status_code(), Some(422), "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string()
            .contains("must be less than or equal to cpu limit"),
        "{err}"
    );
}

#[test]
fn connection_refused_is_retryable_and_unknown_workloads_are_not() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut act = KubeActuator::new(
        kube::Config::new(url.parse().unwrap()),
        KubeOptions::default(),
    )
    .unwrap();
    act.register(wid("web"), KubeTarget::deployment("shop", "web"));
    let err = act
        .apply(&request(DesiredState::replicas(wid("web"), 3)))
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let err = act
        .apply(&request(DesiredState::replicas(wid("nope"), 3)))
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(act.current(&wid("nope")).unwrap(), None);
}

#[test]
fn in_place_resize_patches_running_pods() {
    let options = KubeOptions {
        in_place_resize: true,
        ..KubeOptions::default()
    };
    let (api, mut act) = setup(options);
    api.add_pod(
        "shop",
        "web-1",
        "web",
        &[C("app", Some("250m"), Some("256Mi"), Some("1"))],
    );
    api.add_pod(
        "shop",
        "web-2",
        "web",
        &[C("app", Some("750m"), Some("256Mi"), Some("1"))],
    );
    api.add_pod(
        "shop",
        "other",
        "other",
        &[C("app", Some("250m"), None, None)],
    );
    let mut desired = DesiredState::unchanged(wid("web"));
    desired.resources = Some(resources(Some(750), None));
    let applied = act.apply(&request(desired)).unwrap();
    assert!(
        applied
            .detail
            .contains("resized 1 pods in place, 1 already"),
        "{}",
        applied.detail
    );
    let pod = api.object("pods", "shop", "web-1").unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "750m"
    );
    assert_eq!(
        api.object("pods", "shop", "other").unwrap()["spec"]["containers"][0]["resources"]
            ["requests"]["cpu"],
        "250m"
    );
    let resize: Vec<_> = api
        .patches()
        .into_iter()
        .filter(|r| r.path.ends_with("/resize"))
        .collect();
    assert_eq!(resize.len(), 1);
    assert_eq!(resize[0].path, "/api/v1/namespaces/shop/pods/web-1/resize");
    assert_eq!(
        resize[0].content_type.as_deref(),
        Some("application/strategic-merge-patch+json")
    );
}

#[test]
fn retrying_wrapper_recovers_from_transient_5xx() {
    let (api, act) = setup(KubeOptions::default());
    api.fail_next(2, 500);
    let mut retrying = Retrying::with_clock(
        act,
        Backoff::default(),
        BreakerConfig::default(),
        prescale_core::ManualClock::new(Timestamp(0)),
    );
    let applied = retrying
        .apply(&request(DesiredState::replicas(wid("web"), 7)))
        .unwrap();
    assert!(applied.changed);
    assert_eq!(retrying.last_attempts(), 3);
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(7));

    // Persistent 503: every attempt fails, the error stays retryable, the breaker eventually opens.
    api.fail_next(100, 503);
    let err = retrying
        .apply(&request(DesiredState::replicas(wid("web"), 8)))
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(retrying.last_attempts(), 4);
    let _ = retrying.apply(&request(DesiredState::replicas(wid("web"), 8)));
    assert!(
        matches!(retrying.state(), BreakerState::Open { .. }),
        "{:?}",
        retrying.state()
    );
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_api_and_sync_guard() {
    let api = FakeApi::start();
    api.add_deployment("default", "api", 1, &[C("main", Some("100m"), None, None)]);
    let actuator = AsyncKubeActuator::connect(api.config(), KubeOptions::default()).unwrap();
    let target = KubeTarget::deployment("default", "api");
    let change = actuator.set_replicas(&target, 3).await.unwrap();
    assert_eq!((change.from, change.to, change.changed), (1, 3, true));
    assert_eq!(actuator.replicas(&target).await.unwrap(), 3);
    let res = actuator.resources(&target).await.unwrap();
    assert_eq!(res.container, "main");
    assert_eq!(res.requests.cpu_millis, Some(100));

    // The sync actuator refuses to block inside a runtime instead of panicking.
    let err = KubeActuator::new(api.config(), KubeOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, KubeError::NestedRuntime));
}

#[test]
fn unsupported_patch_content_type_is_415() {
    // The fake's own contract check, over raw HTTP: a JSON Patch is refused with a Status body.
    use std::io::{Read, Write};
    let api = FakeApi::start();
    api.add_deployment("shop", "web", 2, &[C("app", None, None, None)]);
    let body = r#"[{"op":"replace","path":"/spec/replicas","value":9}]"#;
    let mut stream = std::net::TcpStream::connect(api.addr).unwrap();
    write!(
        stream,
        "PATCH /apis/apps/v1/namespaces/shop/deployments/web HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json-patch+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        api.addr,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 415"), "{answer}");
    assert!(
        answer.contains("\"reason\":\"UnsupportedMediaType\""),
        "{answer}"
    );
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(2));
}

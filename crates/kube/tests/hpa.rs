//! The HorizontalPodAutoscaler guard against the in-process fake API server (see `fake_api`; not a
//! real API server): an HPA (or KEDA's) on the same object refuses the actuation with a message that
//! names it and says why; HPAs on other objects do not; the list is kept for `hpa_cache`.

mod fake_api;

use std::time::Duration;

use fake_api::{FakeApi, C};
use prescale_actuate::{ActuationRequest, Actuator, DesiredState, Resources};
use prescale_core::{Timestamp, WorkloadId};
use prescale_kube::{KubeActuator, KubeError, KubeOptions, KubeTarget};

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

/// Deployment shop/web (2 replicas) registered as `web`, with the HPA list kept for `hpa_cache`.
fn setup(hpa_cache: Duration) -> (FakeApi, KubeActuator) {
    let api = FakeApi::start();
    api.add_deployment(
        "shop",
        "web",
        2,
        &[C("app", Some("250m"), Some("256Mi"), None)],
    );
    let options = KubeOptions {
        hpa_cache,
        ..KubeOptions::default()
    };
    let mut act = KubeActuator::new(api.config(), options).unwrap();
    act.register(
        wid("web"),
        KubeTarget::deployment("shop", "web").with_container("app"),
    );
    (api, act)
}

#[test]
fn an_hpa_on_the_same_deployment_refuses_the_actuation() {
    let (api, mut act) = setup(Duration::from_secs(30));
    api.add_hpa("shop", "web-cpu", "Deployment", "web");
    let err = act
        .apply_kube(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap_err();
    let KubeError::HpaConflict { target, hpa } = &err else {
        panic!("not an HPA conflict: {err}");
    };
    assert_eq!(target, "Deployment/shop/web");
    assert_eq!(
        (hpa.namespace.as_str(), hpa.name.as_str()),
        ("shop", "web-cpu")
    );
    let text = err.to_string();
    for want in [
        "refused to act on Deployment/shop/web",
        "HorizontalPodAutoscaler shop/web-cpu scales it too",
        "undo each other's changes",
        "forecast-only",
    ] {
        assert!(text.contains(want), "{want:?} missing from {text}");
    }
    assert!(!err.is_retryable());
    // Nothing was read or written beyond the HPA list.
    let reqs = api.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(
        reqs[0].path,
        "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers"
    );
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(2));

    // Through the shared Actuator contract (what the control loop records): a permanent failure
    // whose message names the HPA and why.
    let mut desired = DesiredState::replicas(wid("web"), 5);
    desired.resources = Some(Resources {
        cpu_millis: Some(500),
        memory_bytes: None,
    });
    let err = act.apply(&request(desired)).unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(
        err.to_string()
            .contains("HorizontalPodAutoscaler shop/web-cpu scales it too"),
        "{err}"
    );
    assert!(api.patches().is_empty(), "{:?}", api.patches());
    assert_eq!(api.hpa_lists(), 1, "the second check came from the cache");
    // Reading the current state is not acting: it still answers.
    assert_eq!(act.current(&wid("web")).unwrap().unwrap().replicas, Some(2));
}

#[test]
fn hpas_on_other_objects_do_not_refuse() {
    let (api, mut act) = setup(Duration::from_secs(30));
    api.add_hpa("shop", "api", "Deployment", "api");
    api.add_hpa("shop", "web-sts", "StatefulSet", "web");
    api.add_hpa("other", "web", "Deployment", "web");
    let applied = act
        .apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap();
    assert!(applied.changed, "{}", applied.detail);
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(5));
    // The guard lists the target's namespace only.
    assert_eq!(api.hpa_lists(), 1);
    assert!(api
        .requests()
        .iter()
        .all(|r| !r.path.contains("/namespaces/other/")));
}

#[test]
fn a_keda_scaled_object_is_named_with_its_hpa() {
    let (api, mut act) = setup(Duration::from_secs(30));
    let hpa = api.add_keda_hpa("shop", "web-predicted", "Deployment", "web");
    let err = act
        .apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "HorizontalPodAutoscaler shop/{hpa} (made by KEDA for ScaledObject shop/web-predicted)"
        )),
        "{text}"
    );
    assert!(text.contains("KEDA scales this object"), "{text}");
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(2));
}

#[test]
fn the_hpa_list_is_kept_for_hpa_cache() {
    let ttl = Duration::from_millis(400);
    let (api, mut act) = setup(ttl);
    for n in [3, 4] {
        act.apply(&request(DesiredState::replicas(wid("web"), n)))
            .unwrap();
    }
    assert_eq!(api.hpa_lists(), 1, "two actuations, one list");
    // An HPA appears: unseen while the list is kept, refused once it is listed again.
    api.add_hpa("shop", "late", "Deployment", "web");
    act.apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap();
    std::thread::sleep(ttl + Duration::from_millis(100));
    let err = act
        .apply(&request(DesiredState::replicas(wid("web"), 6)))
        .unwrap_err();
    assert!(err.to_string().contains("shop/late"), "{err}");
    assert_eq!(api.hpa_lists(), 2);
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(5));
    // It goes: the next decision after the list expires acts again.
    assert!(api.remove_hpa("shop", "late"));
    std::thread::sleep(ttl + Duration::from_millis(100));
    act.apply(&request(DesiredState::replicas(wid("web"), 6)))
        .unwrap();
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(6));
}

#[test]
fn a_failed_hpa_list_fails_the_actuation_and_is_not_kept() {
    let (api, mut act) = setup(Duration::from_secs(30));
    // RBAC without `list horizontalpodautoscalers`: the API answers 403 and nothing is changed.
    api.fail_next(1, 403);
    let err = act
        .apply_kube(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap_err();
    assert_eq!(err.status_code(), Some(403), "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string()
            .contains("list on horizontalpodautoscalers.autoscaling"),
        "{err}"
    );
    assert!(api.patches().is_empty());
    // A 503 is retryable, and the failure was not kept: the next actuation lists again and acts.
    api.fail_next(1, 503);
    let err = act
        .apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    act.apply(&request(DesiredState::replicas(wid("web"), 5)))
        .unwrap();
    assert_eq!(api.replicas("deployments", "shop", "web"), Some(5));
    assert_eq!(api.hpa_lists(), 3);
}

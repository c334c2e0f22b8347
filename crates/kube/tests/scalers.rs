//! `PredictiveScaler` listing, settings and status reports against the in-process fake API server
//! (see `fake_api`; not a real API server).

mod fake_api;

use std::time::Duration;

use fake_api::FakeApi;
use prescale_core::Timestamp;
use prescale_kube::{
    ConditionState, ConditionStatus, DecisionSummary, ForecastSummary, KubeOptions, ScalerMode,
    ScalerReport, ScalerScope, ScalerSource,
};
use serde_json::{json, Value};

fn spec(target: &str) -> Value {
    json!({
        "targetRef": {"kind": "Deployment", "name": target, "container": "app"},
        "metrics": [{"name": "http_rps", "capacityPerReplica": 50.0}],
        "minReplicas": 2, "maxReplicas": 40, "leadTime": "5m", "violationBudget": 0.01
    })
}

/// shop/web, shop/api (explicit workload id, act mode), batch/etl (StatefulSet, invalid: min > max and a bad step).
fn setup() -> FakeApi {
    let api = FakeApi::start();
    api.add_scaler("shop", "web", spec("web"));
    let mut api_spec = spec("api-server");
    api_spec["workload"] = json!("checkout");
    api_spec["mode"] = json!("act");
    api_spec["step"] = json!("30s");
    api_spec["season"] = json!("1d");
    api_spec["policy"] = json!("hpa@0.6");
    api.add_scaler("shop", "api", api_spec);
    api.add_scaler(
        "batch",
        "etl",
        json!({
            "targetRef": {"kind": "StatefulSet", "name": "etl"},
            "metrics": [{"name": "queue_depth", "capacityPerReplica": 100.0}],
            "minReplicas": 10, "maxReplicas": 3, "step": "every minute"
        }),
    );
    api
}

fn source(api: &FakeApi, scope: ScalerScope) -> ScalerSource {
    ScalerSource::new(api.config(), KubeOptions::default(), scope).unwrap()
}

fn keys(entries: &[prescale_kube::ScalerEntry]) -> Vec<String> {
    entries.iter().map(|e| e.key()).collect()
}

#[test]
fn lists_across_namespaces_and_in_one() {
    let api = setup();
    let mut all = source(&api, ScalerScope::AllNamespaces);
    let entries = all.list().unwrap();
    assert_eq!(keys(&entries), ["batch/etl", "shop/api", "shop/web"]);
    let reqs = api.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/apis/prescale.io/v1alpha1/predictivescalers");

    let web = &entries[2];
    assert!(web.is_valid(), "{:?}", web.problems);
    assert_eq!(web.workload.as_ref().unwrap().as_str(), "shop/web");
    assert_eq!(
        web.target.as_ref().unwrap().to_string(),
        "Deployment/shop/web:app"
    );
    assert_eq!(web.generation, Some(1));
    assert!(web.resource_version.is_some());
    let api_entry = &entries[1];
    assert_eq!(api_entry.workload.as_ref().unwrap().as_str(), "checkout");
    assert_eq!(api_entry.spec.as_ref().unwrap().mode, ScalerMode::Act);

    api.clear_log();
    let mut shop = source(&api, ScalerScope::Namespace("shop".into()));
    assert_eq!(keys(&shop.list().unwrap()), ["shop/api", "shop/web"]);
    assert_eq!(
        api.requests()[0].path,
        "/apis/prescale.io/v1alpha1/namespaces/shop/predictivescalers"
    );
    let mut empty = source(&api, ScalerScope::Namespace("nothing-here".into()));
    assert!(empty.list().unwrap().is_empty());
}

#[test]
fn invalid_specs_come_back_with_their_problems() {
    let api = setup();
    // One whose spec does not even decode (no metrics, replicas as text) must not hide the others.
    api.add_scaler(
        "batch",
        "broken",
        json!({"targetRef": {"kind": "Deployment", "name": "x"}, "minReplicas": "two"}),
    );
    let entries = source(&api, ScalerScope::Namespace("batch".into()))
        .list()
        .unwrap();
    assert_eq!(keys(&entries), ["batch/broken", "batch/etl"]);

    let broken = &entries[0];
    assert!(!broken.is_valid());
    assert!(broken.spec.is_none() && broken.target.is_none() && broken.workload.is_none());
    assert_eq!(broken.problems.len(), 1);
    assert_eq!(broken.problems[0].path, "spec");
    assert!(
        broken.problems[0].message.contains("could not be decoded"),
        "{:?}",
        broken.problems
    );

    // Listing judges only the shape and the workload id: etl's values (min above max, a step that
    // is no duration) are the daemon's one workload validation's to name (daemon tests/kubernetes.rs).
    let etl = &entries[1];
    assert!(etl.is_valid(), "{:?}", etl.problems);
    assert_eq!(etl.workload.as_ref().unwrap().as_str(), "batch/etl");
    assert_eq!(
        etl.target.as_ref().unwrap().to_string(),
        "StatefulSet/batch/etl"
    );

    // A workload id that cannot be formed is a listing problem.
    let mut odd = spec("odd");
    odd["workload"] = json!("");
    api.add_scaler("batch", "odd", odd);
    let entries = source(&api, ScalerScope::Namespace("batch".into()))
        .list()
        .unwrap();
    let odd = entries.iter().find(|e| e.key() == "batch/odd").unwrap();
    assert!(odd.workload.is_none());
    let paths: Vec<&str> = odd.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["spec.workload"]);
}

fn report_at(ms: i64) -> ScalerReport {
    let mut r = ScalerReport::new(Timestamp(ms));
    r.decision = Some(DecisionSummary {
        at: Timestamp(ms),
        from: 3,
        to: 5,
        reason: "forecast upper 240 rps at +5m needs 5 replicas".into(),
        mode: ScalerMode::Act,
        requests: Some(prescale_actuate::Resources {
            cpu_millis: Some(750),
            memory_bytes: None,
        }),
    });
    r.forecast = Some(ForecastSummary {
        lead: Duration::from_secs(300),
        point: 180.5,
        upper: 240.0,
    });
    r.ready = Some(ConditionState::new(
        ConditionStatus::True,
        "Forecasting",
        "model fitted on 2016 steps",
    ));
    r
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"))
}

#[test]
fn status_patch_carries_generation_decision_forecast_and_conditions() {
    let api = setup();
    api.set_scaler_spec("shop", "api", {
        let mut s = spec("api-server");
        s["mode"] = json!("act");
        s
    });
    let mut src = source(&api, ScalerScope::Namespace("shop".into()));
    let entries = src.list().unwrap();
    let entry = &entries[0];
    assert_eq!(entry.key(), "shop/api");
    assert_eq!(entry.generation, Some(2));
    api.clear_log();
    src.report(entry, &report_at(1_700_000_000_000)).unwrap();

    let patches = api.patches();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(
        patches[0].path,
        "/apis/prescale.io/v1alpha1/namespaces/shop/predictivescalers/api/status"
    );
    assert_eq!(
        patches[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert!(
        patches[0].query.contains("fieldManager=prescale"),
        "{}",
        patches[0].query
    );
    let body: Value = serde_json::from_str(&patches[0].body).unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["status"]
    );

    let stored = api.scaler("shop", "api").unwrap();
    assert_eq!(
        stored["metadata"]["generation"], 2,
        "status patches keep the generation"
    );
    let status = &stored["status"];
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(
        status["lastDecision"],
        "forecast upper 240 rps at +5m needs 5 replicas"
    );
    assert_eq!(status["lastDecisionTime"], "2023-11-14T22:13:20Z");
    assert_eq!(status["lastDecisionMode"], "act");
    assert_eq!(status["previousReplicas"], 3);
    assert_eq!(status["desiredReplicas"], 5);
    assert_eq!(status["desiredCpu"], "750m");
    assert!(status.get("desiredMemory").is_none(), "{status}");
    assert_eq!(status["forecastPoint"], 180.5);
    assert_eq!(status["forecastUpper"], 240.0);
    assert_eq!(status["forecastLead"], "5m");
    let ready = condition(status, "Ready");
    assert_eq!(ready["status"], "True");
    assert_eq!(ready["reason"], "Forecasting");
    assert_eq!(ready["lastTransitionTime"], "2023-11-14T22:13:20Z");
    assert_eq!(condition(status, "SpecValid")["status"], "True");
    let acting = condition(status, "Acting");
    assert_eq!(
        (&acting["status"], &acting["reason"]),
        (&json!("True"), &json!("Acting"))
    );

    // The next report, an hour later and with unchanged condition statuses, keeps the transition
    // times it read back from the list; a report without a decision leaves the last one in place.
    let entries = src.list().unwrap();
    let mut later = ScalerReport::new(Timestamp(1_700_003_600_000));
    later.ready = Some(ConditionState::new(
        ConditionStatus::True,
        "Forecasting",
        "ok",
    ));
    later.acting = Some(ConditionState::new(ConditionStatus::True, "Acting", "ok"));
    src.report(&entries[0], &later).unwrap();
    let status = &api.scaler("shop", "api").unwrap()["status"];
    assert_eq!(
        condition(status, "Ready")["lastTransitionTime"],
        "2023-11-14T22:13:20Z"
    );
    assert_eq!(condition(status, "Ready")["message"], "ok");
    assert_eq!(status["desiredReplicas"], 5);
}

#[test]
fn invalid_spec_reports_spec_valid_false_with_the_problems() {
    let api = setup();
    let mut src = source(&api, ScalerScope::Namespace("batch".into()));
    let entries = src.list().unwrap();
    // The problems the daemon's workload validation found, reported back.
    let mut report = ScalerReport::new(Timestamp(1_700_000_000_000));
    report.problems = vec![
        prescale_kube::SpecProblem {
            path: "spec.minReplicas".into(),
            message: "10 is above maxReplicas 3".into(),
        },
        prescale_kube::SpecProblem {
            path: "spec.step".into(),
            message: "\"every minute\" is not a duration".into(),
        },
    ];
    src.report(&entries[0], &report).unwrap();
    let status = &api.scaler("batch", "etl").unwrap()["status"];
    assert_eq!(status["observedGeneration"], 1);
    let valid = condition(status, "SpecValid");
    assert_eq!(valid["status"], "False");
    assert_eq!(valid["reason"], "InvalidSpec");
    let message = valid["message"].as_str().unwrap();
    assert!(
        message.contains("spec.minReplicas: 10 is above maxReplicas 3")
            && message.contains("spec.step: \"every minute\""),
        "{message}"
    );
    assert_eq!(condition(status, "Ready")["status"], "False");
    assert_eq!(condition(status, "Acting")["status"], "False");
    assert!(status.get("lastDecision").is_none());
}

#[test]
fn deleted_scalers_disappear_and_reporting_them_is_a_permanent_404() {
    let api = setup();
    let mut src = source(&api, ScalerScope::AllNamespaces);
    let entries = src.list().unwrap();
    assert!(api.remove_scaler("shop", "web"));
    assert_eq!(keys(&src.list().unwrap()), ["batch/etl", "shop/api"]);
    let web = entries.iter().find(|e| e.key() == "shop/web").unwrap();
    let err = src
        .report(web, &ScalerReport::new(Timestamp(0)))
        .unwrap_err();
    assert_eq!(err.status_code(), Some(404), "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("\"web\" not found"), "{err}");
}

#[test]
fn server_errors_on_list_are_retryable() {
    let api = setup();
    let mut src = source(&api, ScalerScope::AllNamespaces);
    api.fail_next(1, 503);
    let err = src.list().unwrap_err();
    assert_eq!(err.status_code(), Some(503), "{err}");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("list PredictiveScalers"), "{err}");
    // The next attempt succeeds.
    assert_eq!(src.list().unwrap().len(), 3);
    api.fail_next(1, 403);
    assert!(!src.list().unwrap_err().is_retryable());
}

#[test]
fn the_fake_rejects_status_patches_in_other_content_types() {
    // The fake's own contract, so a client sending the wrong patch type would be caught.
    let api = setup();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
        let client = kube::Client::try_from(api.config()).unwrap();
        let ar = ApiResource::erase::<prescale_kube::PredictiveScaler>(&());
        let scalers: Api<DynamicObject> = Api::namespaced_with(client, "shop", &ar);
        let body = json!({"status": {"desiredReplicas": 4}});
        let err = scalers
            .patch_status("web", &PatchParams::default(), &Patch::Strategic(&body))
            .await
            .unwrap_err();
        assert!(
            matches!(err, kube::Error::Api(ref s) if s.code == 415),
            "{err}"
        );
        let one = scalers.get("web").await.unwrap();
        assert!(one.data.get("status").is_none());
        scalers
            .patch_status("web", &PatchParams::default(), &Patch::Merge(&body))
            .await
            .unwrap();
    });
    assert_eq!(
        api.scaler("shop", "web").unwrap()["status"]["desiredReplicas"],
        4
    );
}

#[test]
fn connection_refused_is_retryable() {
    let url = format!("http://127.0.0.1:{}", {
        // A port nothing listens on: bind, read the port, drop the listener.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    let mut src = ScalerSource::new(
        kube::Config::new(url.parse().unwrap()),
        KubeOptions::default(),
        ScalerScope::AllNamespaces,
    )
    .unwrap();
    let err = src.list().unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

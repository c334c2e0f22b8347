//! `deploy/crd.yaml` must equal the CRD generated from `PredictiveScaler`; regenerate with
//! `PRESCALE_UPDATE_CRD=1 cargo test -p prescale-kube --test crd_yaml`. Also checks the example resource.

use std::path::{Path, PathBuf};

use kube::CustomResourceExt;
use prescale_kube::{PredictiveScaler, ScalerMode, WorkloadKind};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn generated() -> String {
    let crd = PredictiveScaler::crd();
    format!(
        "# Generated from prescale_kube::PredictiveScaler; do not edit.\n# Regenerate: PRESCALE_UPDATE_CRD=1 cargo test -p prescale-kube --test crd_yaml\n{}",
        serde_yaml::to_string(&crd).unwrap()
    )
}

#[test]
fn committed_crd_is_up_to_date() {
    let path = deploy_dir().join("crd.yaml");
    let want = generated();
    if std::env::var("PRESCALE_UPDATE_CRD").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale or missing; regenerate with PRESCALE_UPDATE_CRD=1 cargo test -p prescale-kube --test crd_yaml",
        path.display()
    );
}

#[test]
fn example_scaler_parses_and_validates() {
    let text = std::fs::read_to_string(deploy_dir().join("example-predictivescaler.yaml")).unwrap();
    let scaler: PredictiveScaler = serde_yaml::from_str(&text).unwrap();
    assert!(
        scaler.spec.validate().is_empty(),
        "{:?}",
        scaler.spec.validate()
    );
    assert_eq!(scaler.spec.target_ref.kind, WorkloadKind::Deployment);
    assert_eq!(scaler.spec.mode, ScalerMode::ForecastOnly);
    assert_eq!(scaler.metadata.namespace.as_deref(), Some("shop"));
    let settings = prescale_kube::ScalerSettings::from_spec("shop", &scaler.spec).unwrap();
    let r = settings.resources.expect("the example sizes resources");
    let cpu = r.cpu.unwrap();
    assert_eq!((cpu.min, cpu.max), (Some(0.1), Some(4.0)));
    assert_eq!(r.memory.unwrap().max, Some(8.0 * 1024.0 * 1024.0 * 1024.0));
    assert_eq!(r.stabilization, Some(std::time::Duration::from_secs(600)));
}

#[test]
fn rbac_grants_what_the_actuator_uses() {
    let text = std::fs::read_to_string(deploy_dir().join("rbac.yaml")).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let role = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("a ClusterRole");
    let grants = |resource: &str, verb: &str| {
        role["rules"].as_sequence().unwrap().iter().any(|r| {
            let has = |field: &str, v: &str| {
                r[field]
                    .as_sequence()
                    .is_some_and(|s| s.iter().any(|x| x.as_str() == Some(v)))
            };
            has("resources", resource) && has("verbs", verb)
        })
    };
    for (res, verb) in [
        ("deployments/scale", "patch"),
        ("statefulsets/scale", "patch"),
        ("deployments/scale", "get"),
        ("deployments", "patch"),
        ("statefulsets", "patch"),
        ("deployments", "get"),
        ("pods", "list"),
        ("pods/resize", "patch"),
        ("predictivescalers", "watch"),
        ("predictivescalers/status", "update"),
    ] {
        assert!(grants(res, verb), "ClusterRole must grant {verb} on {res}");
    }
    assert!(docs.iter().any(|d| d["kind"] == "ServiceAccount"));
    assert!(docs.iter().any(|d| d["kind"] == "ClusterRoleBinding"));
}

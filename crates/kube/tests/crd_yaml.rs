//! `deploy/crd.yaml` must equal the CRD generated from `PredictiveScaler`; regenerate with
//! `PRESCALE_UPDATE_CRD=1 cargo test -p prescale-kube --test crd_yaml`. Also checks the example resource
//! (the RBAC and every other manifest: `tests/manifests.rs`).

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
fn example_scaler_parses_and_its_resources_read() {
    let text = std::fs::read_to_string(deploy_dir().join("example-predictivescaler.yaml")).unwrap();
    let scaler: PredictiveScaler = serde_yaml::from_str(&text).unwrap();
    assert_eq!(scaler.spec.target_ref.kind, WorkloadKind::Deployment);
    assert_eq!(scaler.spec.mode, ScalerMode::ForecastOnly);
    assert_eq!(scaler.metadata.namespace.as_deref(), Some("shop"));
    // The spec's values as a whole are validated by the daemon's one workload validation (its
    // tests/example_scaler.rs validates this same file).
    let mut problems = Vec::new();
    let r = prescale_kube::ResourceSettings::parse(
        "spec.resources",
        scaler
            .spec
            .resources
            .as_ref()
            .expect("the example sizes resources"),
        &mut problems,
    );
    assert!(problems.is_empty(), "{problems:?}");
    let cpu = r.cpu.unwrap();
    assert_eq!((cpu.min, cpu.max), (Some(0.1), Some(4.0)));
    assert_eq!(r.memory.unwrap().max, Some(8.0 * 1024.0 * 1024.0 * 1024.0));
    assert_eq!(r.stabilization, Some(std::time::Duration::from_secs(600)));
}

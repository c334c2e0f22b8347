//! The shipped example `PredictiveScaler` (deploy/example-predictivescaler.yaml) passes the one
//! workload validation the daemon runs on every scaler, and says what the file says.

use prescale_control::Mode;
use prescale_daemon::config::{Origin, WorkloadConfig};
use prescale_kube::PredictiveScaler;

#[test]
fn the_example_scaler_validates_as_a_workload() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/example-predictivescaler.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let scaler: PredictiveScaler = serde_yaml::from_str(&text).unwrap();
    let ns = scaler.metadata.namespace.clone().unwrap();
    let config = WorkloadConfig::from_scaler(&ns, &scaler.spec, &Default::default()).unwrap();
    let registry = prescale_daemon::config::KubernetesConfig::default().registry();
    let w = config
        .validate(Origin::Scaler, Mode::ForecastOnly, &registry)
        .unwrap_or_else(|p| panic!("{}: {p:?}", path.display()));
    assert_eq!(w.spec.workload.as_str(), "shop/web");
    assert_eq!(w.spec.mode, Mode::ForecastOnly);
    let r = w.spec.resources.expect("the example sizes resources");
    assert!(r.cpu.is_some() && r.memory.is_some());
}

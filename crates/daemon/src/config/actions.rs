//! A workload's orchestration settings beside its sizing: `[workload.warmup]` (a webhook or exec
//! target fired ahead of a predicted surge), read into the controller's spec and the target the
//! daemon fires, with problems named by path.

use super::validate::{Check, MILLI};
use prescale_actuate::{ActuatorConfig, Registry};
use prescale_control::warmup::WarmupSpec;
use serde::Deserialize;

/// `[workload.warmup]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmupConfig {
    /// How long before the predicted surge starts the action fires, e.g. `"5m"`.
    pub before: String,
    /// The predicted rise over the current level that makes a surge, in percent (e.g. 50).
    pub rise_percent: f64,
    /// What is fired: `{ type = "webhook", url = ... }` or `{ type = "exec", program = ... }`,
    /// sent the decision (its reason names the surge) as an actuator is.
    pub action: ActuatorConfig,
}

/// The warm-up spec and target of `f`, problems reported under `path` (`workload[i].warmup`);
/// `None` when it cannot be used.
pub(super) fn warmup(
    c: &mut Check,
    path: &str,
    registry: &Registry,
    f: WarmupConfig,
) -> Option<(WarmupSpec, ActuatorConfig)> {
    let before = c.duration(
        &format!("{path}.before"),
        Some(&f.before),
        std::time::Duration::ZERO,
        MILLI,
    );
    if !(f.rise_percent.is_finite() && f.rise_percent > 0.0) {
        c.fail(
            format!("{path}.rise_percent"),
            format!("{}: must be a positive, finite percentage", f.rise_percent),
        );
    }
    match &f.action {
        ActuatorConfig::Webhook(_) | ActuatorConfig::Exec(_) => {
            if let Err(problems) = registry.check(&f.action, &format!("{path}.action")) {
                for p in problems {
                    c.fail(p.path, p.message);
                }
            }
        }
        other => c.fail(
            format!("{path}.action.type"),
            format!(
                "{:?}: a warm-up fires a \"webhook\" or an \"exec\" target",
                other.type_name()
            ),
        ),
    }
    let spec = WarmupSpec {
        before,
        rise: f.rise_percent / 100.0,
    };
    (!c.failed_under(path)).then_some((spec, f.action))
}

#[cfg(test)]
mod tests {
    use super::super::workload::{Origin, WorkloadConfig};
    use prescale_control::Mode;

    const BASE: &str = r#"
workload = "shop/api"
metric = "rps"
capacity_per_replica = 50.0
"#;

    fn registry() -> prescale_actuate::Registry {
        super::super::KubernetesConfig::default().registry()
    }

    #[test]
    fn a_warmup_table_reaches_the_spec_and_its_target() {
        let text = format!(
            "{BASE}[warmup]\nbefore = \"5m\"\nrise_percent = 40\n\
             action = {{ type = \"webhook\", url = \"http://127.0.0.1:9/warm\", secret = \"s3cret-s3cret-s3cret\" }}\n"
        );
        let w: WorkloadConfig = toml::from_str(&text).unwrap();
        let c = w
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let spec = c.spec.warmup.unwrap();
        assert_eq!(spec.before, std::time::Duration::from_secs(300));
        assert!((spec.rise - 0.4).abs() < 1e-12);
        assert!(matches!(
            c.warmup,
            Some(prescale_actuate::ActuatorConfig::Webhook(_))
        ));
    }

    #[test]
    fn bad_warmups_are_named() {
        let text = format!(
            "{BASE}[warmup]\nbefore = \"soon\"\nrise_percent = -5\n\
             action = {{ type = \"dry-run\" }}\n"
        );
        let w: WorkloadConfig = toml::from_str(&text).unwrap();
        let problems = w
            .validate(Origin::File(1), Mode::ForecastOnly, &registry())
            .unwrap_err();
        let all = format!("{problems:?}");
        for want in [
            "workload[1].warmup.before",
            "workload[1].warmup.rise_percent",
            "workload[1].warmup.action.type",
        ] {
            assert!(all.contains(want), "{want} not in {all}");
        }
    }
}

//! A workload's orchestration settings beside its sizing: `[workload.warmup]` (a webhook or exec
//! target fired ahead of a predicted surge), `[workload.stages]` (large changes in stages behind a
//! health gate) and `depends_on` (upstreams whose predicted rise it follows; the graph over all
//! workloads is checked once by [`graph`]), read into the controller's spec (and the target the
//! daemon fires), with problems named by path.

use super::validate::{Check, MILLI};
use super::workload::Origin;
use prescale_actuate::{ActuatorConfig, Registry};
use prescale_control::stages::{HealthGate, StageSpec};
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

/// The warm-up spec and target of `f`, problems reported at `origin`'s paths
/// (`workload[i].warmup.before`, `spec.warmup.risePercent`);
/// `None` when it cannot be used.
pub(super) fn warmup(
    c: &mut Check,
    origin: Origin,
    registry: &Registry,
    f: WarmupConfig,
) -> Option<(WarmupSpec, ActuatorConfig)> {
    let path = &origin.at("warmup");
    let before = c.duration(
        &origin.at("warmup.before"),
        Some(&f.before),
        std::time::Duration::ZERO,
        MILLI,
    );
    if !(f.rise_percent.is_finite() && f.rise_percent > 0.0) {
        c.fail(
            origin.at("warmup.rise_percent"),
            format!("{}: must be a positive, finite percentage", f.rise_percent),
        );
    }
    match &f.action {
        ActuatorConfig::Webhook(_) | ActuatorConfig::Exec(_) => {
            if let Err(problems) = registry.check(&f.action, &origin.at("warmup.action")) {
                for p in problems {
                    c.fail(p.path, p.message);
                }
            }
        }
        other => c.fail(
            origin.at("warmup.action.type"),
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

/// `depends_on` as workload ids, each bad one reported at `path[j]`.
pub(super) fn depends_on(
    c: &mut Check,
    path: &str,
    names: Option<Vec<String>>,
) -> Vec<prescale_core::WorkloadId> {
    names
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(j, n)| {
            prescale_core::WorkloadId::new(n)
                .map_err(|e| c.fail(format!("{path}[{j}]"), e.to_string()))
                .ok()
        })
        .collect()
}

/// The one check of the workload graph: every `depends_on` names a configured workload, none
/// itself, and there is no cycle; `roots[i]` is where `workloads[i]` was written (`workload[2]`).
pub(super) fn graph(c: &mut Check, workloads: &[super::ControlledWorkload], roots: &[String]) {
    let declared: Vec<(String, Vec<String>)> = workloads
        .iter()
        .map(|w| {
            (
                w.spec.workload.to_string(),
                w.depends_on.iter().map(|d| d.to_string()).collect(),
            )
        })
        .collect();
    let root = |i: usize| roots.get(i).cloned().unwrap_or_else(|| "workload".into());
    let at = |name: &str| declared.iter().position(|(w, _)| w == name);
    use prescale_control::graph::{GraphError, WorkloadGraph};
    if let Err(e) = WorkloadGraph::new(&declared) {
        let (name, suffix) = match &e {
            GraphError::Unknown {
                workload, index, ..
            } => (workload.as_str(), format!(".depends_on[{index}]")),
            GraphError::SelfLoop { workload } => (workload.as_str(), ".depends_on".into()),
            GraphError::Cycle { cycle } => (
                cycle.first().map_or("", String::as_str),
                ".depends_on".into(),
            ),
        };
        let i = at(name).unwrap_or(0);
        c.fail(format!("{}{suffix}", root(i)), e.to_string());
    }
}

/// `[workload.stages]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesConfig {
    /// Most replicas added or removed per stage.
    pub max_step: u32,
    /// Least time between stages, e.g. `"2m"`.
    pub interval: String,
    /// The health gate: `{ metric = "latency_p99_seconds", max = 0.3 }` (a series of the
    /// workload's and its ceiling).
    pub gate: GateConfig,
    /// Unhealthy checks in a row that roll the change back (default 2).
    pub pause_limit: Option<u32>,
}

/// `[workload.stages.gate]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub metric: String,
    pub max: f64,
}

/// The stage spec of `f`, problems reported at `origin`'s paths (`workload[i].stages.max_step`,
/// `spec.stages.maxStep`).
pub(super) fn stages(c: &mut Check, origin: Origin, f: StagesConfig) -> Option<StageSpec> {
    let path = &origin.at("stages");
    let interval = c.duration(
        &origin.at("stages.interval"),
        Some(&f.interval),
        std::time::Duration::ZERO,
        MILLI,
    );
    if f.max_step == 0 {
        c.fail(origin.at("stages.max_step"), "0: must be at least 1");
    }
    if f.pause_limit == Some(0) {
        c.fail(origin.at("stages.pause_limit"), "0: must be at least 1");
    }
    if !f.gate.max.is_finite() {
        c.fail(
            origin.at("stages.gate.max"),
            format!("{}: must be finite", f.gate.max),
        );
    }
    let metric = prescale_core::MetricName::new(f.gate.metric.clone())
        .map_err(|e| c.fail(origin.at("stages.gate.metric"), e.to_string()))
        .ok()?;
    (!c.failed_under(path)).then_some(StageSpec {
        max_step: f.max_step,
        interval,
        gate: HealthGate {
            metric,
            max: f.gate.max,
        },
        pause_limit: f.pause_limit.unwrap_or(2),
    })
}

#[cfg(test)]
mod tests {
    use super::super::workload::{Origin, WorkloadConfig};
    use prescale_control::Mode;

    use super::super::test_support::{registry, BASE};

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
    fn a_stages_table_reaches_the_spec_and_bad_ones_are_named() {
        let text = format!(
            "{BASE}[stages]\nmax_step = 4\ninterval = \"2m\"\n\
             gate = {{ metric = \"latency_p99_seconds\", max = 0.3 }}\n"
        );
        let w: WorkloadConfig = toml::from_str(&text).unwrap();
        let c = w
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let s = c.spec.stages.unwrap();
        assert_eq!((s.max_step, s.pause_limit), (4, 2));
        assert_eq!(s.interval, std::time::Duration::from_secs(120));
        assert_eq!(s.gate.metric.as_str(), "latency_p99_seconds");
        let bad = text
            .replace("max_step = 4", "max_step = 0\npause_limit = 0")
            .replace("\"2m\"", "\"often\"")
            .replace("max = 0.3", "max = nan");
        let w: WorkloadConfig = toml::from_str(&bad).unwrap();
        let all = format!(
            "{:?}",
            w.validate(Origin::File(3), Mode::ForecastOnly, &registry())
                .unwrap_err()
        );
        for want in [
            "workload[3].stages.max_step",
            "workload[3].stages.pause_limit",
            "workload[3].stages.interval",
            "workload[3].stages.gate.max",
        ] {
            assert!(all.contains(want), "{want} not in {all}");
        }
    }

    #[test]
    fn the_workload_graph_is_checked_once_naming_cycles_and_unknown_names() {
        let file = |deps: [&str; 3]| {
            let mut t = String::new();
            for (w, d) in ["front", "api", "db"].iter().zip(deps) {
                t.push_str(&format!(
                    "[[workload]]\nworkload = \"{w}\"\nmetric = \"rps\"\n\
                     capacity_per_replica = 10.0\ndepends_on = [{d}]\n"
                ));
            }
            t
        };
        let ok =
            crate::config::DaemonConfig::from_toml(&file(["", "\"front\"", "\"api\""])).unwrap();
        let db = &ok.control.workloads[2];
        assert_eq!(db.depends_on[0].as_str(), "api");
        let cycle =
            crate::config::DaemonConfig::from_toml(&file(["\"db\"", "\"front\"", "\"api\""]))
                .unwrap_err()
                .to_string();
        assert!(cycle.contains("workload[0].depends_on"), "{cycle}");
        assert!(
            cycle.contains("dependency cycle: front → api → db → front"),
            "{cycle}"
        );
        let unknown = crate::config::DaemonConfig::from_toml(&file(["", "\"frnot\"", "\"api\""]))
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("workload[1].depends_on[0]"), "{unknown}");
        assert!(unknown.contains("\"frnot\": no such workload"), "{unknown}");
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

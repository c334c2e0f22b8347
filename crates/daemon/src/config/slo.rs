//! `[workload.slo]`: the workload's service-level objective in its own terms (a latency or queue
//! series and its ceiling), checked once with the workload's paths.

use super::validate::Check;
use prescale_control::{SloKind, SloObjective};
use prescale_core::MetricName;
use serde::Deserialize;

/// `[workload.slo]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloConfig {
    /// The workload's own series, e.g. `latency_p99_seconds` or `queue_depth`.
    pub metric: String,
    /// The ceiling the series must stay at or under, in its unit.
    pub max: f64,
    /// `latency` (default) or `queue`.
    pub kind: Option<String>,
    /// The workload's replica count series (default: prescale's own decision log).
    pub replicas_metric: Option<String>,
}

/// The objective, or `None` with every problem recorded under `path`.
pub(super) fn slo(c: &mut Check, path: &str, f: SloConfig) -> Option<SloObjective> {
    let metric = MetricName::new(f.metric.clone())
        .map_err(|e| c.fail(format!("{path}.metric"), e.to_string()))
        .ok();
    let kind = match f.kind.as_deref().map(str::trim) {
        None | Some("latency") => Some(SloKind::Latency),
        Some("queue") => Some(SloKind::Queue),
        Some(other) => {
            c.fail(
                format!("{path}.kind"),
                format!("{other:?} is not one of \"latency\", \"queue\""),
            );
            None
        }
    };
    let replicas_metric = match f.replicas_metric {
        Some(m) => match MetricName::new(m) {
            Ok(m) => Some(Some(m)),
            Err(e) => {
                c.fail(format!("{path}.replicas_metric"), e.to_string());
                None
            }
        },
        None => Some(None),
    };
    let objective = SloObjective {
        metric: metric?,
        max: f.max,
        kind: kind?,
        replicas_metric: replicas_metric?,
    };
    if let Some((field, value, reason)) = objective.problem() {
        let field = field.trim_start_matches("slo.");
        c.fail(format!("{path}.{field}"), format!("{value}: {reason}"));
        return None;
    }
    Some(objective)
}

#[cfg(test)]
mod tests {
    use super::super::workload::{Origin, WorkloadConfig};
    use prescale_control::{Mode, SloKind};

    use super::super::test_support::{registry, BASE};

    #[test]
    fn an_slo_table_reaches_the_spec() {
        let text = format!(
            "{BASE}[slo]\nmetric = \"latency_p99_seconds\"\nmax = 0.3\nreplicas_metric = \"replicas\"\n"
        );
        let w: WorkloadConfig = toml::from_str(&text).unwrap();
        let c = w
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let slo = c.spec.slo.unwrap();
        assert_eq!(slo.metric.as_str(), "latency_p99_seconds");
        assert_eq!((slo.max, slo.kind), (0.3, SloKind::Latency));
        assert_eq!(slo.replicas_metric.unwrap().as_str(), "replicas");
    }

    #[test]
    fn bad_slos_are_named() {
        let text = format!("{BASE}[slo]\nmetric = \"\"\nmax = -1.0\nkind = \"speed\"\n");
        let w: WorkloadConfig = toml::from_str(&text).unwrap();
        let all = format!(
            "{:?}",
            w.validate(Origin::File(2), Mode::ForecastOnly, &registry())
                .unwrap_err()
        );
        for want in ["workload[2].slo.metric", "workload[2].slo.kind"] {
            assert!(all.contains(want), "{want} not in {all}");
        }
        let text = format!("{BASE}[slo]\nmetric = \"queue_depth\"\nmax = nan\nkind = \"queue\"\n");
        let w: WorkloadConfig = toml::from_str(&text).unwrap();
        let all = format!(
            "{:?}",
            w.validate(Origin::File(0), Mode::ForecastOnly, &registry())
                .unwrap_err()
        );
        assert!(all.contains("workload[0].slo.max"), "{all}");
    }
}

//! A `PredictiveScaler` spec turned into plain settings for the control loop: names, bounds and `Duration`s.

use std::time::Duration;

use prescale_core::time::{parse_duration, Interval};
use prescale_core::{MetricName, WorkloadId};

use crate::crd::{PredictiveScalerSpec, ScalerMode, ScalerResource, ScalerResources, SpecProblem};
use crate::quantity::{parse_cpu_millis, parse_memory_bytes};
use crate::target::KubeTarget;

/// Decision step when the spec names none.
pub const DEFAULT_STEP: Duration = Duration::from_secs(60);
/// Policy when the spec names none.
pub const DEFAULT_POLICY: &str = "predictive";

/// One more demand metric (the replica count is the maximum over all of them).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSetting {
    pub metric: MetricName,
    pub capacity_per_replica: f64,
}

/// One sized resource of `spec.resources`, parsed: bounds in cores (CPU) or bytes (memory);
/// `None` leaves the control loop's default.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceBound {
    pub metric: MetricName,
    /// `scale`, or 1.
    pub scale: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A `resources` table (`spec.resources`, or the daemon config's `[workload.resources]`), parsed;
/// ranges are checked by the control loop's own spec validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceSettings {
    pub cpu: Option<ResourceBound>,
    pub memory: Option<ResourceBound>,
    pub headroom: Option<f64>,
    pub tolerance: Option<f64>,
    pub stabilization: Option<Duration>,
}

/// What the control loop needs from a valid `PredictiveScaler`, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerSettings {
    /// See [`workload_id`] for the rule.
    pub workload: WorkloadId,
    /// The object the actuator scales.
    pub target: KubeTarget,
    /// The first metric of `spec.metrics`.
    pub metric: MetricName,
    /// Demand one replica serves, in `metric`'s unit (> 0, finite).
    pub capacity_per_replica: f64,
    /// `spec.metrics[1..]`, in order (empty for the usual single-metric scaler).
    pub more_metrics: Vec<MetricSetting>,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// `spec.leadTime` (default 5m, from the CRD).
    pub lead: Duration,
    /// `spec.step`, or [`DEFAULT_STEP`].
    pub step: Duration,
    /// `spec.season`, when given (at least two steps).
    pub season: Option<Duration>,
    /// `spec.violationBudget` (strictly between 0 and 1; default 0.01).
    pub budget: f64,
    /// `spec.policy` (trimmed), or [`DEFAULT_POLICY`]; parsed by the control loop.
    pub policy: String,
    pub mode: ScalerMode,
    /// `spec.like` (trimmed; none when blank); parsed by the control loop.
    pub like: Option<String>,
    /// `spec.resources`, when given.
    pub resources: Option<ResourceSettings>,
    /// `spec.predictors`, as written; checked by the control loop.
    pub predictors: Vec<crate::crd::ScalerPredictor>,
    /// `spec.events`, as written; checked by the control loop.
    pub events: Vec<crate::crd::ScalerEvent>,
}

/// The prescale workload id a scaler configures: `spec.workload` when given, otherwise
/// `{namespace}/{spec.targetRef.name}` — the same id the telemetry mapping's `{namespace}/{deployment}`
/// template produces, so the scaler finds the series of the workload it scales.
pub fn workload_id(
    namespace: &str,
    spec: &PredictiveScalerSpec,
) -> Result<WorkloadId, SpecProblem> {
    let (path, id) = match &spec.workload {
        Some(w) => ("spec.workload", w.clone()),
        None => (
            "spec.targetRef.name",
            format!("{namespace}/{}", spec.target_ref.name),
        ),
    };
    WorkloadId::new(id.as_str()).map_err(|e| SpecProblem {
        path: path.to_string(),
        message: format!("workload id {id:?} is invalid: {e}"),
    })
}

/// Adds `p` unless a problem at the same path is already listed.
fn push_unique(problems: &mut Vec<SpecProblem>, p: SpecProblem) {
    if !problems.iter().any(|q| q.path == p.path) {
        problems.push(p);
    }
}

fn interval_to_duration(i: Interval) -> Duration {
    Duration::from_millis(u64::try_from(i.millis()).unwrap_or(0))
}

fn duration_of(path: &str, text: &str, problems: &mut Vec<SpecProblem>) -> Option<Duration> {
    let d = parse_duration(text).map(interval_to_duration);
    if d.is_none() {
        problems.push(SpecProblem {
            path: path.to_string(),
            message: format!("{text:?} is not a duration like 90s or 5m"),
        });
    }
    d
}

/// Parses one `spec.resources.<cpu|memory>` entry at `path`; `cpu` selects the quantity kind.
fn resource_bound(
    path: &str,
    r: &ScalerResource,
    cpu: bool,
    problems: &mut Vec<SpecProblem>,
) -> Option<ResourceBound> {
    let mut ok = true;
    let mut quantity = |field: &str, text: &Option<String>| -> Option<f64> {
        let text = text.as_deref()?;
        let parsed = if cpu {
            parse_cpu_millis(text).map(|m| m as f64 / 1000.0)
        } else {
            parse_memory_bytes(text).map(|b| b as f64)
        };
        parsed
            .map_err(|e| {
                ok = false;
                problems.push(SpecProblem {
                    path: format!("{path}.{field}"),
                    message: e.to_string(),
                })
            })
            .ok()
    };
    let min = quantity("min", &r.min);
    let max = quantity("max", &r.max);
    let metric = MetricName::new(r.metric.as_str())
        .map_err(|e| {
            problems.push(SpecProblem {
                path: format!("{path}.metric"),
                message: e.to_string(),
            })
        })
        .ok();
    let metric = metric.filter(|_| ok)?;
    Some(ResourceBound {
        metric,
        scale: r.scale.unwrap_or(1.0),
        min,
        max,
    })
}

impl ResourceSettings {
    /// Parses a `resources` table found at `path` (e.g. `spec.resources`); each problem is added
    /// to `problems` with its path.
    pub fn parse(path: &str, r: &ScalerResources, problems: &mut Vec<SpecProblem>) -> Self {
        let cpu = r
            .cpu
            .as_ref()
            .and_then(|c| resource_bound(&format!("{path}.cpu"), c, true, problems));
        let memory = r
            .memory
            .as_ref()
            .and_then(|m| resource_bound(&format!("{path}.memory"), m, false, problems));
        let stabilization = r
            .stabilization
            .as_deref()
            .and_then(|s| duration_of(&format!("{path}.stabilization"), s, problems));
        ResourceSettings {
            cpu,
            memory,
            headroom: r.headroom,
            tolerance: r.tolerance,
            stabilization,
        }
    }
}

impl ScalerSettings {
    /// Converts a spec (of a scaler in `namespace`) into settings; every problem when it is invalid
    /// (the spec's own [`validate`](PredictiveScalerSpec::validate) problems plus the workload id's).
    pub fn from_spec(
        namespace: &str,
        spec: &PredictiveScalerSpec,
    ) -> Result<ScalerSettings, Vec<SpecProblem>> {
        let mut problems = spec.validate();
        let workload = workload_id(namespace, spec)
            .map_err(|p| push_unique(&mut problems, p))
            .ok();
        let mut metrics = Vec::with_capacity(spec.metrics.len());
        for (i, m) in spec.metrics.iter().enumerate() {
            match MetricName::new(m.name.as_str()) {
                Ok(metric) => metrics.push(MetricSetting {
                    metric,
                    capacity_per_replica: m.capacity_per_replica,
                }),
                Err(e) => push_unique(
                    &mut problems,
                    SpecProblem {
                        path: format!("spec.metrics[{i}].name"),
                        message: e.to_string(),
                    },
                ),
            }
        }
        // Durations are parsed again here (validate only checks them) so no value is assumed.
        let mut own = Vec::new();
        let lead = duration_of("spec.leadTime", &spec.lead_time, &mut own);
        let step = match &spec.step {
            Some(s) => duration_of("spec.step", s, &mut own),
            None => Some(DEFAULT_STEP),
        };
        let season = match &spec.season {
            Some(s) => duration_of("spec.season", s, &mut own).map(Some),
            None => Some(None),
        };
        let resources = spec
            .resources
            .as_ref()
            .map(|r| ResourceSettings::parse("spec.resources", r, &mut own));
        for p in own {
            push_unique(&mut problems, p);
        }
        let (Some(workload), Some(lead), Some(step), Some(season), true) =
            (workload, lead, step, season, problems.is_empty())
        else {
            return Err(problems);
        };
        let mut metrics = metrics.into_iter();
        let Some(first) = metrics.next() else {
            return Err(vec![SpecProblem {
                path: "spec.metrics".into(),
                message: "at least one metric is required".into(),
            }]);
        };
        Ok(ScalerSettings {
            workload,
            target: spec.target(namespace),
            metric: first.metric,
            capacity_per_replica: first.capacity_per_replica,
            more_metrics: metrics.collect(),
            min_replicas: spec.min_replicas,
            max_replicas: spec.max_replicas,
            lead,
            step,
            season,
            budget: spec.violation_budget,
            policy: spec
                .policy
                .as_deref()
                .map_or(DEFAULT_POLICY, str::trim)
                .to_string(),
            mode: spec.mode,
            like: spec
                .like
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
            resources,
            predictors: spec.predictors.clone(),
            events: spec.events.clone(),
        })
    }
}

/// A compact duration for the status (`5m`, `90s`, `1h`, `1d`, `250ms`), the form `parse_duration` reads.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 || !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    for (unit, secs) in [("d", 86_400u128), ("h", 3_600), ("m", 60)] {
        if s.is_multiple_of(secs) {
            return format!("{}{unit}", s / secs);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: serde_json::Value) -> PredictiveScalerSpec {
        let mut v = serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web", "container": "app"},
            "metrics": [{"name": "rps", "capacityPerReplica": 50.0}],
            "minReplicas": 2, "maxReplicas": 20
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_are_filled_in() {
        let s = ScalerSettings::from_spec("shop", &spec(serde_json::json!({}))).unwrap();
        assert_eq!(s.workload.as_str(), "shop/web");
        assert_eq!(s.target.to_string(), "Deployment/shop/web:app");
        assert_eq!(s.metric.as_str(), "rps");
        assert_eq!(s.capacity_per_replica, 50.0);
        assert!(s.more_metrics.is_empty());
        assert_eq!((s.min_replicas, s.max_replicas), (2, 20));
        assert_eq!(s.lead, Duration::from_secs(300));
        assert_eq!(s.step, Duration::from_secs(60));
        assert_eq!(s.season, None);
        assert_eq!(s.budget, 0.01);
        assert_eq!(s.policy, "predictive");
        assert_eq!(s.mode, ScalerMode::ForecastOnly);
        assert_eq!(s.like, None);
        assert_eq!(s.resources, None);
    }

    #[test]
    fn predictors_and_events_are_carried_as_written() {
        let s = ScalerSettings::from_spec(
            "shop",
            &spec(serde_json::json!({
                "predictors": [{"workload": "shop/gateway"}, {"workload": "db", "metric": "qps"}],
                "events": [{"at": "2025-11-28T00:00:00Z", "kind": "campaign"}]
            })),
        )
        .unwrap();
        assert_eq!(s.predictors.len(), 2);
        assert_eq!(s.predictors[1].metric.as_deref(), Some("qps"));
        assert_eq!(s.events[0].kind, "campaign");
        assert_eq!(s.events[0].until, None);
        let none = ScalerSettings::from_spec("shop", &spec(serde_json::json!({}))).unwrap();
        assert!(none.predictors.is_empty() && none.events.is_empty());
    }

    #[test]
    fn resource_problems_are_named_by_path() {
        let bad = spec(serde_json::json!({"resources": {
            "cpu": {"metric": "cpu_cores", "min": "lots"},
            "memory": {"metric": "", "max": "8Gi"},
            "stabilization": "later"
        }}));
        let paths: Vec<String> = ScalerSettings::from_spec("shop", &bad)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect();
        for want in [
            "spec.resources.cpu.min",
            "spec.resources.memory.metric",
            "spec.resources.stabilization",
        ] {
            assert!(paths.iter().any(|p| p == want), "{want} not in {paths:?}");
        }
        let good = spec(serde_json::json!({"resources": {
            "memory": {"metric": "rss_bytes", "scale": 1024.0, "min": "64Mi"}, "tolerance": 0.2
        }}));
        let r = ScalerSettings::from_spec("shop", &good)
            .unwrap()
            .resources
            .unwrap();
        let m = r.memory.unwrap();
        assert_eq!((m.metric.as_str(), m.scale), ("rss_bytes", 1024.0));
        assert_eq!((m.min, m.max), (Some(64.0 * 1024.0 * 1024.0), None));
        assert_eq!((r.cpu, r.tolerance), (None, Some(0.2)));
    }

    #[test]
    fn given_values_are_converted() {
        let s = ScalerSettings::from_spec(
            "shop",
            &spec(serde_json::json!({
                "leadTime": "90s", "step": "30s", "season": "1d", "violationBudget": 0.05,
                "policy": " hpa@0.6 ", "mode": "act", "workload": "web-prod", "like": " team=shop ",
                "metrics": [{"name": "rps", "capacityPerReplica": 50.0},
                            {"name": "cpu", "capacityPerReplica": 0.8}]
            })),
        )
        .unwrap();
        assert_eq!(s.workload.as_str(), "web-prod");
        assert_eq!(s.lead, Duration::from_secs(90));
        assert_eq!(s.step, Duration::from_secs(30));
        assert_eq!(s.season, Some(Duration::from_secs(86_400)));
        assert_eq!(s.budget, 0.05);
        assert_eq!(s.policy, "hpa@0.6");
        assert_eq!(s.mode, ScalerMode::Act);
        assert_eq!(s.like.as_deref(), Some("team=shop"));
        assert_eq!(
            s.more_metrics,
            [MetricSetting {
                metric: MetricName::new("cpu").unwrap(),
                capacity_per_replica: 0.8
            }]
        );
        let ms = ScalerSettings::from_spec("shop", &spec(serde_json::json!({"leadTime": "250ms"})))
            .unwrap();
        assert_eq!(ms.lead, Duration::from_millis(250));
    }

    #[test]
    fn invalid_specs_list_every_problem() {
        let problems = ScalerSettings::from_spec(
            "shop",
            &spec(serde_json::json!({
                "step": "often", "season": "1m", "leadTime": "soon", "workload": "",
                "violationBudget": 0.0
            })),
        )
        .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.leadTime",
                "spec.violationBudget",
                "spec.workload",
                "spec.step"
            ],
            "{problems:?}"
        );
        // A season shorter than two steps is a problem of its own.
        let p = ScalerSettings::from_spec("shop", &spec(serde_json::json!({"season": "90s"})))
            .unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "spec.season");
    }

    #[test]
    fn workload_id_rule() {
        let s = spec(serde_json::json!({}));
        assert_eq!(workload_id("shop", &s).unwrap().as_str(), "shop/web");
        let named = spec(serde_json::json!({"workload": "checkout"}));
        assert_eq!(workload_id("shop", &named).unwrap().as_str(), "checkout");
        let long =
            spec(serde_json::json!({"targetRef": {"kind": "Deployment", "name": "x".repeat(300)}}));
        assert_eq!(
            workload_id("shop", &long).unwrap_err().path,
            "spec.targetRef.name"
        );
    }

    #[test]
    fn durations_format_compactly() {
        for (secs, text) in [
            (300, "5m"),
            (90, "90s"),
            (3600, "1h"),
            (86_400, "1d"),
            (5400, "90m"),
        ] {
            let d = Duration::from_secs(secs);
            assert_eq!(format_duration(d), text);
            assert_eq!(
                parse_duration(text).map(interval_to_duration),
                Some(d),
                "{text}"
            );
        }
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }
}

//! Pieces of a `PredictiveScaler` spec the daemon's one workload validation reads: the workload id
//! rule, the `resources` table parsed into bounds, and the status's compact durations. (The spec as a
//! whole becomes the daemon's typed workload config, validated there once.)

use std::time::Duration;

use prescale_core::time::{parse_duration, Interval};
use prescale_core::{MetricName, WorkloadId};

use crate::crd::{PredictiveScalerSpec, ScalerResource, ScalerResources, SpecProblem};
use crate::quantity::{parse_cpu_millis, parse_memory_bytes};

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
    fn resource_problems_are_named_by_path() {
        let table =
            |v: serde_json::Value| -> ScalerResources { serde_json::from_value(v).unwrap() };
        let mut problems = Vec::new();
        ResourceSettings::parse(
            "spec.resources",
            &table(serde_json::json!({
                "cpu": {"metric": "cpu_cores", "min": "lots"},
                "memory": {"metric": "", "max": "8Gi"},
                "stabilization": "later"
            })),
            &mut problems,
        );
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "spec.resources.cpu.min",
            "spec.resources.memory.metric",
            "spec.resources.stabilization",
        ] {
            assert!(paths.contains(&want), "{want} not in {paths:?}");
        }
        let mut problems = Vec::new();
        let r = ResourceSettings::parse(
            "spec.resources",
            &table(serde_json::json!({
                "memory": {"metric": "rss_bytes", "scale": 1024.0, "min": "64Mi"}, "tolerance": 0.2
            })),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let m = r.memory.unwrap();
        assert_eq!((m.metric.as_str(), m.scale), ("rss_bytes", 1024.0));
        assert_eq!((m.min, m.max), (Some(64.0 * 1024.0 * 1024.0), None));
        assert_eq!((r.cpu, r.tolerance), (None, Some(0.2)));
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

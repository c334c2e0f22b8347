//! Which stored metrics stand for CPU, memory and demand, and how to convert them to cores, bytes and
//! demand units. The first metric of a list that a workload has is the one used.

use prescale_core::MetricName;
use serde::{Deserialize, Serialize};

/// A stored metric and the factor that converts its values to the resource's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMetric {
    pub metric: MetricName,
    /// Multiplier to cores (CPU), bytes (memory) or demand units.
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

/// The metric-to-resource mapping, in order of preference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceMetrics {
    pub cpu: Vec<ResourceMetric>,
    pub memory: Vec<ResourceMetric>,
    /// What replicas serve (requests per second in the demo fleet).
    pub demand: Vec<ResourceMetric>,
    /// How many replicas serve (one is assumed for a workload without any of these).
    pub replicas: Vec<ResourceMetric>,
}

const MIB: f64 = 1024.0 * 1024.0;

impl Default for ResourceMetrics {
    /// The agent's `cpu_cores`, `cgroup_memory_bytes` and `rss_bytes`; the demo fleet's `cpu` (cores),
    /// `memory` (MiB) and `requests` (req/s).
    fn default() -> Self {
        let m = |name: &str, scale: f64| {
            MetricName::new(name)
                .ok()
                .map(|metric| ResourceMetric { metric, scale })
        };
        ResourceMetrics {
            cpu: [m("cpu_cores", 1.0), m("cpu", 1.0)]
                .into_iter()
                .flatten()
                .collect(),
            memory: [
                m("cgroup_memory_bytes", 1.0),
                m("rss_bytes", 1.0),
                m("memory", MIB),
            ]
            .into_iter()
            .flatten()
            .collect(),
            demand: [m("requests", 1.0)].into_iter().flatten().collect(),
            replicas: [m("replicas", 1.0)].into_iter().flatten().collect(),
        }
    }
}

impl ResourceMetrics {
    /// `cpu=cpu_cores,memory=rss_bytes,demand=requests,replicas=pods` style overrides (`metric*scale` sets a
    /// scale), each replacing that resource's list.
    pub fn with_overrides(mut self, spec: &str) -> Result<Self, crate::LearnError> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (res, rest) = part.split_once('=').ok_or_else(|| {
                crate::error::invalid("resource mapping", part, "expected resource=metric")
            })?;
            let (metric, scale) = match rest.split_once('*') {
                Some((m, s)) => (
                    m.trim(),
                    s.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0)
                        .ok_or_else(|| {
                            crate::error::invalid("resource scale", s, "must be a positive number")
                        })?,
                ),
                None => (rest.trim(), 1.0),
            };
            let entry = vec![ResourceMetric {
                metric: MetricName::new(metric)?,
                scale,
            }];
            match res.trim() {
                "cpu" => self.cpu = entry,
                "memory" => self.memory = entry,
                "demand" => self.demand = entry,
                "replicas" => self.replicas = entry,
                _ => {
                    return Err(crate::error::invalid(
                        "resource",
                        res,
                        "expected cpu, memory, demand or replicas",
                    ))
                }
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let d = ResourceMetrics::default();
        assert_eq!(d.cpu[0].metric.as_str(), "cpu_cores");
        assert_eq!(d.memory[2].scale, MIB);
        let o = d.with_overrides("memory=mem_kib*1024, demand=rps").unwrap();
        assert_eq!(o.memory.len(), 1);
        assert_eq!(
            (o.memory[0].metric.as_str(), o.memory[0].scale),
            ("mem_kib", 1024.0)
        );
        assert_eq!(o.demand[0].metric.as_str(), "rps");
        assert_eq!(o.replicas[0].metric.as_str(), "replicas");
        let o = o.with_overrides("replicas=pods").unwrap();
        assert_eq!(o.replicas[0].metric.as_str(), "pods");
        assert!(ResourceMetrics::default().with_overrides("disk=x").is_err());
        assert!(ResourceMetrics::default()
            .with_overrides("cpu=x*-1")
            .is_err());
    }
}

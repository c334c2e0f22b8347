//! What a workload's CPU and memory sizing is told (the "resource per unit" capacity model): which
//! series measure the workload's total use of each resource, per-replica bounds, headroom, the
//! change tolerance and the scale-down stabilization window, validated once.

use crate::heap::HeapRule;
use crate::ControlError;
use prescale_core::MetricName;
use prescale_policy::InstanceCatalogue;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Bytes in a MiB.
pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// A resource sized per replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// CPU, in cores.
    Cpu,
    /// Memory, in bytes.
    Memory,
}

impl ResourceKind {
    /// The unit requests and usage are expressed in.
    pub fn unit(self) -> &'static str {
        match self {
            ResourceKind::Cpu => "cores",
            ResourceKind::Memory => "bytes",
        }
    }

    /// The per-replica bounds when none are configured: 10m to 64 cores, 16 MiB to 256 GiB.
    pub fn default_bounds(self) -> (f64, f64) {
        match self {
            ResourceKind::Cpu => (0.01, 64.0),
            ResourceKind::Memory => (16.0 * MIB, 256.0 * 1024.0 * MIB),
        }
    }

    /// Rounds a per-replica request up to what an actuator sets: whole millicores, whole MiB.
    pub fn round_up(self, value: f64) -> f64 {
        let grain = match self {
            ResourceKind::Cpu => 0.001,
            ResourceKind::Memory => MIB,
        };
        ((value / grain) - 1e-9).ceil().max(0.0) * grain
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceKind::Cpu => "cpu",
            ResourceKind::Memory => "memory",
        })
    }
}

/// How one resource is measured and bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceTarget {
    /// The workload's total use of the resource (all replicas together), e.g. the agent's
    /// `cpu_cores` or `rss_bytes`.
    pub metric: MetricName,
    /// Multiplier from the metric's unit to cores (CPU) or bytes (memory); default 1.
    pub scale: f64,
    /// Smallest per-replica request, in cores or bytes.
    pub min: f64,
    /// Largest per-replica request, in cores or bytes.
    pub max: f64,
}

impl ResourceTarget {
    /// A target with scale 1.
    pub fn new(metric: MetricName, min: f64, max: f64) -> Self {
        ResourceTarget {
            metric,
            scale: 1.0,
            min,
            max,
        }
    }

    /// A target of `kind` whose unset bounds are the kind's [defaults](ResourceKind::default_bounds).
    pub fn with_defaults(
        kind: ResourceKind,
        metric: MetricName,
        scale: f64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Self {
        let (lo, hi) = kind.default_bounds();
        ResourceTarget {
            metric,
            scale,
            min: min.unwrap_or(lo),
            max: max.unwrap_or(hi),
        }
    }
}

/// Per-replica CPU and memory requests sized ahead of demand. Each resource's total use is
/// modelled as `base + per_unit × demand` (non-negative least squares over recent steps), evaluated
/// at the demand forecast's upper bound at the lead time; see [`crate::rightsize`].
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpec {
    pub cpu: Option<ResourceTarget>,
    pub memory: Option<ResourceTarget>,
    /// Share added on top of the predicted use (default 0.15).
    pub headroom: f64,
    /// A new request within this share of the current one is not set (default 0.1): every
    /// change of a pod template rolls the pods, so small changes are not worth one.
    pub tolerance: f64,
    /// A lower request is set only once every recommendation over this window was lower
    /// (default 10 min).
    pub stabilization: Duration,
    /// Steps the usage model is fitted on (default 360).
    pub fit_steps: usize,
    /// Instance types to choose from: with CPU and memory both sized, each decision also names
    /// the cheapest type one replica fits (default none).
    pub instance_types: Option<InstanceCatalogue>,
    /// How a Go or JVM heap estimate, when one is handed to the controller, sizes memory
    /// (see [`crate::heap`]).
    pub memory_runtime: HeapRule,
}

impl Default for ResourceSpec {
    /// No resource sized yet; the documented defaults for the rest.
    fn default() -> Self {
        ResourceSpec {
            cpu: None,
            memory: None,
            headroom: 0.15,
            tolerance: 0.1,
            stabilization: Duration::from_secs(600),
            fit_steps: 360,
            instance_types: None,
            memory_runtime: HeapRule::default(),
        }
    }
}

impl ResourceSpec {
    /// The sized resources with their targets, CPU first.
    pub fn targets(&self) -> impl Iterator<Item = (ResourceKind, &ResourceTarget)> {
        [
            (ResourceKind::Cpu, self.cpu.as_ref()),
            (ResourceKind::Memory, self.memory.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, t)| t.map(|t| (k, t)))
    }

    /// Checks every field of the spec of `workload`; the first problem is returned.
    pub fn validate(&self, workload: &str) -> Result<(), ControlError> {
        let bad = |field: &'static str, value: String, reason: &str| ControlError::Invalid {
            workload: workload.to_string(),
            field,
            value,
            reason: reason.to_string(),
        };
        if self.cpu.is_none() && self.memory.is_none() {
            return Err(bad(
                "resources",
                "{}".into(),
                "size at least one of cpu and memory",
            ));
        }
        for (kind, t) in self.targets() {
            let (scale, min, max) = match kind {
                ResourceKind::Cpu => (
                    "resources.cpu.scale",
                    "resources.cpu.min",
                    "resources.cpu.max",
                ),
                ResourceKind::Memory => (
                    "resources.memory.scale",
                    "resources.memory.min",
                    "resources.memory.max",
                ),
            };
            if !(t.scale.is_finite() && t.scale > 0.0) {
                return Err(bad(
                    scale,
                    t.scale.to_string(),
                    "must be positive and finite",
                ));
            }
            if !(t.min.is_finite() && t.min > 0.0) {
                return Err(bad(min, t.min.to_string(), "must be positive and finite"));
            }
            if !(t.max.is_finite() && t.max >= t.min) {
                return Err(bad(
                    max,
                    t.max.to_string(),
                    "must be finite and at least min",
                ));
            }
        }
        if !(self.headroom.is_finite() && (0.0..=10.0).contains(&self.headroom)) {
            return Err(bad(
                "resources.headroom",
                self.headroom.to_string(),
                "must lie in [0, 10]",
            ));
        }
        if !(self.tolerance.is_finite() && (0.0..1.0).contains(&self.tolerance)) {
            return Err(bad(
                "resources.tolerance",
                self.tolerance.to_string(),
                "must lie in [0, 1)",
            ));
        }
        if let Some(cat) = &self.instance_types {
            if let Err(e) = cat.validate() {
                return Err(bad(
                    "resources.instance_types",
                    String::new(),
                    &e.to_string(),
                ));
            }
            if self.cpu.is_none() || self.memory.is_none() {
                return Err(bad(
                    "resources.instance_types",
                    format!("{} types", cat.instances.len()),
                    "choosing an instance type needs both cpu and memory sized",
                ));
            }
        }
        if let Some((field, value, reason)) = self.memory_runtime.problem() {
            return Err(bad(field, value, reason));
        }
        if self.fit_steps < 2 {
            return Err(bad(
                "resources.fit_steps",
                self.fit_steps.to_string(),
                "must be at least 2",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> ResourceTarget {
        ResourceTarget::new(MetricName::new("cpu_cores").unwrap(), 0.05, 4.0)
    }

    #[test]
    fn validation_names_the_field() {
        let empty = ResourceSpec::default();
        assert!(empty
            .validate("w")
            .unwrap_err()
            .to_string()
            .contains("resources"));
        let ok = ResourceSpec {
            cpu: Some(cpu()),
            ..ResourceSpec::default()
        };
        assert_eq!(ok.validate("w"), Ok(()));
        let mut s = ok.clone();
        s.cpu.as_mut().unwrap().max = 0.01;
        assert!(s
            .validate("w")
            .unwrap_err()
            .to_string()
            .contains("resources.cpu.max"));
        let mut s = ok.clone();
        s.tolerance = 1.0;
        assert!(s
            .validate("w")
            .unwrap_err()
            .to_string()
            .contains("tolerance"));
        let mut s = ok;
        s.headroom = f64::NAN;
        assert!(s
            .validate("w")
            .unwrap_err()
            .to_string()
            .contains("headroom"));
    }

    #[test]
    fn rounding_is_up_to_the_grain() {
        assert_eq!(ResourceKind::Cpu.round_up(0.2501), 0.251);
        assert!((ResourceKind::Cpu.round_up(0.25) - 0.25).abs() < 1e-12);
        assert_eq!(ResourceKind::Memory.round_up(1.0), 1048576.0);
        assert_eq!(
            ResourceKind::Memory.round_up(2.0 * 1048576.0),
            2.0 * 1048576.0
        );
    }
}

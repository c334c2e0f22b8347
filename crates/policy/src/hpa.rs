//! The Kubernetes HPA (autoscaling/v2) algorithm on one resource metric.
//!
//! Modelled: metric = demand ÷ (capacity × ready); desired = ceil(ready × metric / target)
//! (= ceil(demand / (capacity × target))); no change while |metric/target − 1| ≤ tolerance (0.1);
//! scale-down stabilization = highest recommendation over the last 300 s (the current step and
//! `ceil(300 s / step)` steps before it, since the real controller re-evaluates every 15 s within a
//! step); scale-up limited to max(4 pods, 100 %) per 15 s and scale-down to 100 % per 15 s, the
//! periods compounding over one step; then min/max bounds.
//! Not modelled: unready-pod metric damping, missing metrics, the readiness delay of the metrics
//! pipeline, container-level metrics.

use crate::error::invalid;
use crate::guards::{Bounds, Guards, RateLimit, Stabilizer};
use crate::{replicas_for, Decision, Policy, PolicyError, PolicyInput, Reason};

/// HPA settings (Kubernetes defaults except `target`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HpaConfig {
    /// Target utilization in (0, 1], e.g. 0.7.
    pub target: f64,
    /// Tolerance around the target ratio within which nothing changes (0.1).
    pub tolerance: f64,
    /// Scale-down stabilization window (300 s).
    pub stabilization_seconds: f64,
    /// Scale-up: max(4 pods, 100 %) per 15 s.
    pub scale_up: RateLimit,
    /// Scale-down: 100 % per 15 s.
    pub scale_down: RateLimit,
}

impl HpaConfig {
    /// Kubernetes defaults at utilization `target`.
    pub fn with_target(target: f64) -> Self {
        HpaConfig {
            target,
            ..HpaConfig::default()
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(self.target > 0.0 && self.target <= 1.0) {
            return Err(invalid("target", self.target, "must lie in (0, 1]"));
        }
        if !(self.tolerance >= 0.0 && self.tolerance < 1.0) {
            return Err(invalid("tolerance", self.tolerance, "must lie in [0, 1)"));
        }
        if !(self.stabilization_seconds >= 0.0 && self.stabilization_seconds.is_finite()) {
            return Err(invalid(
                "stabilization_seconds",
                self.stabilization_seconds,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

impl Default for HpaConfig {
    fn default() -> Self {
        HpaConfig {
            target: 0.7,
            tolerance: 0.1,
            stabilization_seconds: 300.0,
            scale_up: RateLimit {
                pods: 4,
                percent: 100.0,
                period_seconds: 15.0,
            },
            scale_down: RateLimit {
                pods: 0,
                percent: 100.0,
                period_seconds: 15.0,
            },
        }
    }
}

/// The HPA policy.
#[derive(Debug, Clone)]
pub struct Hpa {
    cfg: HpaConfig,
    guards: Guards,
}

impl Hpa {
    /// A validated HPA at steps of `step_seconds` within `bounds`.
    pub fn new(cfg: HpaConfig, bounds: Bounds, step_seconds: f64) -> Result<Self, PolicyError> {
        cfg.validate()?;
        let guards = Guards::bounded(bounds)
            .with_stabilizer(Stabilizer::from_seconds(
                cfg.stabilization_seconds,
                step_seconds,
            ))
            .with_limits(Some(cfg.scale_up), Some(cfg.scale_down));
        Ok(Hpa { cfg, guards })
    }
}

impl Policy for Hpa {
    fn decide(&mut self, input: &PolicyInput) -> Decision {
        let c = input.capacity_per_replica;
        let ready = f64::from(input.ready);
        let utilization = if ready > 0.0 && c > 0.0 {
            input.demand / (c * ready)
        } else if input.demand > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        let ratio = utilization / self.cfg.target;
        let (wanted, cause) = if input.ready > 0 && (ratio - 1.0).abs() <= self.cfg.tolerance {
            (
                input.requested,
                Reason::WithinTolerance {
                    utilization,
                    target: self.cfg.target,
                },
            )
        } else {
            let desired = replicas_for(input.demand, c * self.cfg.target);
            (
                desired,
                Reason::Utilization {
                    utilization,
                    target: self.cfg.target,
                    desired,
                },
            )
        };
        self.guards.apply(
            input.step,
            input.step_seconds,
            input.requested,
            wanted,
            cause,
        )
    }
}

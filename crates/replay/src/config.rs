//! Simulator settings, validated once.

use crate::ReplayError;
use prescale_control::WorkloadSpec;
use prescale_core::{MetricName, WorkloadId};
use prescale_forecast::RollingConfig;
use prescale_policy::PolicyKind;
use std::time::Duration;

/// How a trace is simulated. `Default` = 5-minute steps, delay 1 step, bounds [1, 1000],
/// a daily season of 288 steps.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Demand one replica serves; `None` = p99(demand) / 10.
    pub capacity_per_replica: Option<f64>,
    /// Steps an added replica takes to become ready (0 = at once).
    pub delay_steps: usize,
    /// Lowest replica count.
    pub min: u32,
    /// Highest replica count.
    pub max: u32,
    /// Length of one step in seconds (rate limits, stabilization windows, replica-hours).
    pub step_seconds: f64,
    /// Price per replica-hour, if costs are to be reported in money too.
    pub price: Option<f64>,
    /// How the controller's forecaster fits (season, level, refits, history, guard, fleet models);
    /// its `lead` is the decision lead, set from `delay_steps`. Default: the live defaults with a
    /// daily season of 288 steps, the refit guard on.
    pub forecast: RollingConfig,
    /// Keep every explained decision of the controlled policies ([`crate::PolicyRun::records`]).
    pub keep_records: bool,
    /// Buy the replicas with purchase options and draw spot interruptions
    /// ([`crate::PolicyRun::purchase`]); `None` = replica-hours only.
    pub purchase: Option<crate::PurchaseSim>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            capacity_per_replica: None,
            delay_steps: 1,
            min: 1,
            max: 1000,
            step_seconds: 300.0,
            price: None,
            forecast: RollingConfig {
                guard_refits: true,
                ..RollingConfig::default()
            },
            keep_records: false,
            purchase: None,
        }
    }
}

impl SimConfig {
    /// The settings a replay of `spec`'s own history runs under: its capacity, bounds, step,
    /// season, refit period and history; added replicas serve after its decision lead.
    pub fn for_spec(spec: &WorkloadSpec, keep_records: bool) -> SimConfig {
        SimConfig {
            capacity_per_replica: Some(spec.capacity_per_replica),
            delay_steps: spec.decision_lead_steps(),
            min: spec.min,
            max: spec.max,
            step_seconds: spec.step_ms() as f64 / 1000.0,
            forecast: spec.rolling(),
            keep_records,
            ..SimConfig::default()
        }
    }

    /// The step in milliseconds (at least 1).
    pub fn step_ms(&self) -> i64 {
        ((self.step_seconds * 1000.0).round() as i64).max(1)
    }

    /// The live controller's spec for a trace replayed under these settings with `policy`
    /// acting: capacity `c`, the bounds, the step, a lead of `max(delay − 1, 0)` steps (the
    /// controller plans one step past its lead), the policy's own budget, the season, refit
    /// period and history; telemetry is taken as stale only after two steps without a sample
    /// (a trace has one sample per step), at least five minutes as live.
    pub fn workload_spec(&self, c: f64, policy: &PolicyKind) -> Result<WorkloadSpec, ReplayError> {
        let step_ms = u64::try_from(self.step_ms()).unwrap_or(1);
        let step = Duration::from_millis(step_ms);
        let name = |n: &str| {
            WorkloadId::new("trace")
                .and_then(|w| MetricName::new(n).map(|m| (w, m)))
                .map_err(|e| ReplayError::InvalidConfig {
                    field: "workload",
                    value: e.to_string(),
                    reason: "not a valid name",
                })
        };
        let (workload, metric) = name("demand")?;
        let mut spec = WorkloadSpec::new(workload, metric, c);
        spec.min = self.min;
        spec.max = self.max;
        spec.step = step;
        spec.lead = step
            .saturating_mul(u32::try_from(self.delay_steps.saturating_sub(1)).unwrap_or(u32::MAX));
        spec.budget = policy.budget().unwrap_or(spec.budget);
        spec.policy = policy.clone();
        spec.stale_after = spec.stale_after.max(step.saturating_mul(2));
        let f = &self.forecast;
        spec.season = f
            .season
            .map(|s| step.saturating_mul(u32::try_from(s).unwrap_or(u32::MAX)));
        spec.refit_every = f.refit_every;
        spec.history_steps = f.history_window;
        spec.model = f.kind;
        spec.validate()?;
        Ok(spec)
    }

    /// The forecaster's settings: it plans for `delay_steps` ahead (at least 1).
    pub fn rolling(&self) -> RollingConfig {
        RollingConfig {
            lead: self.delay_steps.max(1),
            ..self.forecast.clone()
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ReplayError> {
        let bad = |field: &'static str, value: String, reason: &'static str| {
            Err(ReplayError::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        if let Some(c) = self.capacity_per_replica {
            if !(c > 0.0 && c.is_finite()) {
                return Err(ReplayError::BadCapacity(c));
            }
        }
        if self.min > self.max {
            return bad("min", self.min.to_string(), "must not exceed max");
        }
        if !(self.step_seconds > 0.0 && self.step_seconds.is_finite()) {
            return bad(
                "step_seconds",
                self.step_seconds.to_string(),
                "must be positive",
            );
        }
        if let Some(p) = self.price {
            if !(p >= 0.0 && p.is_finite()) {
                return bad("price", p.to_string(), "must be finite and >= 0");
            }
        }
        if let Some(p) = &self.purchase {
            p.validate()?;
        }
        let f = &self.forecast;
        if f.season.is_some_and(|s| s < 2) {
            return bad("season", format!("{:?}", f.season), "must be at least 2");
        }
        if f.refit_every == 0 {
            return bad("refit_every", "0".into(), "must be at least 1");
        }
        if f.history_window < f.min_history.max(1) {
            return bad(
                "history_window",
                f.history_window.to_string(),
                "must be at least min_history",
            );
        }
        if !(f.guard_tolerance >= 0.0 && f.guard_tolerance.is_finite()) {
            return bad(
                "guard_tolerance",
                f.guard_tolerance.to_string(),
                "must be finite and >= 0",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_tolerance_is_validated() {
        let mut bad = SimConfig::default();
        bad.forecast.guard_tolerance = -0.1;
        assert!(bad.validate().is_err());
    }
}

//! What one workload's controller is told: the demand series, capacity model, bounds, lead time,
//! step, violation budget, policy, staleness limit and mode, validated once.

use crate::{ControlError, ResourceSpec};
use prescale_core::{MetricName, WorkloadId};
use prescale_forecast::{ModelKind, RollingConfig};
use prescale_policy::{PolicyKind, PredictiveConfig};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Whether decisions are only recorded or also handed to the actuator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Record and expose what would be done; the actuator is never called.
    #[default]
    ForecastOnly,
    /// Hand each decision's desired state to the actuator.
    Act,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::ForecastOnly => "forecast-only",
            Mode::Act => "act",
        })
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "forecast-only" => Ok(Mode::ForecastOnly),
            "act" => Ok(Mode::Act),
            other => Err(format!(
                "{other:?} is not one of \"forecast-only\", \"act\""
            )),
        }
    }
}

/// One controlled workload. Build with [`WorkloadSpec::new`] (defaults below), adjust the public
/// fields, then [`WorkloadSpec::validate`] (the controller validates again when built).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    pub workload: WorkloadId,
    /// The demand series (of `workload`) the policy sizes for.
    pub metric: MetricName,
    /// Demand one replica serves, in the metric's unit.
    pub capacity_per_replica: f64,
    /// Lowest replica count (default 1).
    pub min: u32,
    /// Highest replica count (default 100).
    pub max: u32,
    /// How long an added replica takes to serve (default 2 min): decisions look this far ahead.
    pub lead: Duration,
    /// Decision step: samples are averaged per step, one decision per completed step (default 1 min).
    pub step: Duration,
    /// Violation budget of the predictive policy: the fraction of steps allowed under capacity
    /// (default 0.01). Other policies ignore it.
    pub budget: f64,
    /// The policy (default predictive).
    pub policy: PolicyKind,
    /// Telemetry older than this (or none at all) holds the replica count (default 5 min).
    pub stale_after: Duration,
    /// Seasonal period handed to the forecaster (default none).
    pub season: Option<Duration>,
    /// Refit the forecaster at most every this many steps (default 12).
    pub refit_every: usize,
    /// Fit on at most this many most recent steps (default 4032).
    pub history_steps: usize,
    /// Forecast-only (default) or act.
    pub mode: Mode,
    /// Per-replica CPU and memory sizing (default none: replicas only).
    pub resources: Option<ResourceSpec>,
    /// The forecasting model (default `auto`: chosen per workload by cross-validation).
    pub model: ModelKind,
    /// Train on the forecast instead of the actual at steps the feedback flags anomalous (default
    /// false: one-off spikes are rare next to real surges that the forecaster must learn).
    pub exclude_anomalies: bool,
    /// Fire a warm-up action ahead of a predicted surge (default none; see [`crate::warmup`]).
    pub warmup: Option<crate::warmup::WarmupSpec>,
    /// Large replica changes in stages behind a health gate (default none; see [`crate::stages`]).
    pub stages: Option<crate::stages::StageSpec>,
    /// The service-level objective in the workload's own terms (a latency or queue series), used
    /// to report a replay's SLO; `None`: only the demand-based under-provisioned share.
    pub slo: Option<crate::SloObjective>,
}

impl WorkloadSpec {
    /// A spec with the defaults documented on each field.
    pub fn new(workload: WorkloadId, metric: MetricName, capacity_per_replica: f64) -> Self {
        WorkloadSpec {
            workload,
            metric,
            capacity_per_replica,
            min: 1,
            max: 100,
            lead: Duration::from_secs(120),
            step: Duration::from_secs(60),
            budget: PredictiveConfig::default().headroom.budget,
            policy: PolicyKind::Predictive(PredictiveConfig::default()),
            stale_after: Duration::from_secs(300),
            season: None,
            refit_every: 12,
            history_steps: 4032,
            mode: Mode::ForecastOnly,
            resources: None,
            model: ModelKind::Auto,
            exclude_anomalies: false,
            warmup: None,
            stages: None,
            slo: None,
        }
    }

    fn bad(&self, field: &'static str, value: impl fmt::Display, reason: &str) -> ControlError {
        ControlError::Invalid {
            workload: self.workload.to_string(),
            field,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Checks every field; the first problem is returned.
    pub fn validate(&self) -> Result<(), ControlError> {
        let c = self.capacity_per_replica;
        if !(c > 0.0 && c.is_finite()) {
            return Err(self.bad("capacity_per_replica", c, "must be positive and finite"));
        }
        if self.min > self.max {
            return Err(self.bad("min", self.min, "must not exceed max"));
        }
        if self.step.as_millis() == 0 {
            return Err(self.bad("step", format!("{:?}", self.step), "must be positive"));
        }
        if self.stale_after.as_millis() == 0 {
            return Err(self.bad(
                "stale_after",
                format!("{:?}", self.stale_after),
                "must be positive",
            ));
        }
        if !(self.budget > 0.0 && self.budget < 1.0) {
            return Err(self.bad("budget", self.budget, "must lie in (0, 1)"));
        }
        self.policy_kind()?;
        if let Some(s) = self.season {
            if self.season_steps().is_none() {
                return Err(self.bad("season", format!("{s:?}"), "must span at least two steps"));
            }
        }
        if self.refit_every == 0 {
            return Err(self.bad("refit_every", 0, "must be at least 1"));
        }
        if self.history_steps < 2 {
            return Err(self.bad("history_steps", self.history_steps, "must be at least 2"));
        }
        if let Some(r) = &self.resources {
            r.validate(self.workload.as_str())?;
        }
        if let Some((field, value, reason)) = self.warmup.as_ref().and_then(|w| w.problem()) {
            return Err(self.bad(field, value, reason));
        }
        if let Some((field, value, reason)) = self.stages.as_ref().and_then(|s| s.problem()) {
            return Err(self.bad(field, value, reason));
        }
        if let Some((field, value, reason)) = self.slo.as_ref().and_then(|s| s.problem()) {
            return Err(self.bad(field, value, reason));
        }
        Ok(())
    }

    /// The policy with the spec's budget applied.
    pub fn policy_kind(&self) -> Result<PolicyKind, ControlError> {
        self.policy
            .clone()
            .with_budget(self.budget)
            .map_err(|e| self.bad("budget", self.budget, &e.to_string()))
    }

    /// The step in milliseconds (at least 1).
    pub fn step_ms(&self) -> i64 {
        i64::try_from(self.step.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// Steps an added replica takes to serve: `ceil(lead / step)` (0 without a lead).
    pub fn lead_steps(&self) -> usize {
        let lead = self.lead.as_millis();
        let step = self.step.as_millis().max(1);
        usize::try_from(lead.div_ceil(step)).unwrap_or(usize::MAX)
    }

    /// The forecast step a decision plans for: decisions are made during the step after the last
    /// complete one, so replicas added now serve from `lead_steps()` after it — one step past the
    /// lead. The one home of this rule (the policy's `lead_steps`, the forecaster's lead, the
    /// feedback's scored horizon, the published forecast at the lead).
    pub fn decision_lead_steps(&self) -> usize {
        self.lead_steps().saturating_add(1)
    }

    /// How the controller's forecaster fits: the spec's season, refit period and history, the
    /// seasonal model once a full season is seen, refits guarded (a worse refit is rolled back).
    pub fn rolling(&self) -> RollingConfig {
        let season = self.season_steps();
        RollingConfig {
            lead: self.decision_lead_steps(),
            kind: self.model,
            season,
            refit_every: self.refit_every,
            history_window: self.history_steps,
            min_history: season.unwrap_or(0),
            guard_refits: true,
            ..RollingConfig::default()
        }
    }

    /// The season in steps (rounded), when it spans at least two.
    pub fn season_steps(&self) -> Option<usize> {
        let s = self.season?.as_millis() as f64 / self.step.as_millis().max(1) as f64;
        let n = s.round();
        (n >= 2.0 && n.is_finite()).then_some(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WorkloadSpec {
        WorkloadSpec::new(
            WorkloadId::new("web").unwrap(),
            MetricName::new("rps").unwrap(),
            10.0,
        )
    }

    #[test]
    fn defaults_validate_and_bad_fields_are_named() {
        assert_eq!(spec().validate(), Ok(()));
        assert_eq!(spec().lead_steps(), 2);
        let mut s = spec();
        s.capacity_per_replica = 0.0;
        assert!(matches!(
            s.validate(),
            Err(ControlError::Invalid {
                field: "capacity_per_replica",
                ..
            })
        ));
        let mut s = spec();
        s.min = 5;
        s.max = 2;
        assert!(s.validate().unwrap_err().to_string().contains("min"));
        let mut s = spec();
        s.budget = 1.5;
        assert!(s.validate().is_err());
        let mut s = spec();
        s.season = Some(Duration::from_secs(60));
        assert!(s.validate().is_err());
        s.season = Some(Duration::from_secs(3600));
        assert_eq!(s.season_steps(), Some(60));
        assert_eq!("act".parse::<Mode>(), Ok(Mode::Act));
        assert!("go".parse::<Mode>().is_err());
    }
}

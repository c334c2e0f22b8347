//! One workload's control step: align the window to the step, refit the forecaster on its
//! schedule (prescale-engine's `RollingForecaster`), decide with the policy (the simulator's code),
//! and explain the result. Stale or missing telemetry holds and never scales in.

use crate::align::{complete_steps, fill_to};
use crate::explain::{self, guard_summary, reason_json};
use crate::record::{DecisionRecord, ForecastSummary, Inputs};
use crate::{ControlError, Mode, WorkloadSpec};
use prescale_core::{Sample, SeriesKey, Timestamp};
use prescale_engine::{RollingForecaster, SimConfig};
use prescale_policy::{Bounds, BuildContext, Policy, PolicyInput, PolicyKind};

/// The controller of one workload; owns its history, forecaster and policy state, so one failing
/// workload never touches another.
pub struct Controller {
    spec: WorkloadSpec,
    key: SeriesKey,
    policy: Box<dyn Policy>,
    policy_label: String,
    sim: SimConfig,
    forecaster: RollingForecaster,
    /// Aligned demand per step, oldest first.
    history: Vec<f64>,
    /// Start (ms) of the last step in `history`.
    last_step: Option<i64>,
    /// Decisions the policy made (its step index).
    decisions: usize,
    last_desired: Option<u32>,
}

impl Controller {
    /// A controller for a validated spec. Oracle and static policies are simulation-only.
    pub fn new(spec: WorkloadSpec) -> Result<Controller, ControlError> {
        spec.validate()?;
        let kind = spec.policy_kind()?;
        if matches!(kind, PolicyKind::Oracle | PolicyKind::Static) {
            return Err(ControlError::Invalid {
                workload: spec.workload.to_string(),
                field: "policy",
                value: kind.label(),
                reason: "needs the future or the whole trace: simulation only".into(),
            });
        }
        let bounds = Bounds::new(spec.min, spec.max).map_err(|e| ControlError::Invalid {
            workload: spec.workload.to_string(),
            field: "min",
            value: spec.min.to_string(),
            reason: e.to_string(),
        })?;
        let step_seconds = spec.step_ms() as f64 / 1000.0;
        let policy = kind
            .build(&BuildContext {
                bounds,
                step_seconds,
                peak_need: spec.max,
            })
            .map_err(|e| ControlError::Invalid {
                workload: spec.workload.to_string(),
                field: "policy",
                value: kind.label(),
                reason: e.to_string(),
            })?;
        let season = spec.season_steps();
        let sim = SimConfig {
            capacity_per_replica: Some(spec.capacity_per_replica),
            delay_steps: spec.lead_steps() + 1,
            min: spec.min,
            max: spec.max,
            step_seconds,
            season,
            refit_every: spec.refit_every,
            history_window: spec.history_steps,
            min_history: season.unwrap_or(0),
            ..SimConfig::default()
        };
        Ok(Controller {
            key: SeriesKey::new(spec.workload.clone(), spec.metric.clone()),
            policy,
            policy_label: kind.label(),
            forecaster: RollingForecaster::new(&sim),
            sim,
            spec,
            history: Vec::new(),
            last_step: None,
            decisions: 0,
            last_desired: None,
        })
    }

    pub fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    /// The policy label (`predictive`, `hpa@0.50`, ...).
    pub fn policy_label(&self) -> &str {
        &self.policy_label
    }

    /// The replica count the last decision asked for.
    pub fn last_desired(&self) -> Option<u32> {
        self.last_desired
    }

    /// Aligned steps held.
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// Forecaster fits so far.
    pub fn fits(&self) -> usize {
        self.forecaster.fits()
    }

    /// One tick: `window` holds the demand series' recent raw samples (any order), `now` is the
    /// tick time, `current_replicas` what the actuator reports (else the last decision is assumed).
    pub fn tick(
        &mut self,
        window: &[Sample],
        now: Timestamp,
        current_replicas: Option<u32>,
    ) -> DecisionRecord {
        let before = current_replicas.or(self.last_desired);
        let last_sample_at = window.iter().map(|s| s.ts).max();
        let freshness_s = last_sample_at.map(|t| (now.0 - t.0) as f64 / 1000.0);
        let new_steps = if window.is_empty() {
            0
        } else {
            self.ingest(window, now)
        };
        let inputs = Inputs {
            last_sample_at,
            samples: window.len(),
            freshness_s,
            history_steps: self.history.len(),
            demand: self.history.last().copied(),
        };
        let stale_after_s = self.spec.stale_after.as_secs_f64();
        let hold = match freshness_s {
            None => Some(explain::missing()),
            Some(age) if age > stale_after_s => Some(explain::stale(age, stale_after_s)),
            Some(_) if new_steps == 0 || self.history.is_empty() => {
                Some(explain::waiting(self.sim.step_seconds))
            }
            Some(_) => None,
        };
        let mut record = DecisionRecord {
            workload: self.spec.workload.clone(),
            at: now,
            mode: self.spec.mode,
            policy: self.policy_label.clone(),
            replicas_before: before,
            replicas_after: before,
            pre_guard: None,
            bound_by: None,
            reason: String::new(),
            reason_json: serde_json::Value::Null,
            forecast: None,
            model: None,
            inputs,
            actuation: None,
        };
        if let Some((text, json)) = hold {
            record.reason = text;
            record.reason_json = json;
            return record;
        }
        self.decide(record)
    }

    /// Runs the forecaster and the policy on the history.
    fn decide(&mut self, mut record: DecisionRecord) -> DecisionRecord {
        let demand = self.history.last().copied().unwrap_or(0.0);
        // A decision made during the step after the last complete one: the replicas it adds serve
        // from `lead` after now, so the policy looks one step further than the lead alone.
        let lead = self.spec.lead_steps() + 1;
        let forecast = if self.policy.wants_forecast() {
            self.forecaster.at(&self.history)
        } else {
            None
        };
        let requested = record.replicas_before.unwrap_or(self.spec.min);
        let input = PolicyInput {
            step: self.decisions,
            step_seconds: self.sim.step_seconds,
            demand,
            history: &self.history,
            ready: requested,
            requested,
            capacity_per_replica: self.spec.capacity_per_replica,
            lead_steps: lead,
            forecast: forecast.as_ref(),
            lookahead: None,
        };
        let decision = self.policy.decide(&input);
        self.decisions += 1;
        let after = decision.replicas();
        let (pre_guard, bound_by) = guard_summary(decision.reason());
        record.replicas_after = Some(after);
        record.pre_guard = pre_guard;
        record.bound_by = bound_by;
        record.reason = decision.reason().to_string();
        record.reason_json = reason_json(decision.reason());
        if let Some(f) = forecast.as_ref().filter(|f| f.horizon() > 0) {
            let i = lead.min(f.horizon()) - 1;
            record.forecast = Some(ForecastSummary {
                point: f.point[i],
                lower: f.lower[i],
                upper: f.upper[i],
                level: f.level.percent(),
                horizon_steps: i + 1,
            });
            record.model = Some(match self.sim.season {
                Some(s) => format!(
                    "auto (season {s} steps, refit every {} steps)",
                    self.sim.refit_every
                ),
                None => format!(
                    "auto (no season, refit every {} steps)",
                    self.sim.refit_every
                ),
            });
        }
        self.last_desired = Some(after);
        record
    }

    /// Appends the window's newly completed steps; returns how many steps were added.
    fn ingest(&mut self, window: &[Sample], now: Timestamp) -> usize {
        let step_ms = self.spec.step_ms();
        let mut added = 0;
        for (start, v) in complete_steps(&self.key, window, step_ms, now) {
            match (self.last_step, self.history.last().copied()) {
                (Some(l), _) if start <= l => continue,
                (Some(l), Some(last)) => {
                    let gap = (start - l) / step_ms;
                    if usize::try_from(gap).unwrap_or(usize::MAX) > self.spec.history_steps {
                        self.reset_history();
                        self.history.push(v);
                    } else {
                        self.history.extend(fill_to((l, last), (start, v), step_ms));
                    }
                }
                _ => self.history.push(v),
            }
            self.last_step = Some(start);
            added += 1;
        }
        let cap = self.spec.history_steps.saturating_mul(2).max(2);
        if self.history.len() > cap {
            let drop = self.history.len() - self.spec.history_steps;
            self.history.drain(..drop);
            // The forecaster indexes steps by history length: start it afresh on the shorter history.
            self.forecaster = RollingForecaster::new(&self.sim);
        }
        added
    }

    fn reset_history(&mut self) {
        self.history.clear();
        self.forecaster = RollingForecaster::new(&self.sim);
    }

    /// Whether this controller hands decisions to an actuator.
    pub fn mode(&self) -> Mode {
        self.spec.mode
    }
}

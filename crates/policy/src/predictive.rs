//! prescale's predictive policy: size for the calibrated upper bound at the lead time, times a
//! headroom learned online against a violation budget.
//!
//! Each step: the headroom controller first learns from the step whose outcome is now known; then
//! the wish is max(forecast need, reactive need, need now), where the forecast need covers
//! `upper × headroom` over the steps until an added replica is ready and the reactive need covers
//! `observed demand × headroom` (`reactive_headroom`; when off, need-now is only a floor). The
//! default controller is [`HedgeController`] (multiplicative weights over a headroom grid, scored
//! counterfactually with a dual violation price); [`HeadroomController`] (ACI) stays selectable
//! with [`ControllerKind::Aci`]. Scale-in goes through the shared stabilizer, so it happens only
//! when the observed need and the forecast upper bounds stayed low for the whole window; step
//! limits bound each change. Before the engine can fit a forecast, the reactive rule at
//! `fallback_target` utilization decides (reason `ReactiveFallback`). `learned_headroom` reports
//! the provisioned demand ÷ forecast upper bound (the ACI headroom under `Aci`).

use crate::error::invalid;
use crate::guards::{Bounds, Guards, RateLimit, Stabilizer};
use crate::headroom::{HeadroomConfig, HeadroomController};
use crate::hedge::{HedgeConfig, HedgeController, Outcome};
use std::collections::VecDeque;

/// Which online controller learns the headroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerKind {
    /// Adaptive conformal inference on the log headroom ([`HeadroomController`]).
    Aci,
    /// Hedge over a grid of headroom levels with a dual violation price ([`HedgeController`]).
    Hedge,
}
use crate::{replicas_for, Decision, Policy, PolicyError, PolicyInput, Reason};

/// Predictive policy settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictiveConfig {
    /// The online headroom controller (holds the violation budget).
    pub headroom: HeadroomConfig,
    /// Which controller learns the headroom.
    pub controller: ControllerKind,
    /// Hedge controller settings (used when `controller` is `Hedge`).
    pub hedge: HedgeConfig,
    /// Whether observed demand × headroom is also a need (else need-now is only a floor).
    pub reactive_headroom: bool,
    /// Scale-in stabilization window in steps besides the current one.
    pub stabilization_steps: usize,
    /// Per-step scale-up limit (`None`: unlimited).
    pub scale_up: Option<RateLimit>,
    /// Per-step scale-down limit (`None`: unlimited).
    pub scale_down: Option<RateLimit>,
    /// Utilization target of the reactive fallback used before the first forecast.
    pub fallback_target: f64,
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        PredictiveConfig {
            headroom: HeadroomConfig::default(),
            controller: ControllerKind::Hedge,
            hedge: HedgeConfig::default(),
            reactive_headroom: true,
            stabilization_steps: 1,
            scale_up: None,
            scale_down: None,
            fallback_target: 0.7,
        }
    }
}

impl PredictiveConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.headroom.validate()?;
        self.hedge.validate()?;
        if !(self.fallback_target > 0.0 && self.fallback_target <= 1.0) {
            return Err(invalid(
                "fallback_target",
                self.fallback_target,
                "must lie in (0, 1]",
            ));
        }
        Ok(())
    }
}

/// The predictive policy with its learned headroom.
#[derive(Debug, Clone)]
pub struct Predictive {
    cfg: PredictiveConfig,
    controller: HeadroomController,
    hedge: HedgeController,
    /// What the last decisions were sized on (point, upper, floor), oldest first, until their step.
    pending: VecDeque<(f64, f64, u32)>,
    /// Provisioned demand ÷ forecast upper bound at the last forecast decision.
    effective: Option<f64>,
    guards: Guards,
    /// Forecast upper bound the previous decision sized for (the step it targets is now).
    prev_upper: Option<f64>,
}

impl Predictive {
    /// A validated predictive policy within `bounds`.
    pub fn new(cfg: PredictiveConfig, bounds: Bounds) -> Result<Self, PolicyError> {
        cfg.validate()?;
        let guards = Guards::bounded(bounds)
            .with_stabilizer(Stabilizer::new(cfg.stabilization_steps))
            .with_limits(cfg.scale_up, cfg.scale_down);
        Ok(Predictive {
            controller: HeadroomController::new(cfg.headroom)?,
            hedge: HedgeController::new(
                cfg.hedge,
                cfg.headroom.budget * cfg.headroom.aim_fraction,
            )?,
            pending: VecDeque::new(),
            effective: None,
            cfg,
            guards,
            prev_upper: None,
        })
    }

    /// The controller (headroom, violation rate so far).
    pub fn controller(&self) -> &HeadroomController {
        &self.controller
    }

    /// The Hedge controller (levels, weights, violation price).
    pub fn hedge(&self) -> &HedgeController {
        &self.hedge
    }

    fn headroom(&self) -> f64 {
        match self.cfg.controller {
            ControllerKind::Aci => self.controller.headroom(),
            ControllerKind::Hedge => self.hedge.headroom(),
        }
    }
}

impl Policy for Predictive {
    fn decide(&mut self, input: &PolicyInput) -> Decision {
        let c = input.capacity_per_replica;
        let now = replicas_for(input.demand, c);
        let (wanted, cause) = match input.forecast.filter(|f| f.horizon() > 0) {
            Some(f) => {
                // Learn only from violations more headroom could have prevented: a burst beyond
                // the largest headroom over the forecast is no reason to over-provision for ever.
                let preventable = self
                    .prev_upper
                    .is_none_or(|u| input.demand <= u * self.cfg.headroom.max);
                let violated = input.under_provisioned() && preventable;
                match self.cfg.controller {
                    ControllerKind::Aci => self.controller.observe(violated),
                    ControllerKind::Hedge => {
                        let due = self.pending.len() >= input.lead_steps.max(1);
                        if let Some((point, upper, floor)) =
                            due.then(|| self.pending.pop_front()).flatten()
                        {
                            let outcome = Outcome {
                                point,
                                upper,
                                floor,
                                capacity: c,
                                demand: input.demand,
                            };
                            self.hedge.observe(outcome, violated);
                        }
                    }
                }
                let h = self.headroom();
                let span = input.lead_steps.clamp(1, f.horizon());
                let upper = f.upper[..span].iter().copied().fold(0.0, f64::max);
                let point = f.point[..span].iter().copied().fold(0.0, f64::max);
                self.prev_upper = Some(upper);
                let reactive = self.cfg.reactive_headroom;
                let (p_for, u_for) = if reactive {
                    (point.max(input.demand), upper.max(input.demand))
                } else {
                    (point, upper)
                };
                self.pending.push_back((p_for, u_for, now));
                let (provision, reactive_provision) = match self.cfg.controller {
                    ControllerKind::Aci => (upper * h, input.demand * h),
                    ControllerKind::Hedge => (
                        self.hedge.provision_for(h, point, upper),
                        self.hedge.provision_for(h, input.demand, input.demand),
                    ),
                };
                self.effective = (upper > 0.0).then(|| provision / upper);
                let forecast_need = replicas_for(provision, c);
                let reactive_need = if reactive {
                    replicas_for(reactive_provision, c)
                } else {
                    0
                };
                if reactive_need > forecast_need {
                    (
                        reactive_need.max(now),
                        Reason::ReactiveNeed {
                            demand: input.demand,
                            headroom: h,
                            need: reactive_need,
                        },
                    )
                } else {
                    (
                        forecast_need.max(now),
                        Reason::ForecastNeed {
                            upper,
                            headroom: h,
                            need: forecast_need,
                        },
                    )
                }
            }
            None => {
                self.prev_upper = None;
                self.pending.clear();
                let need = replicas_for(input.demand, c * self.cfg.fallback_target);
                (
                    need,
                    Reason::ReactiveFallback {
                        demand: input.demand,
                        target: self.cfg.fallback_target,
                        need,
                    },
                )
            }
        };
        self.guards.apply(
            input.step,
            input.step_seconds,
            input.requested,
            wanted,
            cause,
        )
    }

    fn learned_headroom(&self) -> Option<f64> {
        match self.cfg.controller {
            ControllerKind::Aci => Some(self.controller.headroom()),
            ControllerKind::Hedge => self.effective.or(Some(1.0)),
        }
    }

    fn headroom_state(&self) -> Option<crate::HeadroomState> {
        Some(match self.cfg.controller {
            ControllerKind::Aci => self.controller.state(),
            ControllerKind::Hedge => self.hedge.state(self.effective),
        })
    }

    /// The forecasts pending their outcome are not carried: the new owner's first decisions
    /// start the queue again.
    fn restore_headroom(&mut self, state: &crate::HeadroomState) -> Result<bool, PolicyError> {
        match self.cfg.controller {
            ControllerKind::Aci => self.controller.restore(state)?,
            ControllerKind::Hedge => self.effective = self.hedge.restore(state)?,
        }
        Ok(true)
    }

    fn wants_forecast(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Forecast, Level};

    fn step<'a>(
        t: usize,
        demand: f64,
        ready: u32,
        history: &'a [f64],
        f: &'a Forecast,
    ) -> PolicyInput<'a> {
        PolicyInput {
            step: t,
            step_seconds: 300.0,
            demand,
            history,
            ready,
            requested: ready,
            capacity_per_replica: 1.0,
            lead_steps: 1,
            forecast: Some(f),
            lookahead: None,
        }
    }

    #[test]
    fn hedge_raises_headroom_after_preventable_violations_and_records_it() {
        let level = Level::new(90.0).unwrap();
        let f = Forecast::new(vec![10.0; 3], vec![9.0; 3], vec![11.0; 3], level).unwrap();
        let bounds = Bounds::new(1, 1000).unwrap();
        // Without the reactive need, only the learned headroom can cover demand above the bound.
        let cfg = PredictiveConfig {
            reactive_headroom: false,
            ..PredictiveConfig::default()
        };
        let mut p = Predictive::new(cfg, bounds).unwrap();
        let hist = [10.0];
        let first = p.decide(&step(0, 10.0, 10, &hist, &f));
        let h0 = p.learned_headroom().unwrap();
        assert!((first.replicas() as f64) >= 11.0 * h0 - 1.0);
        // Demand alternates 8 and 14 against an upper bound of 11: need-now (8) and low levels
        // leave the 14-steps short, so the weights must move to levels with ceil(11 × h) >= 14.
        let mut ready = first.replicas();
        let mut asked_for_peak = 0;
        for t in 1..400 {
            let demand = if t % 2 == 0 { 8.0 } else { 14.0 };
            let d = p.decide(&step(t, demand, ready, &hist, &f));
            ready = d.replicas();
            asked_for_peak = if t % 2 == 0 { ready } else { asked_for_peak };
        }
        let h = p.learned_headroom().unwrap();
        assert!(h > 13.0 / 11.0, "headroom {h}");
        assert!(asked_for_peak >= 14, "asked {asked_for_peak}");
        assert!(p.hedge().lambda() > 0.0);

        // Control: calm demand 8 under the same bound drifts to the cheapest levels, where the
        // need now (8 replicas) is the binding floor.
        let mut calm = Predictive::new(cfg, bounds).unwrap();
        let mut ready = 10;
        for t in 0..400 {
            ready = calm.decide(&step(t, 8.0, ready, &hist, &f)).replicas();
        }
        let h = calm.learned_headroom().unwrap();
        assert!(h < 8.0 / 11.0 + 0.05, "calm headroom {h}");
        assert_eq!(ready, 8);
    }
}

//! prescale's predictive policy: size for the calibrated upper bound at the lead time, times a
//! headroom learned online against a violation budget.
//!
//! Each step: the headroom controller first learns from whether this step is under-provisioned;
//! then the wish is max(forecast need, reactive need, need now), where the forecast need covers
//! `upper × headroom` over the steps until an added replica is ready and the reactive need covers
//! `observed demand × headroom`. Scale-in goes through the shared stabilizer, so it happens only when
//! the observed need and the forecast upper bounds stayed low for the whole window; step limits
//! bound each change. Before the engine can fit a forecast, the reactive rule at
//! `fallback_target` utilization decides (reason `ReactiveFallback`).

use crate::error::invalid;
use crate::guards::{Bounds, Guards, RateLimit, Stabilizer};
use crate::headroom::{HeadroomConfig, HeadroomController};
use crate::{replicas_for, Decision, Policy, PolicyError, PolicyInput, Reason};

/// Predictive policy settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictiveConfig {
    /// The online headroom controller (holds the violation budget).
    pub headroom: HeadroomConfig,
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
            stabilization_steps: 3,
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
            cfg,
            guards,
            prev_upper: None,
        })
    }

    /// The controller (headroom, violation rate so far).
    pub fn controller(&self) -> &HeadroomController {
        &self.controller
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
                self.controller
                    .observe(input.under_provisioned() && preventable);
                let h = self.controller.headroom();
                let span = input.lead_steps.clamp(1, f.horizon());
                let upper = f.upper[..span].iter().copied().fold(0.0, f64::max);
                self.prev_upper = Some(upper);
                let forecast_need = replicas_for(upper * h, c);
                let reactive_need = replicas_for(input.demand * h, c);
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
        Some(self.controller.headroom())
    }

    fn wants_forecast(&self) -> bool {
        true
    }
}

//! The seed's threshold rule on the forecast at the lead time.
//!
//! Scale up when the forecast exceeds `up` × current capacity and the interval's relative width
//! ((upper − lower) / point) is below `max_relative_width`; scale down when it is below `down` ×
//! current capacity; the new capacity is `resize` × forecast. Without a forecast the observed demand
//! stands in for it. Shares the guards (bounds, a scale-in cooldown).

use crate::error::invalid;
use crate::guards::{Bounds, Cooldown, Guards};
use crate::{replicas_for, Decision, Policy, PolicyError, PolicyInput, Reason};

/// Threshold rule settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdConfig {
    /// Scale-up threshold as a multiple of current capacity (1.2).
    pub up: f64,
    /// Scale-down threshold as a multiple of current capacity (0.8).
    pub down: f64,
    /// New capacity as a multiple of the forecast (1.1).
    pub resize: f64,
    /// Largest relative interval width still acted on for scale-ups (0.5).
    pub max_relative_width: f64,
    /// Steps after a change before a scale-in (3).
    pub scale_in_cooldown_steps: usize,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        ThresholdConfig {
            up: 1.2,
            down: 0.8,
            resize: 1.1,
            max_relative_width: 0.5,
            scale_in_cooldown_steps: 3,
        }
    }
}

impl ThresholdConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(self.down > 0.0 && self.down < self.up && self.up.is_finite()) {
            return Err(invalid("down", self.down, "need 0 < down < up"));
        }
        if !(self.resize > 0.0 && self.resize.is_finite()) {
            return Err(invalid("resize", self.resize, "must be positive"));
        }
        if self.max_relative_width.is_nan() || self.max_relative_width <= 0.0 {
            return Err(invalid(
                "max_relative_width",
                self.max_relative_width,
                "must be positive",
            ));
        }
        Ok(())
    }
}

/// The threshold policy.
#[derive(Debug, Clone)]
pub struct Threshold {
    cfg: ThresholdConfig,
    guards: Guards,
}

impl Threshold {
    /// A validated threshold policy within `bounds`.
    pub fn new(cfg: ThresholdConfig, bounds: Bounds) -> Result<Self, PolicyError> {
        cfg.validate()?;
        let guards = Guards::bounded(bounds).with_cooldown(Cooldown {
            up_steps: 0,
            down_steps: cfg.scale_in_cooldown_steps,
        });
        Ok(Threshold { cfg, guards })
    }
}

impl Policy for Threshold {
    fn decide(&mut self, input: &PolicyInput) -> Decision {
        let c = input.capacity_per_replica;
        let capacity = c * f64::from(input.requested);
        let (forecast, width) = match input.forecast.filter(|f| f.horizon() > 0) {
            Some(f) => {
                let i = input.lead_steps.saturating_sub(1).min(f.horizon() - 1);
                let p = f.point[i].max(0.0);
                let w = if p > 0.0 {
                    (f.upper[i] - f.lower[i]) / p
                } else {
                    f64::INFINITY
                };
                (p, w)
            }
            None => (input.demand, 0.0),
        };
        let (wanted, cause) = if forecast > self.cfg.up * capacity {
            if width > self.cfg.max_relative_width {
                (
                    input.requested,
                    Reason::ForecastTooUncertain {
                        relative_width: width,
                        bound: self.cfg.max_relative_width,
                    },
                )
            } else {
                (
                    replicas_for(self.cfg.resize * forecast, c),
                    Reason::ForecastAbove {
                        forecast,
                        threshold: self.cfg.up * capacity,
                    },
                )
            }
        } else if forecast < self.cfg.down * capacity {
            (
                replicas_for(self.cfg.resize * forecast, c),
                Reason::ForecastBelow {
                    forecast,
                    threshold: self.cfg.down * capacity,
                },
            )
        } else {
            (input.requested, Reason::ForecastInBand { forecast })
        };
        self.guards.apply(
            input.step,
            input.step_seconds,
            input.requested,
            wanted,
            cause,
        )
    }

    fn wants_forecast(&self) -> bool {
        true
    }
}

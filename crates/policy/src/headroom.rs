//! The online headroom controller: adaptive conformal inference on a multiplicative headroom.
//!
//! The predictive policy sizes for `forecast upper bound × headroom`. After each step the controller
//! sees whether that step was under-provisioned (`err = 1`) and updates, in log space,
//! `log h ← log h + gamma × (err − aim)` with `aim = budget × aim_fraction`: a violation raises the
//! headroom by `exp(gamma × (1 − aim))`, every step within budget lowers it by `exp(−gamma × aim)`, so
//! the long-run violation rate tracks `aim` (Gibbs & Candès 2021, ACI) while the headroom is clamped
//! to `[min, max]`.

use crate::error::invalid;
use crate::PolicyError;

/// Controller settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadroomConfig {
    /// Violation budget: allowed share of under-provisioned steps (0.01).
    pub budget: f64,
    /// Share of the budget the controller aims at, leaving the rest as a safety margin (0..=1).
    pub aim_fraction: f64,
    /// Learning rate in log space.
    pub gamma: f64,
    /// Starting headroom.
    pub initial: f64,
    /// Lowest headroom.
    pub min: f64,
    /// Highest headroom.
    pub max: f64,
}

impl Default for HeadroomConfig {
    fn default() -> Self {
        HeadroomConfig {
            budget: 0.01,
            aim_fraction: 0.5,
            gamma: 0.05,
            initial: 1.0,
            min: 0.7,
            max: 2.0,
        }
    }
}

impl HeadroomConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !(self.budget > 0.0 && self.budget < 1.0) {
            return Err(invalid("budget", self.budget, "must lie in (0, 1)"));
        }
        if !(self.aim_fraction > 0.0 && self.aim_fraction <= 1.0) {
            return Err(invalid(
                "aim_fraction",
                self.aim_fraction,
                "must lie in (0, 1]",
            ));
        }
        if !(self.gamma > 0.0 && self.gamma.is_finite()) {
            return Err(invalid("gamma", self.gamma, "must be positive"));
        }
        if !(self.min > 0.0
            && self.min <= self.initial
            && self.initial <= self.max
            && self.max.is_finite())
        {
            return Err(invalid(
                "initial",
                self.initial,
                "need 0 < min <= initial <= max",
            ));
        }
        Ok(())
    }
}

/// What a predictive policy has learned about its headroom, as carried to another instance
/// (see `restore` on [`HeadroomController`] and [`crate::HedgeController`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "controller", rename_all = "snake_case")]
pub enum HeadroomState {
    /// The ACI controller: the headroom multiplier and the violation record.
    Aci {
        headroom: f64,
        steps: usize,
        violations: usize,
    },
    /// The Hedge controller: the log-weight of each level (largest 0), the price of a violation,
    /// and the predictive policy's effective headroom at its last forecast decision.
    Hedge {
        log_weights: Vec<f64>,
        lambda: f64,
        effective: Option<f64>,
    },
}

/// Controller state: the current headroom and the violation record.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadroomController {
    cfg: HeadroomConfig,
    log_headroom: f64,
    steps: usize,
    violations: usize,
}

impl HeadroomController {
    /// A validated controller at its initial headroom.
    pub fn new(cfg: HeadroomConfig) -> Result<Self, PolicyError> {
        cfg.validate()?;
        Ok(HeadroomController {
            log_headroom: cfg.initial.ln(),
            cfg,
            steps: 0,
            violations: 0,
        })
    }

    /// Current headroom multiplier.
    pub fn headroom(&self) -> f64 {
        self.log_headroom.exp()
    }

    /// Observed violation rate so far (`None` before the first observation).
    pub fn violation_rate(&self) -> Option<f64> {
        (self.steps > 0).then(|| self.violations as f64 / self.steps as f64)
    }

    /// What it has learned.
    pub fn state(&self) -> HeadroomState {
        HeadroomState::Aci {
            headroom: self.headroom(),
            steps: self.steps,
            violations: self.violations,
        }
    }

    /// Continues from `state` (learned elsewhere, e.g. by a previous owner); a headroom outside
    /// `[min, max]` or not finite, or more violations than steps, is refused and nothing changes.
    pub fn restore(&mut self, state: &HeadroomState) -> Result<(), PolicyError> {
        let &HeadroomState::Aci {
            headroom,
            steps,
            violations,
        } = state
        else {
            return Err(PolicyError::Invalid {
                field: "controller",
                value: "hedge".into(),
                reason: "a Hedge state cannot continue an ACI controller",
            });
        };
        // Within a rounding of the bounds (the state went through exp and ln).
        let (lo, hi) = (self.cfg.min * (1.0 - 1e-12), self.cfg.max * (1.0 + 1e-12));
        if !(headroom.is_finite() && headroom >= lo && headroom <= hi) {
            return Err(invalid(
                "headroom",
                headroom,
                "a restored headroom must lie within [min, max]",
            ));
        }
        if violations > steps {
            return Err(invalid(
                "violations",
                violations,
                "a restored state cannot have more violations than steps",
            ));
        }
        self.log_headroom = headroom.ln().clamp(self.cfg.min.ln(), self.cfg.max.ln());
        self.steps = steps;
        self.violations = violations;
        Ok(())
    }

    /// Feeds back whether the last step was under-provisioned.
    pub fn observe(&mut self, violated: bool) {
        self.steps += 1;
        let err = if violated {
            self.violations += 1;
            1.0
        } else {
            0.0
        };
        let aim = self.cfg.budget * self.cfg.aim_fraction;
        self.log_headroom = (self.log_headroom + self.cfg.gamma * (err - aim))
            .clamp(self.cfg.min.ln(), self.cfg.max.ln());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_bad_states_are_refused() {
        let mut a = HeadroomController::new(HeadroomConfig::default()).unwrap();
        for i in 0..40 {
            a.observe(i % 3 == 0);
        }
        let mut b = HeadroomController::new(HeadroomConfig::default()).unwrap();
        b.restore(&a.state()).unwrap();
        assert!((b.headroom() - a.headroom()).abs() < 1e-12);
        assert_eq!(b.violation_rate(), a.violation_rate());
        let before = b.state();
        let HeadroomState::Aci {
            headroom, steps, ..
        } = a.state()
        else {
            panic!("an ACI controller's state")
        };
        for bad in [
            HeadroomState::Aci {
                headroom: 5.0,
                steps,
                violations: 0,
            },
            HeadroomState::Aci {
                headroom: f64::NAN,
                steps,
                violations: 0,
            },
            HeadroomState::Aci {
                headroom,
                steps,
                violations: steps + 1,
            },
            HeadroomState::Hedge {
                log_weights: vec![0.0],
                lambda: 1.0,
                effective: None,
            },
        ] {
            assert!(b.restore(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(b.state(), before);
    }

    #[test]
    fn known_answer_updates() {
        let cfg = HeadroomConfig {
            budget: 0.1,
            aim_fraction: 1.0,
            gamma: 0.5,
            initial: 1.0,
            min: 0.5,
            max: 2.0,
        };
        let mut c = HeadroomController::new(cfg).unwrap();
        c.observe(true);
        assert!((c.headroom() - (0.45f64).exp()).abs() < 1e-12);
        c.observe(false);
        assert!((c.headroom() - (0.40f64).exp()).abs() < 1e-12);
        for _ in 0..10 {
            c.observe(true);
        }
        assert!((c.headroom() - 2.0).abs() < 1e-12);
        assert_eq!(c.violation_rate(), Some(11.0 / 12.0));
    }

    #[test]
    fn tracks_the_aim_on_a_stationary_process() {
        // Violation happens when a deterministic pseudo-random "demand ratio" exceeds the headroom.
        let mut c = HeadroomController::new(HeadroomConfig::default()).unwrap();
        let mut x: u64 = 12345;
        let mut late = 0;
        for i in 0..200_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let ratio = 0.8 + 0.6 * u * u; // in [0.8, 1.4]
            let v = ratio > c.headroom();
            if i >= 100_000 && v {
                late += 1;
            }
            c.observe(v);
        }
        let rate = late as f64 / 100_000.0;
        assert!((rate - 0.005).abs() < 0.002, "rate {rate}");
        assert!(HeadroomConfig {
            budget: 0.0,
            ..HeadroomConfig::default()
        }
        .validate()
        .is_err());
    }
}

//! Hedge (multiplicative weights) headroom controller with a Lagrangian violation budget.
//!
//! The controller keeps one weight per headroom level on a geometric grid `[min, max]`. Once the
//! outcome of a step is known, every level is scored counterfactually: the replicas it would have
//! requested for that step (`max(ceil(sized_on × level / c), floor)`), their cost relative to the
//! step's true need, plus `λ` if those replicas would have been under-provisioned. Weights follow
//! `log w ← discount × log w − eta × loss` (Freund & Schapire's Hedge, discounted so it tracks a
//! drifting workload). `λ` is a dual variable: raised multiplicatively after a real violation and
//! lowered while the realized rate stays under the aim (`budget × aim_fraction`), so the trade-off
//! between cost and violations is learned per workload. The headroom used is the weighted
//! `quantile` of the levels.

use crate::error::invalid;
use crate::PolicyError;

/// How a level turns the forecast into the demand to provision for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelScale {
    /// `upper × level` (levels on a geometric grid).
    Multiplier,
    /// `point + level × (upper − point)`: levels count interval half-widths (linear grid).
    Widths,
}

/// Hedge controller settings (the violation budget lives in [`crate::HeadroomConfig`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HedgeConfig {
    /// How levels apply to the forecast.
    pub scale: LevelScale,
    /// Lowest headroom level.
    pub min: f64,
    /// Highest headroom level.
    pub max: f64,
    /// Number of levels on the geometric grid (at least 2).
    pub levels: usize,
    /// Hedge learning rate on the per-step loss.
    pub eta: f64,
    /// Multiplier (0, 1] applied to the log-weights each step; 1 = no forgetting.
    pub discount: f64,
    /// Initial price of one violation, in step-costs (multiples of the true need).
    pub lambda_initial: f64,
    /// Log-space learning rate of `λ`: a violation multiplies it by `exp(rate × (1 − aim))`, a
    /// step within budget by `exp(−rate × aim)`.
    pub lambda_rate: f64,
    /// Lowest price of a violation.
    pub lambda_min: f64,
    /// Highest price of a violation: the most the controller pays, in step-costs, to avoid one.
    /// It caps what a workload whose violations are unforeseeable bursts spends chasing its
    /// budget (default 50: across the 44 shared series a cap of 50 gave fewer violations at
    /// equal mean cost than 100 or 10 000, `bench/simulate.sh`).
    pub lambda_max: f64,
    /// Weighted quantile of the levels used as the headroom (0.5 = weighted median).
    pub quantile: f64,
}

impl Default for HedgeConfig {
    fn default() -> Self {
        HedgeConfig {
            scale: LevelScale::Multiplier,
            min: 0.5,
            max: 2.0,
            levels: 25,
            eta: 0.5,
            discount: 0.995,
            lambda_initial: 20.0,
            lambda_rate: 0.2,
            lambda_min: 1.0,
            lambda_max: 50.0,
            quantile: 0.5,
        }
    }
}

impl HedgeConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let lowest = match self.scale {
            LevelScale::Multiplier => f64::MIN_POSITIVE,
            LevelScale::Widths => f64::NEG_INFINITY,
        };
        if !(self.min >= lowest && self.min < self.max && self.max.is_finite()) {
            return Err(invalid(
                "hedge.min",
                self.min,
                "need min < max (min > 0 for multipliers)",
            ));
        }
        if self.levels < 2 {
            return Err(invalid("hedge.levels", self.levels as f64, "need >= 2"));
        }
        if !(self.eta > 0.0 && self.eta.is_finite()) {
            return Err(invalid("hedge.eta", self.eta, "must be positive"));
        }
        if !(self.discount > 0.0 && self.discount <= 1.0) {
            return Err(invalid(
                "hedge.discount",
                self.discount,
                "must lie in (0, 1]",
            ));
        }
        if !(self.lambda_min > 0.0
            && self.lambda_min <= self.lambda_initial
            && self.lambda_initial <= self.lambda_max
            && self.lambda_max.is_finite())
        {
            return Err(invalid(
                "hedge.lambda_initial",
                self.lambda_initial,
                "need 0 < lambda_min <= lambda_initial <= lambda_max",
            ));
        }
        if !(self.lambda_rate > 0.0 && self.lambda_rate.is_finite()) {
            return Err(invalid(
                "hedge.lambda_rate",
                self.lambda_rate,
                "must be positive",
            ));
        }
        if !(self.quantile > 0.0 && self.quantile < 1.0) {
            return Err(invalid(
                "hedge.quantile",
                self.quantile,
                "must lie in (0, 1)",
            ));
        }
        Ok(())
    }
}

/// What the decision for a step, now observed, was sized on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Forecast point at the lead time.
    pub point: f64,
    /// Forecast upper bound at the lead time.
    pub upper: f64,
    /// Replicas every level requests at least (the need at decision time).
    pub floor: u32,
    /// Demand one replica serves.
    pub capacity: f64,
    /// Demand observed at the step the decision was for.
    pub demand: f64,
}

/// Hedge controller state.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgeController {
    cfg: HedgeConfig,
    aim: f64,
    levels: Vec<f64>,
    log_w: Vec<f64>,
    lambda: f64,
    headroom: f64,
}

impl HedgeController {
    /// A validated controller with uniform weights; `aim` is the target violation rate.
    pub fn new(cfg: HedgeConfig, aim: f64) -> Result<Self, PolicyError> {
        cfg.validate()?;
        if !(aim > 0.0 && aim < 1.0) {
            return Err(invalid("aim", aim, "must lie in (0, 1)"));
        }
        let n = cfg.levels;
        let levels: Vec<f64> = match cfg.scale {
            LevelScale::Multiplier => {
                let ratio = (cfg.max / cfg.min).ln() / (n - 1) as f64;
                (0..n).map(|i| cfg.min * (ratio * i as f64).exp()).collect()
            }
            LevelScale::Widths => {
                let stride = (cfg.max - cfg.min) / (n - 1) as f64;
                (0..n).map(|i| cfg.min + stride * i as f64).collect()
            }
        };
        let mut c = HedgeController {
            cfg,
            aim,
            log_w: vec![0.0; n],
            levels,
            lambda: cfg.lambda_initial,
            headroom: 1.0,
        };
        c.headroom = c.quantile_level();
        Ok(c)
    }

    /// Current level: the weighted quantile of the grid.
    pub fn headroom(&self) -> f64 {
        self.headroom
    }

    /// Demand to provision for at `level` given the forecast `point` and `upper` bound.
    pub fn provision_for(&self, level: f64, point: f64, upper: f64) -> f64 {
        match self.cfg.scale {
            LevelScale::Multiplier => upper * level,
            LevelScale::Widths => (point + level * (upper - point)).max(0.0),
        }
    }

    /// The headroom grid.
    pub fn levels(&self) -> &[f64] {
        &self.levels
    }

    /// Current price of a violation.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Normalized weights of the levels.
    pub fn weights(&self) -> Vec<f64> {
        let top = self.log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = self.log_w.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = w.iter().sum();
        w.into_iter().map(|x| x / total).collect()
    }

    fn quantile_level(&self) -> f64 {
        let w = self.weights();
        let mut acc = 0.0;
        for (level, wi) in self.levels.iter().zip(&w) {
            acc += wi;
            if acc >= self.cfg.quantile {
                return *level;
            }
        }
        self.cfg.max
    }

    /// What it has learned (the predictive policy adds its effective headroom).
    pub fn state(&self, effective: Option<f64>) -> crate::HeadroomState {
        crate::HeadroomState::Hedge {
            log_weights: self.log_w.clone(),
            lambda: self.lambda,
            effective,
        }
    }

    /// Continues from `state` (learned elsewhere): one finite log-weight per level and a price
    /// within `[lambda_min, lambda_max]`, else refused with nothing changed. Returns the carried
    /// effective headroom.
    pub fn restore(&mut self, state: &crate::HeadroomState) -> Result<Option<f64>, PolicyError> {
        let crate::HeadroomState::Hedge {
            log_weights,
            lambda,
            effective,
        } = state
        else {
            return Err(PolicyError::Invalid {
                field: "controller",
                value: "aci".into(),
                reason: "an ACI state cannot continue a Hedge controller",
            });
        };
        if log_weights.len() != self.levels.len() {
            return Err(invalid(
                "log_weights",
                log_weights.len(),
                "a restored state needs one weight per level of this grid",
            ));
        }
        if let Some(bad) = log_weights.iter().find(|l| !l.is_finite()) {
            return Err(invalid(
                "log_weights",
                bad,
                "a restored weight must be finite",
            ));
        }
        let (lo, hi) = (
            self.cfg.lambda_min * (1.0 - 1e-12),
            self.cfg.lambda_max * (1.0 + 1e-12),
        );
        if !(lambda.is_finite() && *lambda >= lo && *lambda <= hi) {
            return Err(invalid(
                "lambda",
                lambda,
                "a restored price must lie within [lambda_min, lambda_max]",
            ));
        }
        if let Some(e) = effective.filter(|e| !(e.is_finite() && *e > 0.0)) {
            return Err(invalid(
                "effective",
                e,
                "a restored effective headroom must be positive",
            ));
        }
        let top = log_weights
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        self.log_w = log_weights.iter().map(|l| l - top).collect();
        self.lambda = lambda.clamp(self.cfg.lambda_min, self.cfg.lambda_max);
        self.headroom = self.quantile_level();
        Ok(*effective)
    }

    /// Scores every level on `outcome`, then moves `λ` on whether the real step was violated.
    pub fn observe(&mut self, outcome: Outcome, violated: bool) {
        let c = outcome.capacity;
        if c > 0.0
            && c.is_finite()
            && outcome.demand.is_finite()
            && outcome.point.is_finite()
            && outcome.upper.is_finite()
        {
            let true_need = crate::replicas_for(outcome.demand, c).max(1);
            let asks: Vec<u32> = self
                .levels
                .iter()
                .map(|&l| {
                    crate::replicas_for(self.provision_for(l, outcome.point, outcome.upper), c)
                        .max(outcome.floor)
                })
                .collect();
            for (lw, &r) in self.log_w.iter_mut().zip(&asks) {
                let under = outcome.demand > c * f64::from(r);
                let loss =
                    f64::from(r) / f64::from(true_need) + if under { self.lambda } else { 0.0 };
                *lw = self.cfg.discount * *lw - self.cfg.eta * loss;
            }
            let top = self.log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            self.log_w.iter_mut().for_each(|l| *l -= top);
        }
        let err = if violated { 1.0 } else { 0.0 };
        self.lambda = (self.lambda * (self.cfg.lambda_rate * (err - self.aim)).exp())
            .clamp(self.cfg.lambda_min, self.cfg.lambda_max);
        self.headroom = self.quantile_level();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> HedgeConfig {
        HedgeConfig {
            scale: LevelScale::Multiplier,
            min: 1.0,
            max: 2.0,
            levels: 2,
            eta: 1.0,
            discount: 1.0,
            lambda_initial: 10.0,
            lambda_rate: 0.1,
            lambda_min: 1.0,
            lambda_max: 100.0,
            quantile: 0.5,
        }
    }

    #[test]
    fn known_answer_two_levels() {
        let mut h = HedgeController::new(cfg(), 0.1).unwrap();
        assert_eq!(h.levels(), &[1.0, 2.0]);
        // Uniform weights: the median is the lower level.
        assert_eq!(h.headroom(), 1.0);
        // c = 1, sized on 10, demand 10: level 1 asks 10 (cost 1), level 2 asks 20 (cost 2).
        let calm = Outcome {
            point: 10.0,
            upper: 10.0,
            floor: 0,
            capacity: 1.0,
            demand: 10.0,
        };
        h.observe(calm, false);
        let w = h.weights();
        let e = (-1.0f64).exp();
        assert!((w[0] - 1.0 / (1.0 + e)).abs() < 1e-12, "{w:?}");
        // λ falls by exp(0.1 × (0 − 0.1)) = exp(−0.01).
        assert!((h.lambda() - 10.0 * (-0.01f64).exp()).abs() < 1e-12);
        // A burst to 15: level 1 under (loss 10/15 + λ), level 2 fine (loss 20/15).
        let lam = h.lambda();
        let burst = Outcome {
            demand: 15.0,
            ..calm
        };
        h.observe(burst, true);
        let w = h.weights();
        let d0 = -1.0 - (10.0 / 15.0 + lam);
        let d1 = -2.0 - 20.0 / 15.0;
        let expect0 = 1.0 / (1.0 + (d1 - d0).exp());
        assert!((w[0] - expect0).abs() < 1e-12, "{w:?}");
        assert_eq!(h.headroom(), 2.0);
        assert!((h.lambda() - lam * (0.1f64 * 0.9).exp()).abs() < 1e-9);
    }

    #[test]
    fn floor_caps_the_cost_of_low_levels() {
        let mut h = HedgeController::new(cfg(), 0.1).unwrap();
        let o = Outcome {
            point: 1.0,
            upper: 1.0,
            floor: 30,
            capacity: 1.0,
            demand: 10.0,
        };
        h.observe(o, false);
        let w = h.weights();
        assert!(
            (w[0] - 0.5).abs() < 1e-12,
            "both levels ask the floor: {w:?}"
        );
    }

    #[test]
    fn violation_rate_stays_near_budget_on_a_stationary_process() {
        let mut h = HedgeController::new(HedgeConfig::default(), 0.01).unwrap();
        let mut x: u64 = 987654321;
        let (mut late, mut cost) = (0, 0.0);
        for i in 0..40_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let demand = 100.0 * (0.8 + 0.6 * u * u); // ratio to the forecast in [0.8, 1.4]
            let r = crate::replicas_for(100.0 * h.headroom(), 1.0);
            let v = demand > f64::from(r);
            if i >= 20_000 {
                late += usize::from(v);
                cost += h.headroom();
            }
            h.observe(
                Outcome {
                    point: 100.0,
                    upper: 100.0,
                    floor: 0,
                    capacity: 1.0,
                    demand,
                },
                v,
            );
        }
        let rate = late as f64 / 20_000.0;
        let mean_h = cost / 20_000.0;
        assert!(rate < 0.03, "rate {rate}");
        assert!(mean_h < 1.6, "mean headroom {mean_h}");
    }
}

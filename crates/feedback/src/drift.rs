//! Drift: a two-sided CUSUM on prewhitened residuals standardized by their robust scale (forecast
//! residuals are autocorrelated, which would otherwise fire a CUSUM on noise; see
//! [`RobustScale::whitened`]), clipped so a lone outlier cannot fire it, plus the recent band coverage falling well below its nominal level.
//! Fires once, then stays quiet until `reset` (called after the refit it triggered), which also
//! restarts the sums, the coverage window and the scale (a refractory period of
//! `scale.min_residuals` steps).

use crate::{Direction, DriftConfig, Outcome, RobustScale, ScaleConfig};
use prescale_core::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Why drift was declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DriftReason {
    /// The residuals' mean moved: the CUSUM statistic (in robust σ) crossed the threshold.
    MeanShift {
        direction: Direction,
        statistic: f64,
    },
    /// The band covered `observed` of the last `window` actuals against a nominal `nominal`
    /// (both shares in [0, 1]).
    Coverage {
        observed: f64,
        nominal: f64,
        window: usize,
    },
}

/// A drift declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub reason: DriftReason,
    pub at_step: u64,
    pub at: Timestamp,
}

/// The drift detector of one workload.
#[derive(Debug, Clone)]
pub struct DriftDetector {
    cfg: DriftConfig,
    scale: RobustScale,
    pos: f64,
    neg: f64,
    coverage: VecDeque<bool>,
    fired: Option<Drift>,
}

impl DriftDetector {
    /// A detector (validate the configs first).
    pub fn new(cfg: &DriftConfig, scale: &ScaleConfig) -> DriftDetector {
        DriftDetector {
            cfg: cfg.clone(),
            scale: RobustScale::new(scale),
            pos: 0.0,
            neg: 0.0,
            coverage: VecDeque::new(),
            fired: None,
        }
    }

    /// Feeds one lead-horizon outcome; `excluded` outcomes (anomalies kept out of training) are
    /// skipped. Returns a drift the first time one is found after (re)arming.
    pub fn observe(&mut self, o: &Outcome, excluded: bool) -> Option<Drift> {
        if excluded || self.fired.is_some() {
            return None;
        }
        let mut reason = None;
        if let (Some((rho, s)), Some(prev)) = (self.scale.whitened(), self.scale.last()) {
            let z = ((o.error - rho * prev) / s).clamp(-self.cfg.clip, self.cfg.clip);
            self.pos = (self.pos + z - self.cfg.allowance).max(0.0);
            self.neg = (self.neg - z - self.cfg.allowance).max(0.0);
            if self.pos > self.cfg.threshold {
                reason = Some(DriftReason::MeanShift {
                    direction: Direction::Above,
                    statistic: self.pos,
                });
            } else if self.neg > self.cfg.threshold {
                reason = Some(DriftReason::MeanShift {
                    direction: Direction::Below,
                    statistic: self.neg,
                });
            }
        }
        self.scale.push(o.error, o.actual);
        self.coverage.push_back(o.covered);
        while self.coverage.len() > self.cfg.coverage_window {
            self.coverage.pop_front();
        }
        if reason.is_none() && self.coverage.len() == self.cfg.coverage_window {
            let observed = self.coverage_share().unwrap_or(1.0);
            let nominal = o.level / 100.0;
            if observed < nominal - self.cfg.coverage_drop {
                reason = Some(DriftReason::Coverage {
                    observed,
                    nominal,
                    window: self.cfg.coverage_window,
                });
            }
        }
        let drift = reason.map(|reason| Drift {
            reason,
            at_step: o.target_step,
            at: o.observed_at,
        });
        self.fired.clone_from(&drift);
        drift
    }

    /// The coverage over the window so far.
    pub fn coverage_share(&self) -> Option<f64> {
        (!self.coverage.is_empty()).then(|| {
            self.coverage.iter().filter(|&&c| c).count() as f64 / self.coverage.len() as f64
        })
    }

    /// The CUSUM statistics (upward, downward) in robust σ.
    pub fn statistics(&self) -> (f64, f64) {
        (self.pos, self.neg)
    }

    /// The drift declared and not yet reset.
    pub fn fired(&self) -> Option<&Drift> {
        self.fired.as_ref()
    }

    /// Whether the detector can fire.
    pub fn armed(&self) -> bool {
        self.fired.is_none()
    }

    /// Re-arms after a refit: clears the sums, the coverage window and the residual scale.
    pub fn reset(&mut self) {
        self.pos = 0.0;
        self.neg = 0.0;
        self.coverage.clear();
        self.scale.clear();
        self.fired = None;
    }
}

//! Error and interval-coverage statistics per (model, horizon) and overall, over all time and over
//! a recent window.
//!
//! Percentage error is the symmetric MAPE, `2|a − p| / (|a| + |p|)` per outcome (a share in
//! [0, 2], reported as a share, not ×100); an outcome with `a = p = 0` counts as 0 (a perfect
//! forecast of zero demand), so sMAPE is defined for every outcome.

use crate::{AccuracyConfig, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// The per-outcome terms the statistics are sums of.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Term {
    error: f64,
    smape: f64,
    covered: bool,
}

impl Term {
    fn of(o: &Outcome) -> Term {
        let denom = o.actual.abs() + o.predicted.abs();
        Term {
            error: o.error,
            smape: if denom > 0.0 {
                2.0 * o.error.abs() / denom
            } else {
                0.0
            },
            covered: o.covered,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sums {
    n: u64,
    abs: f64,
    sq: f64,
    err: f64,
    smape: f64,
    covered: u64,
}

impl Sums {
    fn add(&mut self, t: Term) {
        self.n += 1;
        self.abs += t.error.abs();
        self.sq += t.error * t.error;
        self.err += t.error;
        self.smape += t.smape;
        self.covered += u64::from(t.covered);
    }

    fn summary(&self) -> ErrorSummary {
        let n = self.n as f64;
        let per = |s: f64| (self.n > 0).then(|| s / n);
        ErrorSummary {
            count: self.n,
            mae: per(self.abs),
            rmse: per(self.sq).map(f64::sqrt),
            bias: per(self.err),
            smape: per(self.smape),
            coverage: per(self.covered as f64),
        }
    }
}

/// Error statistics over a set of outcomes; every figure is `None` when there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSummary {
    pub count: u64,
    /// Mean absolute error.
    pub mae: Option<f64>,
    /// Root mean squared error.
    pub rmse: Option<f64>,
    /// Mean of `actual − predicted` (positive: forecasts run low).
    pub bias: Option<f64>,
    /// Symmetric MAPE as a share (see the module notes).
    pub smape: Option<f64>,
    /// Share of actuals inside the prediction band, in [0, 1].
    pub coverage: Option<f64>,
}

/// Running statistics of one stream of outcomes.
#[derive(Debug, Clone)]
pub struct ErrorStats {
    all: Sums,
    recent: VecDeque<Term>,
    window: usize,
    level: Option<f64>,
}

impl ErrorStats {
    /// Empty statistics with a recent window of `window` outcomes (at least 1).
    pub fn new(window: usize) -> ErrorStats {
        ErrorStats {
            all: Sums::default(),
            recent: VecDeque::new(),
            window: window.max(1),
            level: None,
        }
    }

    /// Adds one outcome.
    pub fn add(&mut self, o: &Outcome) {
        let t = Term::of(o);
        self.all.add(t);
        self.recent.push_back(t);
        while self.recent.len() > self.window {
            self.recent.pop_front();
        }
        self.level = Some(o.level);
    }

    /// Over all outcomes seen.
    pub fn all_time(&self) -> ErrorSummary {
        self.all.summary()
    }

    /// Over the most recent `window` outcomes (recomputed, so no rounding drift accumulates).
    pub fn recent(&self) -> ErrorSummary {
        let mut s = Sums::default();
        self.recent.iter().for_each(|&t| s.add(t));
        s.summary()
    }

    /// The nominal level (percent) of the latest outcome's band.
    pub fn level(&self) -> Option<f64> {
        self.level
    }
}

/// One row of `/api/v1/models`: a model at a horizon, or (`None`s) everything together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelStats {
    /// The model; `None` = all models.
    pub model: Option<String>,
    /// Steps ahead; `None` = all horizons.
    pub horizon: Option<usize>,
    /// Nominal band level in percent (the latest outcome's).
    pub level: Option<f64>,
    pub all_time: ErrorSummary,
    /// Over the last `recent_window` outcomes.
    pub recent: ErrorSummary,
    pub recent_window: usize,
}

#[derive(Debug, Clone)]
struct Row {
    stats: ErrorStats,
    touched: u64,
}

/// Accuracy of one workload's forecasts per (model, horizon) and overall.
#[derive(Debug, Clone)]
pub struct Accuracy {
    window: usize,
    max_rows: usize,
    rows: BTreeMap<(String, usize), Row>,
    overall: ErrorStats,
    clock: u64,
}

impl Accuracy {
    pub fn new(cfg: &AccuracyConfig) -> Accuracy {
        Accuracy {
            window: cfg.recent_window.max(1),
            max_rows: cfg.max_rows.max(1),
            rows: BTreeMap::new(),
            overall: ErrorStats::new(cfg.recent_window),
            clock: 0,
        }
    }

    /// Adds one outcome to its (model, horizon) row and to the overall row.
    pub fn add(&mut self, o: &Outcome) {
        self.clock += 1;
        let key = (o.model.clone(), o.horizon);
        if !self.rows.contains_key(&key) && self.rows.len() >= self.max_rows {
            let oldest = self
                .rows
                .iter()
                .min_by_key(|(_, r)| r.touched)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.rows.remove(&k);
            }
        }
        let row = self.rows.entry(key).or_insert_with(|| Row {
            stats: ErrorStats::new(self.window),
            touched: 0,
        });
        row.stats.add(o);
        row.touched = self.clock;
        self.overall.add(o);
    }

    /// The statistics of `model` at `horizon`.
    pub fn get(&self, model: &str, horizon: usize) -> Option<&ErrorStats> {
        self.rows
            .get(&(model.to_string(), horizon))
            .map(|r| &r.stats)
    }

    /// All outcomes together.
    pub fn overall(&self) -> &ErrorStats {
        &self.overall
    }

    fn row(&self, model: Option<String>, horizon: Option<usize>, s: &ErrorStats) -> ModelStats {
        ModelStats {
            model,
            horizon,
            level: s.level(),
            all_time: s.all_time(),
            recent: s.recent(),
            recent_window: self.window,
        }
    }

    /// One row per (model, horizon), sorted, then the overall row.
    pub fn rows(&self) -> Vec<ModelStats> {
        let mut out: Vec<ModelStats> = self
            .rows
            .iter()
            .map(|((m, h), r)| self.row(Some(m.clone()), Some(*h), &r.stats))
            .collect();
        out.push(self.row(None, None, &self.overall));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::Timestamp;

    fn outcome(model: &str, horizon: usize, predicted: f64, actual: f64, covered: bool) -> Outcome {
        let error = actual - predicted;
        Outcome {
            target_step: 0,
            observed_at: Timestamp(0),
            origin_step: 0,
            made_at: Timestamp(0),
            horizon,
            model: model.into(),
            predicted,
            lower: 0.0,
            upper: 0.0,
            level: 90.0,
            actual,
            error,
            abs_pct_error: None,
            covered,
        }
    }

    #[test]
    fn known_answers() {
        let mut s = ErrorStats::new(2);
        assert_eq!(s.all_time().mae, None);
        s.add(&outcome("m", 1, 10.0, 12.0, true)); // e = 2, smape 4/22
        s.add(&outcome("m", 1, 10.0, 6.0, false)); // e = -4, smape 8/16
        s.add(&outcome("m", 1, 0.0, 0.0, true)); // e = 0, smape 0 by rule
        let a = s.all_time();
        assert_eq!(a.count, 3);
        assert_eq!(a.mae, Some(2.0));
        assert!((a.rmse.unwrap() - (20.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((a.bias.unwrap() + 2.0 / 3.0).abs() < 1e-12);
        assert!((a.smape.unwrap() - (4.0 / 22.0 + 0.5) / 3.0).abs() < 1e-12);
        assert!((a.coverage.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let r = s.recent();
        assert_eq!((r.count, r.mae, r.coverage), (2, Some(2.0), Some(0.5)));
        assert_eq!(s.level(), Some(90.0));
    }

    #[test]
    fn rows_per_model_and_horizon_plus_overall_and_bounded() {
        let mut acc = Accuracy::new(&AccuracyConfig {
            recent_window: 10,
            max_rows: 2,
        });
        acc.add(&outcome("a", 1, 1.0, 2.0, true));
        acc.add(&outcome("a", 3, 1.0, 2.0, true));
        acc.add(&outcome("a", 1, 1.0, 2.0, true));
        acc.add(&outcome("b", 1, 1.0, 1.0, true)); // evicts (a, 3), the least recently updated
        let rows = acc.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].model.as_deref(), Some("a"));
        assert_eq!(rows[0].all_time.count, 2);
        assert_eq!(rows[1].model.as_deref(), Some("b"));
        assert_eq!((rows[2].model.clone(), rows[2].all_time.count), (None, 4));
        assert!(acc.get("a", 3).is_none());
    }
}

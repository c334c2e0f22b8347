//! The ledger: remembers each forecast's prediction per asked horizon until its actual arrives,
//! then pairs them into outcomes. Memory is bounded: predictions for steps already observed
//! (or passed over) are dropped, and at most `max_pending` wait.

use crate::{FeedbackError, LedgerConfig};
use prescale_core::{Forecast, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One remembered prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The step the forecast was made after (its last observed step).
    pub origin_step: u64,
    /// When the forecast was made.
    pub made_at: Timestamp,
    /// Steps ahead: the target is `origin_step + horizon`.
    pub horizon: usize,
    /// The model that made it.
    pub model: String,
    pub point: f64,
    pub lower: f64,
    pub upper: f64,
    /// Nominal band level in percent.
    pub level: f64,
}

/// A prediction scored against its actual.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The step predicted and observed.
    pub target_step: u64,
    /// When the actual was observed.
    pub observed_at: Timestamp,
    pub origin_step: u64,
    pub made_at: Timestamp,
    pub horizon: usize,
    pub model: String,
    pub predicted: f64,
    pub lower: f64,
    pub upper: f64,
    /// Nominal band level in percent.
    pub level: f64,
    pub actual: f64,
    /// `actual − predicted` (positive: demand came in above the forecast).
    pub error: f64,
    /// `|error| / |actual|`; `None` when the actual is 0.
    pub abs_pct_error: Option<f64>,
    /// `lower ≤ actual ≤ upper`.
    pub covered: bool,
}

impl Outcome {
    fn new(p: Prediction, target_step: u64, observed_at: Timestamp, actual: f64) -> Outcome {
        let error = actual - p.point;
        Outcome {
            target_step,
            observed_at,
            origin_step: p.origin_step,
            made_at: p.made_at,
            horizon: p.horizon,
            model: p.model,
            predicted: p.point,
            lower: p.lower,
            upper: p.upper,
            level: p.level,
            actual,
            error,
            abs_pct_error: (actual != 0.0).then(|| error.abs() / actual.abs()),
            covered: p.lower <= actual && actual <= p.upper,
        }
    }
}

/// One workload's pending predictions keyed by target step.
#[derive(Debug, Clone)]
pub struct Ledger {
    max_pending: usize,
    pending: BTreeMap<u64, Vec<Prediction>>,
    len: usize,
    last_observed: Option<u64>,
    expired: u64,
}

impl Ledger {
    /// An empty ledger (validate the config first; a zero bound is treated as 1).
    pub fn new(cfg: &LedgerConfig) -> Ledger {
        Ledger {
            max_pending: cfg.max_pending.max(1),
            pending: BTreeMap::new(),
            len: 0,
            last_observed: None,
            expired: 0,
        }
    }

    /// Remembers `forecast`'s prediction (made after step `origin_step`; index `h − 1` is step
    /// `origin_step + h`) for each horizon `h` in `horizons`. Horizons beyond the forecast and
    /// targets already observed are skipped; a second record for the same origin and horizon
    /// replaces the first. Returns how many predictions were stored.
    pub fn record(
        &mut self,
        origin_step: u64,
        at: Timestamp,
        model: &str,
        forecast: &Forecast,
        horizons: &[usize],
    ) -> Result<usize, FeedbackError> {
        let mut fresh = Vec::with_capacity(horizons.len());
        for &h in horizons {
            if h == 0 {
                return Err(FeedbackError::ZeroHorizon { origin_step });
            }
            let target = origin_step.saturating_add(h as u64);
            if self.last_observed.is_some_and(|l| target <= l) {
                continue;
            }
            let (Some(&point), Some(&lower), Some(&upper)) = (
                forecast.point.get(h - 1),
                forecast.lower.get(h - 1),
                forecast.upper.get(h - 1),
            ) else {
                continue;
            };
            for (what, v) in [("point", point), ("lower", lower), ("upper", upper)] {
                if !v.is_finite() {
                    return Err(FeedbackError::NonFinite {
                        what,
                        step: target,
                        value: v,
                    });
                }
            }
            fresh.push((
                target,
                Prediction {
                    origin_step,
                    made_at: at,
                    horizon: h,
                    model: model.to_string(),
                    point,
                    lower,
                    upper,
                    level: forecast.level.percent(),
                },
            ));
        }
        let stored = fresh.len();
        for (target, p) in fresh {
            let slot = self.pending.entry(target).or_default();
            match slot
                .iter_mut()
                .find(|q| q.origin_step == p.origin_step && q.horizon == p.horizon)
            {
                Some(q) => *q = p,
                None => {
                    slot.push(p);
                    self.len += 1;
                }
            }
        }
        while self.len > self.max_pending {
            let Some((_, dropped)) = self.pending.pop_first() else {
                break;
            };
            self.len -= dropped.len();
            self.expired += dropped.len() as u64;
        }
        Ok(stored)
    }

    /// Scores every prediction targeting `step` against `actual` (shortest horizon first) and
    /// drops predictions for earlier steps, which can no longer be matched.
    pub fn observe(
        &mut self,
        step: u64,
        at: Timestamp,
        actual: f64,
    ) -> Result<Vec<Outcome>, FeedbackError> {
        if !actual.is_finite() {
            return Err(FeedbackError::NonFinite {
                what: "actual",
                step,
                value: actual,
            });
        }
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= step {
                break;
            }
            let dropped = entry.remove();
            self.len -= dropped.len();
            self.expired += dropped.len() as u64;
        }
        self.last_observed = Some(self.last_observed.map_or(step, |l| l.max(step)));
        let mut matched = self.pending.remove(&step).unwrap_or_default();
        self.len -= matched.len();
        matched.sort_by(|a, b| a.horizon.cmp(&b.horizon).then(a.model.cmp(&b.model)));
        Ok(matched
            .into_iter()
            .map(|p| Outcome::new(p, step, at, actual))
            .collect())
    }

    /// Predictions waiting for their actual.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Predictions dropped unmatched (their step was skipped, or the bound was reached).
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// The latest step observed.
    pub fn last_observed(&self) -> Option<u64> {
        self.last_observed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::Level;

    pub(crate) fn forecast(point: &[f64], half_width: f64) -> Forecast {
        Forecast {
            point: point.to_vec(),
            lower: point.iter().map(|p| p - half_width).collect(),
            upper: point.iter().map(|p| p + half_width).collect(),
            level: Level::new(90.0).unwrap_or_else(|_| unreachable!()),
        }
    }

    #[test]
    fn pairs_predictions_with_actuals() {
        let mut l = Ledger::new(&LedgerConfig::default());
        let f = forecast(&[10.0, 20.0, 30.0], 1.0);
        assert_eq!(l.record(5, Timestamp(0), "m", &f, &[1, 3, 9]), Ok(2));
        assert_eq!(l.pending(), 2);
        let o = l.observe(6, Timestamp(300_000), 12.0).unwrap();
        assert_eq!(o.len(), 1);
        let o = &o[0];
        assert_eq!((o.target_step, o.horizon, o.predicted), (6, 1, 10.0));
        assert_eq!(o.error, 2.0);
        assert_eq!(o.abs_pct_error, Some(2.0 / 12.0));
        assert!(!o.covered);
        assert_eq!(o.level, 90.0);
        // step 7 is skipped: nothing targeted it; step 8 matches horizon 3
        let o = l.observe(8, Timestamp(900_000), 0.0).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!((o[0].horizon, o[0].abs_pct_error), (3, None));
        assert_eq!(l.pending(), 0);
    }

    #[test]
    fn refuses_non_finite_and_zero_horizon() {
        let mut l = Ledger::new(&LedgerConfig::default());
        let f = forecast(&[1.0], 0.5);
        assert!(matches!(
            l.observe(1, Timestamp(0), f64::NAN),
            Err(FeedbackError::NonFinite { what: "actual", .. })
        ));
        assert_eq!(
            l.record(0, Timestamp(0), "m", &f, &[0]),
            Err(FeedbackError::ZeroHorizon { origin_step: 0 })
        );
        let bad = forecast(&[f64::INFINITY], 0.5);
        assert!(l.record(0, Timestamp(0), "m", &bad, &[1]).is_err());
        assert_eq!(l.pending(), 0);
    }

    #[test]
    fn skipped_steps_expire_and_rerecords_replace() {
        let mut l = Ledger::new(&LedgerConfig::default());
        let f = forecast(&[1.0, 2.0], 0.5);
        l.record(0, Timestamp(0), "m", &f, &[1, 2]).unwrap();
        l.record(0, Timestamp(0), "m", &f, &[1, 2]).unwrap();
        assert_eq!(l.pending(), 2);
        assert!(l.observe(2, Timestamp(0), 2.0).unwrap().len() == 1);
        assert_eq!(l.expired(), 1);
        // a target already observed is not recorded
        assert_eq!(l.record(0, Timestamp(0), "m", &f, &[1, 2]), Ok(0));
    }
}

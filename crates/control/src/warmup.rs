//! Warm-up before a predicted surge: a workload's `warmup` action (a webhook or exec target the
//! daemon runs) is fired `before` ahead of the first forecast step whose demand exceeds the
//! current level by more than `rise`, once per surge.
//!
//! The current level is the mean demand of the last [`BASELINE_STEPS`] complete steps. Each
//! decision with a forecast looks for the first step `i` (starting at `end + i·step`, `end` the
//! end of the last complete step) with `point[i] > level × (1 + rise)`; when that step starts
//! within `before` of now, the warm-up fires (late, and said so, when the surge was first seen
//! closer than `before`). It then stays disarmed until the surge's start has passed and no rise is
//! predicted any more, so a surge predicted over several decisions fires once.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Complete steps whose mean demand is the level a rise is measured from.
pub const BASELINE_STEPS: usize = 3;

/// When a warm-up fires (`[workload.warmup]`; the target is the daemon's).
#[derive(Debug, Clone, PartialEq)]
pub struct WarmupSpec {
    /// How long before the predicted surge starts.
    pub before: Duration,
    /// The rise over the current level that makes a surge, as a fraction (0.5: +50 %).
    pub rise: f64,
}

impl WarmupSpec {
    /// The first invalid field, with why.
    pub fn problem(&self) -> Option<(&'static str, String, &'static str)> {
        if self.before.is_zero() {
            return Some((
                "warmup.before",
                format!("{:?}", self.before),
                "must be positive",
            ));
        }
        if !(self.rise.is_finite() && self.rise > 0.0) {
            return Some((
                "warmup.rise",
                self.rise.to_string(),
                "must be a positive, finite fraction",
            ));
        }
        None
    }
}

/// A warm-up fired with a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupFired {
    /// Start (Unix ms) of the first step predicted to rise.
    pub surge_at: i64,
    /// Mean demand of the last complete steps, and the forecast at the surge.
    pub level: f64,
    pub predicted: f64,
    /// `predicted / level − 1`.
    pub rise: f64,
    /// Seconds from the decision to the surge's start.
    pub ahead_s: f64,
    /// The surge was first seen closer than `before`.
    pub late: bool,
    /// What the warm-up target did (filled by whoever fired it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// The warm-up state of one workload.
#[derive(Debug, Clone)]
pub(crate) struct Warmup {
    spec: WarmupSpec,
    /// The surge start fired for, while it is still ahead or predicted.
    fired_for: Option<i64>,
}

impl Warmup {
    pub fn new(spec: WarmupSpec) -> Self {
        Warmup {
            spec,
            fired_for: None,
        }
    }

    /// Looks at a forecast whose point `i` is the step starting at `first + i·step_ms`, at
    /// `now_ms`, with the recent history (oldest first); returns the warm-up to fire, if any.
    pub fn check(
        &mut self,
        now_ms: i64,
        first: i64,
        step_ms: i64,
        point: &[f64],
        history: &[f64],
    ) -> Option<WarmupFired> {
        let recent = &history[history.len().saturating_sub(BASELINE_STEPS)..];
        let recent: Vec<f64> = recent.iter().copied().filter(|v| v.is_finite()).collect();
        if recent.is_empty() {
            return None;
        }
        let level = recent.iter().sum::<f64>() / recent.len() as f64;
        let threshold = level.max(0.0) * (1.0 + self.spec.rise);
        let surge = point
            .iter()
            .position(|p| p.is_finite() && *p > threshold && *p > 0.0)
            .map(|i| {
                (
                    first.saturating_add(step_ms.saturating_mul(i as i64)),
                    point[i],
                )
            });
        let Some((surge_at, predicted)) = surge else {
            // Re-armed once the surge fired for has started and no rise is predicted.
            if self.fired_for.is_some_and(|s| now_ms >= s) {
                self.fired_for = None;
            }
            return None;
        };
        if self.fired_for.is_some() {
            return None;
        }
        let before_ms = i64::try_from(self.spec.before.as_millis()).unwrap_or(i64::MAX);
        let ahead = surge_at.saturating_sub(now_ms);
        if ahead > before_ms {
            return None;
        }
        self.fired_for = Some(surge_at);
        Some(WarmupFired {
            surge_at,
            level,
            predicted,
            rise: if level > 0.0 {
                predicted / level - 1.0
            } else {
                f64::INFINITY
            },
            ahead_s: ahead as f64 / 1000.0,
            // Fired at the first decision that saw it, and that was already inside `before` by
            // more than a step: it would have fired earlier with a longer look-ahead.
            late: ahead < before_ms.saturating_sub(step_ms),
            outcome: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warmup() -> Warmup {
        Warmup::new(WarmupSpec {
            before: Duration::from_secs(120),
            rise: 0.5,
        })
    }

    #[test]
    fn fires_once_within_before_and_rearms_after_the_surge() {
        let mut w = warmup();
        let step = 60_000;
        let hist = [10.0, 10.0, 10.0];
        // Surge 4 steps ahead (starts 240 s after `first`, now = first): too early.
        assert_eq!(
            w.check(0, 0, step, &[10.0, 10.0, 10.0, 10.0, 30.0], &hist),
            None
        );
        // Two steps ahead: fires.
        let f = w
            .check(120_000, 120_000, step, &[10.0, 10.0, 30.0], &hist)
            .unwrap();
        assert_eq!(f.surge_at, 240_000);
        assert_eq!(f.ahead_s, 120.0);
        assert!((f.rise - 2.0).abs() < 1e-12);
        assert!(!f.late);
        // Still predicted: not again.
        assert_eq!(w.check(180_000, 180_000, step, &[10.0, 30.0], &hist), None);
        // During the surge the level is high: no rise, re-armed.
        assert_eq!(
            w.check(300_000, 300_000, step, &[30.0, 30.0], &[30.0, 30.0, 30.0]),
            None
        );
        let again = w.check(400_000, 400_000, step, &[60.0], &[30.0, 30.0, 30.0]);
        assert!(
            again.unwrap().late,
            "first seen one step ahead of a 2-step warm-up"
        );
    }

    #[test]
    fn bad_specs_and_inputs() {
        let bad = WarmupSpec {
            before: Duration::ZERO,
            rise: 0.5,
        };
        assert_eq!(bad.problem().unwrap().0, "warmup.before");
        let bad = WarmupSpec {
            before: Duration::from_secs(1),
            rise: f64::NAN,
        };
        assert_eq!(bad.problem().unwrap().0, "warmup.rise");
        let mut w = warmup();
        assert_eq!(
            w.check(0, 0, 60_000, &[f64::NAN, 50.0], &[]),
            None,
            "no level yet"
        );
        let f = w.check(0, 0, 60_000, &[f64::NAN, 50.0], &[f64::NAN, 10.0]);
        assert_eq!(
            f.unwrap().surge_at,
            60_000,
            "NaN points and history ignored"
        );
    }
}

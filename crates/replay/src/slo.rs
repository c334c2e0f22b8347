//! A replay's SLO in the workload's own terms: how its latency or queue series would have fared
//! under each policy's replicas. Latency is read off the response curve the history shows (the
//! series against load per replica, fitted non-decreasing); a backlog is simulated from the demand
//! each step leaves unserved. The history as it happened is reported beside, as the baseline.

use crate::SimResult;
use prescale_control::{SloKind, SloObjective};
use prescale_core::Sample;
use prescale_math::{increasing_fit, quantile_sorted};
use serde::Serialize;
use thiserror::Error;

/// Fewest (load per replica, value) pairs a latency response curve is fitted from.
pub const MIN_PAIRS: usize = 10;
/// Most knots of the response curve (equal-count bins of load per replica).
const KNOTS: usize = 20;

/// Why the SLO could not be estimated.
#[derive(Debug, Error, PartialEq)]
pub enum SloError {
    #[error(
        "{metric}: only {pairs} steps have both a value and the replicas then in force (at least {MIN_PAIRS} are needed to learn how it responds to load)"
    )]
    TooLittleHistory { metric: String, pairs: usize },
    #[error("{metric}: no stored samples in the replayed range")]
    NoSamples { metric: String },
    #[error("{metric}: sample at {ts} is {value}, not a finite value >= 0")]
    BadSample { metric: String, ts: i64, value: f64 },
}

/// The history an estimate reads besides the demand: the objective's series, and (for latency)
/// the replicas that were in force, e.g. from the decision log or a replicas series.
#[derive(Debug, Clone, Default)]
pub struct SloHistory {
    /// The objective's series, in time order.
    pub values: Vec<Sample>,
    /// Replica counts in time order, each in force until the next.
    pub replicas: Vec<Sample>,
}

/// How one capacity plan (a policy's, or the history's own) fares against the objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloFigures {
    /// Share of steps (in percent) whose value is over the ceiling.
    pub violation_pct: f64,
    /// 95th percentile of the per-step values.
    pub p95: f64,
    pub worst: f64,
    /// Steps whose load per replica lay beyond the history's (their latency is held at the
    /// curve's last value, so the estimate is optimistic there).
    pub extrapolated_steps: usize,
}

/// One policy's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySlo {
    pub name: String,
    #[serde(flatten)]
    pub figures: SloFigures,
}

/// The SLO of every policy of a replay, and of the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SloReport {
    pub metric: String,
    pub max: f64,
    pub kind: SloKind,
    /// The stored values, as they happened (steps with a value only).
    pub observed: SloFigures,
    /// Per policy, in the replay's order.
    pub policies: Vec<PolicySlo>,
    /// Pairs the latency response curve was fitted from (0 for a queue).
    pub fitted_pairs: usize,
}

/// Estimates `objective` for every policy of `result` from `history`.
pub fn estimate(
    result: &SimResult,
    objective: &SloObjective,
    history: &SloHistory,
) -> Result<SloReport, SloError> {
    let metric = objective.metric.to_string();
    if let Some(s) = history
        .values
        .iter()
        .chain(&history.replicas)
        .find(|s| !(s.value.is_finite() && s.value >= 0.0))
    {
        return Err(SloError::BadSample {
            metric,
            ts: s.ts.0,
            value: s.value,
        });
    }
    let step_ms = ((result.step_seconds * 1000.0).round() as i64).max(1);
    let observed = step_means(&history.values, result.start.0, step_ms, result.steps);
    let seen: Vec<f64> = observed.iter().flatten().copied().collect();
    if seen.is_empty() {
        return Err(SloError::NoSamples { metric });
    }
    let figures = |values: &[f64], extrapolated| figures(values, objective.max, extrapolated);
    let (policies, fitted_pairs) = match objective.kind {
        SloKind::Latency => {
            let replicas = in_force(&history.replicas, result.start.0, step_ms, result.steps);
            let pairs: Vec<(f64, f64)> = (0..result.steps)
                .filter_map(|t| match (observed[t], replicas[t]) {
                    (Some(v), Some(r)) if r > 0.0 => Some((result.demand[t] / r, v)),
                    _ => None,
                })
                .collect();
            if pairs.len() < MIN_PAIRS {
                return Err(SloError::TooLittleHistory {
                    metric,
                    pairs: pairs.len(),
                });
            }
            let curve = ResponseCurve::fit(pairs.clone());
            let runs = result
                .policies
                .iter()
                .map(|p| {
                    let mut beyond = 0;
                    let values: Vec<f64> = (0..result.steps)
                        .map(|t| {
                            let ready = f64::from(p.trace.ready[t]);
                            if ready == 0.0 {
                                return if result.demand[t] > 0.0 {
                                    f64::INFINITY
                                } else {
                                    curve.at(0.0).0
                                };
                            }
                            let (v, out) = curve.at(result.demand[t] / ready);
                            beyond += usize::from(out);
                            v
                        })
                        .collect();
                    PolicySlo {
                        name: p.name.clone(),
                        figures: figures(&values, beyond),
                    }
                })
                .collect();
            (runs, pairs.len())
        }
        SloKind::Queue => {
            let start = seen[0];
            let runs = result
                .policies
                .iter()
                .map(|p| {
                    let mut backlog = start;
                    let values: Vec<f64> = (0..result.steps)
                        .map(|t| {
                            let capacity =
                                f64::from(p.trace.ready[t]) * result.capacity_per_replica;
                            backlog = (backlog
                                + (result.demand[t] - capacity) * result.step_seconds)
                                .max(0.0);
                            backlog
                        })
                        .collect();
                    PolicySlo {
                        name: p.name.clone(),
                        figures: figures(&values, 0),
                    }
                })
                .collect();
            (runs, 0)
        }
    };
    Ok(SloReport {
        metric,
        max: objective.max,
        kind: objective.kind,
        observed: figures(&seen, 0),
        policies,
        fitted_pairs,
    })
}

fn figures(values: &[f64], max: f64, extrapolated_steps: usize) -> SloFigures {
    let over = values.iter().filter(|&&v| v > max).count();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    SloFigures {
        violation_pct: 100.0 * over as f64 / values.len().max(1) as f64,
        p95: quantile_sorted(&sorted, 0.95).unwrap_or(f64::NAN),
        worst: sorted.last().copied().unwrap_or(f64::NAN),
        extrapolated_steps,
    }
}

/// The mean of the samples in each step `[start + t·step, start + (t+1)·step)`.
fn step_means(samples: &[Sample], start: i64, step_ms: i64, steps: usize) -> Vec<Option<f64>> {
    let mut sums = vec![(0.0, 0usize); steps];
    for s in samples {
        let t = (s.ts.0 - start).div_euclid(step_ms);
        if let Some(slot) = usize::try_from(t).ok().and_then(|t| sums.get_mut(t)) {
            slot.0 += s.value;
            slot.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(sum, n)| (n > 0).then(|| sum / n as f64))
        .collect()
}

/// The last count at or before the end of each step (none before the first sample).
fn in_force(samples: &[Sample], start: i64, step_ms: i64, steps: usize) -> Vec<Option<f64>> {
    (0..steps)
        .map(|t| {
            let end = start.saturating_add((t as i64 + 1).saturating_mul(step_ms));
            let i = samples.partition_point(|s| s.ts.0 < end);
            i.checked_sub(1).map(|i| samples[i].value)
        })
        .collect()
}

/// A non-decreasing curve of the objective's value against load per replica, through the means of
/// equal-count bins of the history's pairs, linear between them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseCurve {
    /// (load per replica, value), load strictly increasing.
    knots: Vec<(f64, f64)>,
}

impl ResponseCurve {
    /// Fits the curve to (load, value) pairs (at least one).
    pub fn fit(mut pairs: Vec<(f64, f64)>) -> ResponseCurve {
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let per_bin = pairs.len().div_ceil(KNOTS).max(1);
        let bins: Vec<(f64, f64, f64)> = pairs
            .chunks(per_bin)
            .map(|c| {
                let n = c.len() as f64;
                let load = c.iter().map(|p| p.0).sum::<f64>() / n;
                let value = c.iter().map(|p| p.1).sum::<f64>() / n;
                (load, value, n)
            })
            .collect();
        let values: Vec<f64> = bins.iter().map(|b| b.1).collect();
        let weights: Vec<f64> = bins.iter().map(|b| b.2).collect();
        let fitted = increasing_fit(&values, &weights);
        let mut knots: Vec<(f64, f64)> = Vec::with_capacity(bins.len());
        for (b, v) in bins.iter().zip(fitted) {
            match knots.last_mut() {
                // Equal loads (e.g. a flat stretch) keep one knot, the higher value.
                Some(last) if b.0 <= last.0 => last.1 = last.1.max(v),
                _ => knots.push((b.0, v)),
            }
        }
        ResponseCurve { knots }
    }

    /// The value at `load`, and whether `load` lies beyond the last knot (held at its value).
    pub fn at(&self, load: f64) -> (f64, bool) {
        let (Some(&first), Some(&last)) = (self.knots.first(), self.knots.last()) else {
            return (f64::NAN, true);
        };
        if load <= first.0 {
            return (first.1, false);
        }
        if load > last.0 {
            return (last.1, true);
        }
        let i = self.knots.partition_point(|k| k.0 < load);
        let (a, b) = (self.knots[i - 1], self.knots[i]);
        (a.1 + (b.1 - a.1) * (load - a.0) / (b.0 - a.0), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_curve_is_non_decreasing_and_interpolates() {
        // Latency 0.1 s up to 50 per replica, then rising 0.01 s per unit; with noise.
        let pairs: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                let load = i as f64;
                let base = if load < 50.0 {
                    0.1
                } else {
                    0.1 + 0.01 * (load - 50.0)
                };
                (load, base + if i % 2 == 0 { 0.02 } else { -0.02 })
            })
            .collect();
        let c = ResponseCurve::fit(pairs);
        assert!(c
            .knots
            .windows(2)
            .all(|w| w[0].1 <= w[1].1 && w[0].0 < w[1].0));
        let (v, out) = c.at(150.0);
        assert!(!out);
        assert!((v - 1.1).abs() < 0.06, "{v}");
        assert!((c.at(10.0).0 - 0.1).abs() < 0.03);
        assert!(c.at(1000.0).1, "beyond the history");
    }
}

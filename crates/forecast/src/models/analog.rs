//! The analog (nearest-neighbour) forecaster, an `auto` candidate: the futures of the past moments
//! whose recent shape was closest to the origin's, merged by their median step by step.
//!
//! A moment `t` (the values before `t` known) is described by the last three values and twice
//! the mean of the last twelve. From an origin `o`, the `K` moments of the last `LIBRARY` whose
//! futures are wholly known before `o` and whose description lies nearest the origin's (Euclidean;
//! of equal distances the more recent) are found, and step `j` is forecast as the median of their
//! values `j` steps on. Where a workload switches between levels (an idle VM and its bursts, a batch
//! job's on and off) this forecasts what followed such states before, which no smoothing model
//! and no seasonal copy does: on the shared series (`bench/backtest.sh`, fleet models on) `auto`
//! with it measured mean MASE 0.873 against 0.919 without it.

use crate::path::PathModel;
use prescale_math::median_in_place;

/// Neighbours merged per forecast (k = 8 / 16 / 32 measured 0.900 / 0.884 / 0.891 with the whole
/// history as library and one weight on the mean).
pub const K: usize = 16;
/// Most past moments searched: one week of 5-minute steps (the whole 14-day history measured
/// 0.884, 3.5 days 0.893, one week 0.881).
pub const LIBRARY: usize = 2016;
/// Points of the recent mean in a moment's description.
const MEAN_WINDOW: usize = 12;
/// Weight of the recent mean against each of the last three values (1 measured 0.881, 2 0.873).
const MEAN_WEIGHT: f64 = 2.0;

/// The description of moment `t` (`t >= MEAN_WINDOW`).
fn key(y: &[f64], t: usize) -> [f64; 4] {
    let mean = y[t - MEAN_WINDOW..t].iter().sum::<f64>() / MEAN_WINDOW as f64;
    [y[t - 1], y[t - 2], y[t - 3], MEAN_WEIGHT * mean]
}

/// Forecasts each step as the median of what followed the [`K`] nearest past moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Analog;

impl Analog {
    /// The descriptions of moments `MEAN_WINDOW..=end` (none when `end < MEAN_WINDOW`).
    fn keys(y: &[f64], end: usize) -> Vec<[f64; 4]> {
        (MEAN_WINDOW..=end).map(|t| key(y, t)).collect()
    }
}

/// The `K` nearest of `keys[i]` to `q` for `i` in `lo..=hi`, scanned from `hi` down, a later one
/// kept over an earlier one at an equal distance; returned as indices into `keys`.
fn nearest(keys: &[[f64; 4]], q: &[f64; 4], lo: usize, hi: usize, best: &mut Vec<(f64, usize)>) {
    best.clear();
    for i in (lo..=hi).rev() {
        let k = &keys[i];
        let d = (k[0] - q[0]).powi(2)
            + (k[1] - q[1]).powi(2)
            + (k[2] - q[2]).powi(2)
            + (k[3] - q[3]).powi(2);
        if best.len() < K {
            let at = best.partition_point(|b| b.0 <= d);
            best.insert(at, (d, i));
        } else if d < best[K - 1].0 {
            best.pop();
            let at = best.partition_point(|b| b.0 <= d);
            best.insert(at, (d, i));
        }
    }
}

impl PathModel for Analog {
    /// The moments' descriptions are computed once for all origins; an origin with fewer than
    /// [`K`] past moments whose `h` steps are known forecasts its last value.
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let end = origins.iter().map(|&o| o.min(y.len())).max().unwrap_or(0);
        let keys = Analog::keys(y, end);
        let mut best = Vec::with_capacity(K + 1);
        let mut buf = Vec::with_capacity(K);
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                let last = o.checked_sub(1).map_or(0.0, |i| y[i]);
                // moments t with t + h <= o, t >= MEAN_WINDOW; key index t - MEAN_WINDOW
                let Some(hi) = o.checked_sub(h + MEAN_WINDOW) else {
                    return vec![last; h];
                };
                let lo = hi.saturating_sub(LIBRARY - 1);
                if o < MEAN_WINDOW || hi + 1 - lo < K {
                    return vec![last; h];
                }
                let q = keys[o - MEAN_WINDOW];
                nearest(&keys, &q, lo, hi, &mut best);
                (0..h)
                    .map(|j| {
                        buf.clear();
                        buf.extend(best.iter().map(|&(_, i)| y[i + MEAN_WINDOW + j]));
                        median_in_place(&mut buf).unwrap_or(last)
                    })
                    .collect()
            })
            .collect()
    }
    fn spec(&self) -> String {
        format!("Analog[{K}]")
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("k".to_string(), K as f64),
            ("library".to_string(), LIBRARY as f64),
        ]
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Off (0) for 20 to 40 steps, then on (10) for exactly 6: bursts whose start no model can
    /// know but whose length the past tells.
    fn bursts(n: usize) -> Vec<f64> {
        let mut y = Vec::with_capacity(n);
        let mut i = 0u64;
        while y.len() < n {
            i += 1;
            let off = 20 + (i * 7919 % 21) as usize;
            y.extend(std::iter::repeat_n(0.0, off));
            y.extend(std::iter::repeat_n(10.0, 6));
        }
        y.truncate(n);
        y
    }

    #[test]
    fn a_burst_is_forecast_to_last_as_long_as_bursts_did() {
        let y = bursts(3000);
        // an origin two steps into a burst
        let o = (2500..3000)
            .find(|&o| y[o - 1] == 10.0 && y[o - 2] == 10.0 && y[o - 3] == 0.0)
            .unwrap();
        let p = &Analog.paths(&y, &[o], 8)[0];
        assert_eq!(p, &[10.0, 10.0, 10.0, 10.0, 0.0, 0.0, 0.0, 0.0]);
        // naive would carry the burst on; a window median would call it over
        let off = (2500..3000).find(|&o| y[o - 1] == 0.0).unwrap();
        assert!(Analog.paths(&y, &[off], 3)[0].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn an_origin_reads_nothing_from_its_future_and_nothing_older_than_the_library() {
        let (o, h) = (4500, 12);
        // the oldest moment searched; its description reads the 12 values before it
        let oldest = o - h - LIBRARY + 1;
        // zeros, the origin after three 7s, and 20 earlier copies of that moment followed by 9s,
        // their moments starting at `first`
        let series = |first: usize| {
            let mut y = vec![0.0; 5000];
            y[o - 3..o].fill(7.0);
            for c in 0..20 {
                let t = first + c * 2 * (MEAN_WINDOW + h);
                y[t - 3..t].fill(7.0);
                y[t..t + h].fill(9.0);
            }
            y
        };
        let inside = series(oldest);
        assert_eq!(Analog.paths(&inside, &[o], h)[0], vec![9.0; h]);
        // the same copies wholly before the values the oldest moment's description reads
        let span = 19 * 2 * (MEAN_WINDOW + h);
        let outside = series(oldest - MEAN_WINDOW - h - span);
        assert_eq!(Analog.paths(&outside, &[o], h)[0], vec![0.0; h]);
        // and nothing after the origin is read
        let mut later = inside.clone();
        later[o..].fill(1e6);
        assert_eq!(
            Analog.paths(&later, &[o], h),
            Analog.paths(&inside, &[o], h)
        );
    }

    #[test]
    fn too_short_a_past_forecasts_the_last_value() {
        let y: Vec<f64> = (0..40).map(|t| t as f64).collect();
        // 40 - 12 - 12 + 1 = 17 moments: enough; 39 - 24 + 1 = 16: enough; 38: 15, not
        assert_ne!(Analog.paths(&y, &[40], 12)[0], vec![39.0; 12]);
        assert_eq!(Analog.paths(&y, &[38], 12)[0], vec![37.0; 12]);
        assert_eq!(
            Analog.paths(&y, &[5, 0], 2),
            vec![vec![4.0; 2], vec![0.0; 2]]
        );
    }

    #[test]
    fn of_equal_distances_the_most_recent_moments_are_kept() {
        // identical descriptions everywhere (a constant), but different futures far back
        let mut y = vec![3.0; 2000];
        y[100] = 50.0;
        let p = &Analog.paths(&y, &[2000], 4)[0];
        assert_eq!(p, &vec![3.0; 4]);
        let mut best = Vec::new();
        let keys = Analog::keys(&y, 2000);
        nearest(&keys, &keys[1900], 0, 1800, &mut best);
        let mut got: Vec<usize> = best.iter().map(|b| b.1).collect();
        got.sort_unstable();
        assert_eq!(got, (1800 + 1 - K..=1800).collect::<Vec<_>>());
    }
}

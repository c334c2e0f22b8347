//! Split-conformal prediction intervals from out-of-sample h-step residuals (the one home of this math).
//!
//! For each horizon step the residuals `actual − forecast` collected at the calibration origins are kept
//! sorted. A band at miscoverage `α` uses the empirical `(1−α)(1+1/n)` quantile (clamped to 1, linear
//! interpolation via `prescale_math::quantile_sorted`): symmetric bands use the quantile of `|residual|`;
//! asymmetric bands use the `α/2` and `1−α/2` corrected quantiles of the signed residuals.

use prescale_math::{quantile_sorted, sort_total};

/// How interval offsets are derived from residuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntervalMode {
    /// point ± quantile of |residual|.
    #[default]
    Symmetric,
    /// point + lower/upper quantiles of the signed residuals (skewed data get skewed bands).
    Asymmetric,
}

/// The conformal quantile level `(1−α)(1+1/n)`, clamped to at most 1.
pub fn corrected_level(alpha: f64, n: usize) -> f64 {
    ((1.0 - alpha) * (1.0 + 1.0 / n.max(1) as f64)).clamp(0.0, 1.0)
}

/// Conformal quantile of already sorted scores at miscoverage `alpha`; `None` for no scores.
pub fn conformal_quantile(sorted: &[f64], alpha: f64) -> Option<f64> {
    quantile_sorted(sorted, corrected_level(alpha, sorted.len()))
}

/// `|x|` of every value of `sorted` (ascending by `total_cmp`), ascending: the negative part read
/// backwards and the rest merged in one pass, the same values in the same order as sorting the
/// magnitudes (equal under `total_cmp` means bit-identical, so ties cannot reorder).
fn sorted_magnitudes(sorted: &[f64]) -> Vec<f64> {
    let split = sorted.partition_point(|x| x.is_sign_negative());
    let mut neg = sorted[..split].iter().rev().map(|x| x.abs()).peekable();
    let mut pos = sorted[split..].iter().copied().peekable();
    let mut out = Vec::with_capacity(sorted.len());
    loop {
        let next = match (neg.peek(), pos.peek()) {
            (Some(a), Some(b)) if a.total_cmp(b).is_le() => neg.next(),
            (Some(_), Some(_)) => pos.next(),
            (Some(_), None) => neg.next(),
            (None, Some(_)) => pos.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

/// Sorted calibration residuals for each horizon step.
#[derive(Debug, Clone, PartialEq)]
pub struct ConformalTable {
    abs: Vec<Vec<f64>>,
    signed: Vec<Vec<f64>>,
}

impl ConformalTable {
    /// Builds the table from residuals (`actual − forecast`) per step; non-finite residuals are dropped.
    pub fn new(residuals_per_step: Vec<Vec<f64>>) -> Self {
        let mut abs = Vec::with_capacity(residuals_per_step.len());
        let mut signed = Vec::with_capacity(residuals_per_step.len());
        for mut r in residuals_per_step {
            r.retain(|x| x.is_finite());
            // by total_cmp: equal under it means bit-identical, so the order is the same
            sort_total(&mut r);
            abs.push(sorted_magnitudes(&r));
            signed.push(r);
        }
        ConformalTable { abs, signed }
    }

    /// Number of horizon steps covered.
    pub fn steps(&self) -> usize {
        self.abs.len()
    }

    /// Residuals available for the first step (the calibration size).
    pub fn points(&self) -> usize {
        self.abs.first().map_or(0, Vec::len)
    }

    /// Mean absolute residual at step index `step` (0-based).
    pub fn mean_abs(&self, step: usize) -> Option<f64> {
        self.abs.get(step).and_then(|a| prescale_math::mean(a))
    }

    /// Offsets `(lower ≤ 0, upper ≥ 0)` to add to the point forecast at step index `step` (0-based).
    pub fn offsets(&self, step: usize, alpha: f64, mode: IntervalMode) -> Option<(f64, f64)> {
        match mode {
            IntervalMode::Symmetric => {
                let q = conformal_quantile(self.abs.get(step)?, alpha)?;
                Some((-q, q))
            }
            IntervalMode::Asymmetric => {
                let s = self.signed.get(step)?;
                let n = s.len();
                let hi = quantile_sorted(s, corrected_level(alpha / 2.0, n))?;
                let lo = quantile_sorted(s, 1.0 - corrected_level(alpha / 2.0, n))?;
                Some((lo.min(0.0), hi.max(0.0)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn magnitudes_merged_from_sorted_residuals_equal_sorting_them() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let mut cases: Vec<Vec<f64>> = vec![
            vec![],
            vec![0.0],
            vec![-0.0, 0.0, -0.0],
            vec![-3.0, 3.0, -3.0, 3.0, 1.0, -1.0],
            vec![f64::NEG_INFINITY, -2.0, 5.0, f64::INFINITY, -0.0],
            vec![-5.0, -4.0, -1.0],
            vec![1.0, 2.0, 2.0, 9.0],
        ];
        for n in [1, 2, 3, 10, 144, 1000] {
            // Rounded values so equal magnitudes of both signs are common.
            cases.push((0..n).map(|_| ((next() - 0.5) * 20.0).round()).collect());
            cases.push((0..n).map(|_| (next() - 0.3) * 1e3).collect());
        }
        for mut r in cases {
            r.sort_unstable_by(f64::total_cmp);
            let mut want: Vec<f64> = r.iter().map(|x| x.abs()).collect();
            want.sort_unstable_by(f64::total_cmp);
            let got = sorted_magnitudes(&r);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{r:?}");
        }
    }

    use super::*;

    #[test]
    fn quantile_known_answer() {
        // n = 9 scores 1..9, alpha 0.1: level 0.9 * 10/9 = 1.0 -> the maximum.
        let s: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(conformal_quantile(&s, 0.1), Some(9.0));
        // n = 19, alpha 0.1: level 0.9 * 20/19 = 0.947..., position 17.05 -> 18.05.
        let s: Vec<f64> = (1..=19).map(f64::from).collect();
        let q = conformal_quantile(&s, 0.1).unwrap();
        assert!(
            (q - (18.0 + 0.9 * 20.0 / 19.0 * 18.0 - 17.0)).abs() < 1e-9,
            "{q}"
        );
        assert_eq!(conformal_quantile(&[], 0.1), None);
    }

    #[test]
    fn symmetric_and_asymmetric_offsets() {
        let t = ConformalTable::new(vec![vec![-1.0, 2.0, -3.0, 4.0, f64::NAN]]);
        assert_eq!(t.points(), 4);
        let (lo, hi) = t.offsets(0, 0.5, IntervalMode::Symmetric).unwrap();
        assert_eq!(lo, -hi);
        assert!(hi > 0.0);
        let (lo, hi) = t.offsets(0, 0.5, IntervalMode::Asymmetric).unwrap();
        assert!(lo < 0.0 && hi > 0.0);
        assert!(t.offsets(1, 0.1, IntervalMode::Symmetric).is_none());
    }
}

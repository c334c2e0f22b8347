//! Robust scale: the median absolute deviation and its normal-consistency constant.

use crate::stats::{median, median_in_place};

/// Multiply a MAD by this to estimate the standard deviation of normally distributed data
/// (1 / Φ⁻¹(3/4)).
pub const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// Median absolute deviation from the median, `median(|xᵢ − median(x)|)`, unscaled
/// (multiply by [`MAD_TO_SIGMA`] for a σ estimate); `None` for empty input.
pub fn mad(xs: &[f64]) -> Option<f64> {
    let m = median(xs)?;
    let mut dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    median_in_place(&mut dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // median 2, deviations [1, 1, 0, 0, 2, 4, 7] → median 1
        assert_eq!(mad(&[1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]), Some(1.0));
        assert_eq!(mad(&[5.0]), Some(0.0));
        assert_eq!(mad(&[]), None);
        // one wild outlier barely moves it
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 1e9]), Some(1.0));
        assert!((MAD_TO_SIGMA * 0.674_489_750_196_081_7 - 1.0).abs() < 1e-12);
    }
}

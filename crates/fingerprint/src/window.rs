//! Features of one series over one window: level, spread, shape, trend, seasonality, burstiness.
//!
//! Definitions (all documented here, once):
//! - `std` is the population standard deviation; `p50/p90/p99` interpolate linearly (numpy type 7).
//! - `entropy`: Shannon entropy of a 16-bin histogram over `[min, max]`, divided by
//!   `ln(min(16, n))` so it lies in [0, 1]; a constant series has entropy 0.
//! - `trend_slope`: least-squares slope per sample, in the series' units.
//! - `dominant_period`: strongest period found by `prescale_math::detect_periods` (Fisher g-test at
//!   the configured significance, periods up to `min(max_period, n / 2)`); `None` when none is
//!   significant. The detected period is then refined to whichever of `p − 1, p, p + 1` has the
//!   highest `seasonal_strength` (the periodogram peak can land one sample off).
//! - `seasonal_strength`: `1 − Var(remainder) / Var(detrended)` where the seasonal part is the mean
//!   of the detrended series per phase of the dominant period; the remainder variance is corrected
//!   for the `period` phase means estimated (`/ (n − period)` against `/ (n − 1)`), then clamped to
//!   [0, 1]. It is 0 when no period is significant.
//! - `peak_to_mean = max / |mean|`, `cv = std / |mean|`, `rate_of_change = mean|Δx| / |mean|`: the
//!   ratios are computed on the series divided by its largest magnitude, with `1e-6` added to the
//!   denominator and the result capped at `1e6`, so idle (mean ≈ 0) series stay finite.
//! - `lag1_acf`: lag-1 autocorrelation; 0 when undefined (constant series).
//!
//! A series whose standard deviation is below 1e-9 of its largest magnitude counts as constant (no
//! period). Scale-free parts are computed on the series divided by its largest magnitude, so even values
//! near `f64::MAX` give finite features.

use crate::{FingerprintConfig, FingerprintError};
use prescale_math::seasonal::phase_mean_strength;
use prescale_math::{
    autocorrelation, detect_periods, least_squares_slope, mean, mean_abs_diff, quantile_sorted,
    std_dev,
};
use serde::{Deserialize, Serialize};

/// Histogram bins of the entropy feature.
const ENTROPY_BINS: usize = 16;
/// Added to ratio denominators (on the max-normalised series).
const RATIO_EPS: f64 = 1e-6;
/// Ratios are capped at this magnitude.
const RATIO_CAP: f64 = 1e6;
/// A max-normalised series with a smaller standard deviation is treated as constant.
const CONSTANT_SPREAD: f64 = 1e-9;

/// Features of one series over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowFeatures {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub entropy: f64,
    pub trend_slope: f64,
    pub dominant_period: Option<usize>,
    pub seasonal_strength: f64,
    pub peak_to_mean: f64,
    pub cv: f64,
    pub lag1_acf: f64,
    pub rate_of_change: f64,
}

/// Names of the flattened features, in the order of [`WindowFeatures::named`].
pub const WINDOW_FEATURE_NAMES: [&str; 16] = [
    "mean",
    "std",
    "min",
    "max",
    "p50",
    "p90",
    "p99",
    "entropy",
    "trend_slope",
    "has_period",
    "dominant_period",
    "seasonal_strength",
    "peak_to_mean",
    "cv",
    "lag1_acf",
    "rate_of_change",
];

impl WindowFeatures {
    /// Flattens to numbers; `dominant_period` becomes a `has_period` 0/1 flag plus the period (0
    /// when there is none).
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let values = [
            self.mean,
            self.std,
            self.min,
            self.max,
            self.p50,
            self.p90,
            self.p99,
            self.entropy,
            self.trend_slope,
            if self.dominant_period.is_some() {
                1.0
            } else {
                0.0
            },
            self.dominant_period.map_or(0.0, |p| p as f64),
            self.seasonal_strength,
            self.peak_to_mean,
            self.cv,
            self.lag1_acf,
            self.rate_of_change,
        ];
        WINDOW_FEATURE_NAMES.into_iter().zip(values).collect()
    }
}

/// Features of `values` (oldest first, regular steps, finite). The whole slice is the window.
pub fn window_features(
    values: &[f64],
    cfg: &FingerprintConfig,
) -> Result<WindowFeatures, FingerprintError> {
    cfg.validate()?;
    check_series("input", values)?;
    Ok(features_unchecked(values, cfg))
}

/// Rejects empty series and non-finite values, naming the series and index.
pub(crate) fn check_series(what: &str, values: &[f64]) -> Result<(), FingerprintError> {
    if values.is_empty() {
        return Err(FingerprintError::EmptySeries { what: what.into() });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(FingerprintError::NonFinite {
            what: what.into(),
            index,
            value,
        });
    }
    Ok(())
}

/// Largest magnitude of `values` and the series divided by it (unchanged when all zero).
pub(crate) fn normalised(values: &[f64]) -> (f64, Vec<f64>) {
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale > 0.0 {
        (scale, values.iter().map(|v| v / scale).collect())
    } else {
        (1.0, values.to_vec())
    }
}

/// Maps a value back to finite range: ±∞ saturate, NaN (never expected) becomes 0.
fn finite(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-f64::MAX, f64::MAX)
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    (num / (den.abs() + RATIO_EPS)).clamp(-RATIO_CAP, RATIO_CAP)
}

/// Features of a non-empty, finite series (callers checked both).
pub(crate) fn features_unchecked(values: &[f64], cfg: &FingerprintConfig) -> WindowFeatures {
    let n = values.len();
    let (scale, x) = normalised(values);
    let mut sorted = x.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| quantile_sorted(&sorted, p).unwrap_or(0.0);
    let (lo, hi) = (sorted[0], sorted[n - 1]);
    let m = mean(&x).unwrap_or(0.0);
    let sd = std_dev(&x).unwrap_or(0.0);
    let slope = least_squares_slope(&x).unwrap_or(0.0);
    // A spread below 1e-9 of the magnitude is rounding noise: no period to look for.
    let max_period = cfg.max_period.min(n / 2);
    let detected = if sd > CONSTANT_SPREAD {
        detect_periods(&x, max_period, 1, cfg.significance)
            .first()
            .map(|d| d.period)
    } else {
        None
    };
    // The periodogram peak can land one sample off (289 for 288 under noise): keep the neighbour
    // whose phase means explain the series best.
    let (period, strength) = detected.map_or((None, 0.0), |p| {
        let (best, s) = (p.saturating_sub(1).max(2)..=(p + 1).min(max_period).max(p))
            .map(|q| (q, phase_mean_strength(&x, slope, q)))
            .fold(
                (p, f64::NEG_INFINITY),
                |acc, c| if c.1 > acc.1 { c } else { acc },
            );
        (Some(best), s.max(0.0))
    });
    WindowFeatures {
        mean: finite(m * scale),
        std: finite(sd * scale),
        min: finite(lo * scale),
        max: finite(hi * scale),
        p50: finite(q(0.5) * scale),
        p90: finite(q(0.9) * scale),
        p99: finite(q(0.99) * scale),
        entropy: histogram_entropy(&x, lo, hi),
        trend_slope: finite(slope * scale),
        dominant_period: period,
        seasonal_strength: strength,
        peak_to_mean: ratio(hi, m),
        cv: ratio(sd, m),
        lag1_acf: autocorrelation(&x, 1).unwrap_or(0.0).clamp(-1.0, 1.0),
        rate_of_change: ratio(mean_abs_diff(&x).unwrap_or(0.0), m),
    }
}

/// Normalised Shannon entropy of a fixed-bin histogram over `[lo, hi]`.
fn histogram_entropy(x: &[f64], lo: f64, hi: f64) -> f64 {
    let width = hi - lo;
    let bins = ENTROPY_BINS.min(x.len());
    if width <= 0.0 || bins < 2 {
        return 0.0;
    }
    let mut counts = [0usize; ENTROPY_BINS];
    for v in x {
        let b = (((v - lo) / width) * ENTROPY_BINS as f64) as usize;
        counts[b.min(ENTROPY_BINS - 1)] += 1;
    }
    let n = x.len() as f64;
    let h: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum();
    (h / (bins as f64).ln()).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::f64::consts::PI;

    use crate::testutil::uniform as lcg;

    fn cfg() -> FingerprintConfig {
        FingerprintConfig {
            max_period: 500,
            ..Default::default()
        }
    }

    #[test]
    fn known_answers_on_a_ramp() {
        let xs: Vec<f64> = (0..=100).map(f64::from).collect();
        let f = window_features(&xs, &cfg()).unwrap();
        assert!((f.mean - 50.0).abs() < 1e-9);
        assert_eq!((f.min, f.max), (0.0, 100.0));
        assert!((f.p50 - 50.0).abs() < 1e-9);
        assert!((f.p90 - 90.0).abs() < 1e-9);
        assert!((f.p99 - 99.0).abs() < 1e-9);
        assert!((f.trend_slope - 1.0).abs() < 1e-9);
        assert!((f.peak_to_mean - 2.0).abs() < 1e-4);
        assert!((f.rate_of_change - 0.02).abs() < 1e-6);
        // A ramp fills the histogram evenly: entropy close to 1.
        assert!(f.entropy > 0.99, "{}", f.entropy);
        assert!(f.lag1_acf > 0.9);
    }

    #[test]
    fn entropy_of_two_levels_is_a_quarter() {
        // Half the points at 0, half at 1: H = ln 2, normalised by ln 16 → 0.25.
        let xs: Vec<f64> = (0..64).map(|i| (i % 2) as f64).collect();
        let f = window_features(&xs, &cfg()).unwrap();
        assert!((f.entropy - 0.25).abs() < 1e-12, "{}", f.entropy);
    }

    #[test]
    fn noisy_sine_is_seasonal_white_noise_is_not() {
        let mut seed = 3;
        let sine: Vec<f64> = (0..2016)
            .map(|i| 10.0 + (2.0 * PI * i as f64 / 288.0).sin() + 0.3 * lcg(&mut seed))
            .collect();
        let f = window_features(&sine, &cfg()).unwrap();
        assert_eq!(f.dominant_period, Some(288), "{f:?}");
        assert!(f.seasonal_strength > 0.9, "{}", f.seasonal_strength);

        let noise: Vec<f64> = (0..2016).map(|_| 10.0 + lcg(&mut seed)).collect();
        let g = window_features(&noise, &cfg()).unwrap();
        assert_eq!(g.dominant_period, None, "{g:?}");
        assert_eq!(g.seasonal_strength, 0.0);
        assert!(g.lag1_acf.abs() < 0.1);
        assert!(g.entropy > 0.9);
    }

    #[test]
    fn constant_and_single_point_series_are_finite() {
        for xs in [vec![5.0; 300], vec![0.0; 10], vec![7.0], vec![-3.0, -3.0]] {
            let f = window_features(&xs, &cfg()).unwrap();
            for (name, v) in f.named() {
                assert!(v.is_finite(), "{name} = {v} for {xs:?}");
            }
            assert_eq!(f.std, 0.0);
            assert_eq!(f.entropy, 0.0);
            assert_eq!(f.dominant_period, None);
        }
    }

    #[test]
    fn bad_input_is_rejected_with_position() {
        assert!(matches!(
            window_features(&[], &cfg()),
            Err(FingerprintError::EmptySeries { .. })
        ));
        assert!(matches!(
            window_features(&[1.0, f64::NAN], &cfg()),
            Err(FingerprintError::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn named_flattens_period_into_flag_and_value() {
        let xs: Vec<f64> = (0..200).map(|i| (i % 20) as f64).collect();
        let f = window_features(&xs, &cfg()).unwrap();
        let named = f.named();
        assert_eq!(named.len(), WINDOW_FEATURE_NAMES.len());
        let get = |k: &str| named.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert_eq!(get("has_period"), Some(1.0));
        assert_eq!(get("dominant_period"), Some(20.0));
    }

    proptest! {
        #[test]
        fn all_features_finite(xs in prop::collection::vec(
            prop_oneof![-1e300f64..1e300, -1e3f64..1e3, Just(0.0), Just(f64::MAX), Just(-f64::MAX)],
            1..300,
        )) {
            let f = window_features(&xs, &cfg()).unwrap();
            for (name, v) in f.named() {
                prop_assert!(v.is_finite(), "{} = {}", name, v);
            }
            prop_assert!((0.0..=1.0).contains(&f.entropy));
            prop_assert!((0.0..=1.0).contains(&f.seasonal_strength));
            prop_assert!(f.min <= f.p50 && f.p50 <= f.max);
        }

        #[test]
        fn constant_series_finite(c in -1e12f64..1e12, n in 1usize..400) {
            let f = window_features(&vec![c; n], &cfg()).unwrap();
            for (name, v) in f.named() {
                prop_assert!(v.is_finite(), "{} = {}", name, v);
            }
        }
    }
}

//! Seasonal period detection: periodogram via real FFT, Fisher's g-test for significance.
//!
//! Own code on top of `realfft`: augurs' periodogram reports bin periods, which can be off by one (25 for
//! 24), so each peak is refined to the integer period with the most spectral power between its neighbouring
//! bins. Callers that need an exact season may still compare p-1, p, p+1 on their own criterion.

use crate::seasonal::detrend_linear;
use crate::stats::{autocorrelation, least_squares_slope};
use realfft::RealFftPlanner;

/// A significant periodic component.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedPeriod {
    /// Period in samples.
    pub period: usize,
    /// Share of the (detrended) variance at this frequency, in [0, 1].
    pub power_share: f64,
    /// p-value of Fisher's g-test for the peak (small = significant).
    pub p_value: f64,
    /// Autocorrelation at the period lag.
    pub acf: f64,
}

/// Fisher's exact g-test p-value for the largest of `m` periodogram ordinates having share `g`.
fn fisher_p_value(g: f64, m: usize) -> f64 {
    // P(G > g) = sum_{k=1}^{floor(1/g)} (-1)^(k-1) C(m,k) (1 - k g)^(m-1); the first term dominates.
    let mut p = 0.0;
    let kmax = ((1.0 / g).floor() as usize).min(m).min(50);
    let mut binom = 1.0f64;
    for k in 1..=kmax {
        binom *= (m - k + 1) as f64 / k as f64;
        let base = 1.0 - k as f64 * g;
        if base <= 0.0 {
            break;
        }
        let term = binom * base.powf((m - 1) as f64);
        p += if k % 2 == 1 { term } else { -term };
    }
    p.clamp(0.0, 1.0)
}

/// Periodogram power of `xs` at the (possibly non-bin) frequency `1 / period` (Goertzel recurrence:
/// one multiply-add per sample, no trigonometry in the loop).
fn power_at(xs: &[f64], period: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI / period;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in xs {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0)
}

/// The integer period in `lo..=hi` with the most power: ternary search (power is unimodal within one
/// bin either side of a periodogram peak), then a scan of the last few candidates.
fn refine_period(xs: &[f64], lo: usize, hi: usize) -> usize {
    let (mut lo, mut hi) = (lo, hi.max(lo));
    while hi - lo > 4 {
        let m1 = lo + (hi - lo) / 3;
        let m2 = hi - (hi - lo) / 3;
        if power_at(xs, m1 as f64) < power_at(xs, m2 as f64) {
            lo = m1 + 1;
        } else {
            hi = m2 - 1;
        }
    }
    (lo..=hi)
        .map(|p| (p, power_at(xs, p as f64)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(lo, |(p, _)| p)
}

/// Detects up to `max_count` significant periods between 2 and `max_period` samples (at least two full
/// cycles must fit), strongest first. `alpha` is the significance level of the g-test (e.g. 0.01).
pub fn detect_periods(
    values: &[f64],
    max_period: usize,
    max_count: usize,
    alpha: f64,
) -> Vec<DetectedPeriod> {
    let n = values.len();
    if n < 8 {
        return Vec::new();
    }
    // Detrend by least squares so a trend does not masquerade as a long period.
    let slope = least_squares_slope(values).unwrap_or(0.0);
    let mut x = detrend_linear(values, slope);
    let detrended = x.clone();
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut spectrum = fft.make_output_vec();
    if fft.process(&mut x, &mut spectrum).is_err() {
        return Vec::new();
    }
    // Periodogram ordinates for k = 1..n/2 (skip the mean and, for even n, the Nyquist bin).
    let kmax = (n - 1) / 2;
    let power: Vec<f64> = (0..=kmax).map(|k| spectrum[k].norm_sqr()).collect();
    let total: f64 = power[1..].iter().sum();
    if total <= 0.0 || kmax < 2 {
        return Vec::new();
    }
    let max_period = max_period.min(n / 2);
    let mut found: Vec<DetectedPeriod> = Vec::new();
    let mut used = vec![false; kmax + 1];
    let mut remaining = total;
    for _ in 0..max_count.max(1) * 3 {
        if found.len() >= max_count {
            break;
        }
        // Largest unused ordinate whose period is in range.
        let best = (1..=kmax)
            .filter(|&k| !used[k] && n / k >= 2 && (n as f64 / k as f64) <= max_period as f64 + 0.5)
            .max_by(|&a, &b| power[a].total_cmp(&power[b]));
        let Some(k) = best else { break };
        let g = power[k] / remaining;
        let p = fisher_p_value(g, kmax);
        used[k.saturating_sub(1)..=(k + 1).min(kmax)].fill(true);
        remaining -= power[k];
        if p > alpha {
            break;
        }
        // Refine to the integer period with the most spectral power at frequency 1/period, between the
        // neighbouring FFT bins (the bin grid is coarse for long periods).
        let lo = ((n as f64 / (k as f64 + 0.5)).floor() as usize).max(2);
        let hi = ((n as f64 / (k as f64 - 0.5)).ceil() as usize)
            .min(max_period)
            .max(lo);
        let period = refine_period(&detrended, lo, hi);
        // A low harmonic (1/2, 1/3, 1/4) of a stronger period (144 beside 288) is the shape of that period,
        // not a new one (a seventh of a week is a day, and stays); a period within 3% of a whole
        // multiple of a stronger one (2056 beside 288) is that multiple (a week of a daily pattern): the
        // periodogram cannot resolve long periods more finely than that from a few cycles.
        if found
            .iter()
            .any(|f| f.period % period == 0 && (2..=4).contains(&(f.period / period)))
        {
            continue;
        }
        let period = found
            .iter()
            .find_map(|f| {
                let m = (period as f64 / f.period as f64).round() as usize;
                (m >= 2 && period.abs_diff(m * f.period) * 100 <= 3 * period)
                    .then_some(m * f.period)
            })
            .unwrap_or(period);
        let acf = autocorrelation(&detrended, period).unwrap_or(0.0);
        if period < 2 || found.iter().any(|f| f.period == period) {
            continue;
        }
        found.push(DetectedPeriod {
            period,
            power_share: power[k] / total,
            p_value: p,
            acf,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    #[test]
    fn finds_period_of_noisy_sine() {
        let mut seed = 7;
        let xs: Vec<f64> = (0..2000)
            .map(|i| {
                (2.0 * std::f64::consts::PI * i as f64 / 24.0).sin()
                    + 0.8 * lcg(&mut seed)
                    + 0.001 * i as f64
            })
            .collect();
        let p = detect_periods(&xs, 500, 2, 0.01);
        assert_eq!(p[0].period, 24, "{p:?}");
        assert!(p[0].p_value < 1e-6);
    }

    #[test]
    fn goertzel_matches_direct_sum() {
        let xs: Vec<f64> = (0..500).map(|i| ((i * 7919) % 101) as f64 - 50.0).collect();
        for period in [2.0, 7.5, 24.0, 250.0] {
            let w = 2.0 * std::f64::consts::PI / period;
            let (re, im) = xs.iter().enumerate().fold((0.0, 0.0), |(re, im), (t, x)| {
                (re + x * (w * t as f64).cos(), im - x * (w * t as f64).sin())
            });
            let direct = re * re + im * im;
            assert!(
                (power_at(&xs, period) - direct).abs() <= 1e-6 * direct.max(1.0),
                "{period}"
            );
        }
    }

    #[test]
    fn white_noise_has_no_period() {
        let mut seed = 11;
        let xs: Vec<f64> = (0..2000).map(|_| lcg(&mut seed)).collect();
        assert!(detect_periods(&xs, 500, 2, 0.001).is_empty());
    }

    #[test]
    fn two_periods_both_found() {
        let xs: Vec<f64> = (0..4032)
            .map(|i| {
                let t = i as f64;
                3.0 * (2.0 * std::f64::consts::PI * t / 288.0).sin()
                    + (2.0 * std::f64::consts::PI * t / 2016.0).sin()
            })
            .collect();
        let p: Vec<usize> = detect_periods(&xs, 2016, 2, 0.01)
            .iter()
            .map(|d| d.period)
            .collect();
        assert!(p.contains(&288), "{p:?}");
        assert!(p.contains(&2016), "{p:?}");
    }

    #[test]
    fn weekly_of_a_non_sinusoidal_daily_pattern_snaps_to_seven_days() {
        // Square-ish daily load with a weekend dip: harmonics at 144 are dropped, the week is 7 × 288.
        let xs: Vec<f64> = (0..6048)
            .map(|i| {
                let hour = (i % 288) as f64 / 12.0;
                let weekend = (i / 288) % 7 >= 5;
                let day = if (8.0..20.0).contains(&hour) {
                    10.0
                } else {
                    2.0
                };
                if weekend {
                    day * 0.6
                } else {
                    day
                }
            })
            .collect();
        let p: Vec<usize> = detect_periods(&xs, 3024, 3, 0.01)
            .iter()
            .map(|d| d.period)
            .collect();
        assert_eq!(p.first(), Some(&288), "{p:?}");
        assert!(p.contains(&2016), "{p:?}");
        assert!(!p.contains(&144), "{p:?}");
    }
}

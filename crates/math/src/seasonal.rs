//! Seasonal decomposition: linear detrending, centred moving averages, per-phase profiles, and the two
//! seasonal-strength measures (MA-detrended profile for the forecasters, linear-detrended phase means for
//! the fingerprint).

use crate::stats::{mean, median_in_place, variance};

/// Centred moving average of length `p` (a 2×p average when `p` is even); `out[t]` is `None` where the
/// window does not fit.
pub fn centred_moving_average(x: &[f64], p: usize) -> Vec<Option<f64>> {
    let n = x.len();
    let mut out = vec![None; n];
    if p == 0 || n < p + 1 {
        return out;
    }
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for &v in x {
        let last = prefix.last().copied().unwrap_or(0.0);
        prefix.push(last + v);
    }
    let sum = |a: usize, b: usize| prefix[b] - prefix[a];
    if p % 2 == 1 {
        let half = p / 2;
        for (t, o) in out.iter_mut().enumerate().take(n - half).skip(half) {
            *o = Some(sum(t - half, t + half + 1) / p as f64);
        }
    } else {
        let half = p / 2;
        for (t, o) in out.iter_mut().enumerate().take(n - half).skip(half) {
            *o = Some((sum(t - half, t + half) + sum(t - half + 1, t + half + 1)) / (2 * p) as f64);
        }
    }
    out
}

/// Per-phase medians of `f(value, trend)` over the points where the centred moving average of
/// length `p` is defined; `None` for phases without data. Medians keep bursts out of the profile.
fn phase_medians(
    x: &[f64],
    trend: &[Option<f64>],
    p: usize,
    offset: usize,
    f: impl Fn(f64, f64) -> Option<f64>,
) -> Option<Vec<Option<f64>>> {
    // each with room for its share (`vec![v; p]` would clone the empty buckets without it)
    let room = x.len() / p.max(1) + 1;
    let mut buckets: Vec<Vec<f64>> = (0..p).map(|_| Vec::with_capacity(room)).collect();
    for (t, (v, tr)) in x.iter().zip(trend).enumerate() {
        if let Some(tr) = tr {
            buckets[(offset + t) % p].push(f(*v, *tr)?);
        }
    }
    Some(buckets.iter_mut().map(|b| median_in_place(b)).collect())
}

/// Additive seasonal profile of period `p` for `x` (whose first element is at absolute index
/// `offset`): per-phase median of `x − trend`, centred to zero mean. Indexed by absolute phase
/// `(offset + t) % p`. `None` when no phase has data.
pub fn additive_profile(x: &[f64], p: usize, offset: usize) -> Option<Vec<f64>> {
    additive_profile_on(x, &centred_moving_average(x, p), p, offset)
}

/// [`additive_profile`] over `trend`, the [`centred_moving_average`] of `x` with length `p` computed
/// once by a caller that needs it for several measures.
pub fn additive_profile_on(
    x: &[f64],
    trend: &[Option<f64>],
    p: usize,
    offset: usize,
) -> Option<Vec<f64>> {
    let med = phase_medians(x, trend, p, offset, |v, tr| Some(v - tr))?;
    if med.iter().all(Option::is_none) {
        return None;
    }
    let mut s: Vec<f64> = med.into_iter().map(|m| m.unwrap_or(0.0)).collect();
    let m = mean(&s)?;
    s.iter_mut().for_each(|v| *v -= m);
    Some(s)
}

/// Multiplicative seasonal profile (per-phase median of `x / trend`, normalized to mean 1); `None`
/// unless every trend value is positive and every phase has data.
pub fn multiplicative_profile(x: &[f64], p: usize, offset: usize) -> Option<Vec<f64>> {
    multiplicative_profile_on(x, &centred_moving_average(x, p), p, offset)
}

/// [`multiplicative_profile`] over `trend`, the [`centred_moving_average`] of `x` with length `p`.
pub fn multiplicative_profile_on(
    x: &[f64],
    trend: &[Option<f64>],
    p: usize,
    offset: usize,
) -> Option<Vec<f64>> {
    let med = phase_medians(x, trend, p, offset, |v, tr| (tr > 0.0).then(|| v / tr))?;
    let mut s: Vec<f64> = med.into_iter().collect::<Option<Vec<f64>>>()?;
    let m = mean(&s)?;
    if m <= 0.0 {
        return None;
    }
    s.iter_mut().for_each(|v| *v /= m);
    Some(s)
}

/// Strength of seasonality (Wang, Smith & Hyndman 2006) of an additive profile over `x`:
/// `max(0, 1 − Var(remainder) / Var(seasonal + remainder))`, on the detrended part.
pub fn seasonal_strength(x: &[f64], profile: &[f64], offset: usize) -> Option<f64> {
    seasonal_strength_on(
        x,
        &centred_moving_average(x, profile.len()),
        profile,
        offset,
    )
}

/// [`seasonal_strength`] over `trend`, the [`centred_moving_average`] of `x` with the profile's
/// length.
pub fn seasonal_strength_on(
    x: &[f64],
    trend: &[Option<f64>],
    profile: &[f64],
    offset: usize,
) -> Option<f64> {
    let p = profile.len();
    let mut detrended = Vec::new();
    let mut remainder = Vec::new();
    for (t, (v, tr)) in x.iter().zip(trend).enumerate() {
        if let Some(tr) = tr {
            let d = v - tr;
            detrended.push(d);
            remainder.push(d - profile[(offset + t) % p]);
        }
    }
    let vd = variance(&detrended)?;
    if vd <= 0.0 {
        return Some(0.0);
    }
    Some((1.0 - variance(&remainder)? / vd).max(0.0))
}

/// `x` minus its mean and the line of slope `slope` (per step) through the middle of the window.
pub fn detrend_linear(x: &[f64], slope: f64) -> Vec<f64> {
    let m = mean(x).unwrap_or(0.0);
    let tm = (x.len().max(1) - 1) as f64 / 2.0;
    x.iter()
        .enumerate()
        .map(|(i, v)| v - m - slope * (i as f64 - tm))
        .collect()
}

/// `1 − Var(remainder) / Var(detrended)` for phase-mean seasonality of period `p` (the fingerprint's measure: the seasonal
/// part is the mean of each phase after removing the mean and the least-squares line of slope `slope`;
/// the remainder variance is corrected for the `p` phase means fitted). 0 for `p < 2` or too little data..
pub fn phase_mean_strength(x: &[f64], slope: f64, p: usize) -> f64 {
    let n = x.len();
    if p < 2 || n <= p + 1 {
        return 0.0;
    }
    let detrended = detrend_linear(x, slope);
    let mut sums = vec![0.0; p];
    let mut counts = vec![0usize; p];
    for (i, d) in detrended.iter().enumerate() {
        sums[i % p] += d;
        counts[i % p] += 1;
    }
    let ss_detrended: f64 = detrended.iter().map(|d| d * d).sum();
    if ss_detrended <= 0.0 {
        return 0.0;
    }
    let ss_remainder: f64 = detrended
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let r = d - sums[i % p] / counts[i % p].max(1) as f64;
            r * r
        })
        .sum();
    let var_r = ss_remainder / (n - p) as f64;
    let var_d = ss_detrended / (n - 1) as f64;
    (1.0 - var_r / var_d).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_known_answer() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            centred_moving_average(&x, 3),
            vec![None, Some(2.0), Some(3.0), Some(4.0), None]
        );
        // 2x2 MA: (0.5*1 + 2 + 0.5*3)/2 = 2
        assert_eq!(
            centred_moving_average(&x, 2),
            vec![None, Some(2.0), Some(3.0), Some(4.0), None]
        );
    }

    #[test]
    fn profile_recovers_pattern() {
        let pat = [3.0, -1.0, -2.0, 0.0];
        let x: Vec<f64> = (0..40).map(|t| 0.5 * t as f64 + pat[t % 4]).collect();
        let s = additive_profile(&x, 4, 0).unwrap();
        for (a, b) in s.iter().zip(pat) {
            assert!((a - b).abs() < 1e-9, "{s:?}");
        }
        // offset shifts phases
        let s = additive_profile(&x[1..], 4, 1).unwrap();
        assert!((s[0] - 3.0).abs() < 1e-9);
        assert!(seasonal_strength(&x, &pat, 0).unwrap() > 0.99);
        let m: Vec<f64> = (0..40).map(|t| 10.0 * [1.2, 0.8][t % 2]).collect();
        let s = multiplicative_profile(&m, 2, 0).unwrap();
        assert!((s[0] - 1.2).abs() < 1e-9);
    }
}

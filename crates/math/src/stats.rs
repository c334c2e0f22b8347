//! Summary statistics over slices (callers guarantee finite inputs; empty input yields `None`).

/// Arithmetic mean.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some(xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Population variance (divides by n).
pub fn variance(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    Some(xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64)
}

/// Population standard deviation.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    variance(xs).map(f64::sqrt)
}

/// Quantile `q` in [0, 1] of already sorted data, linear interpolation (numpy's default, type 7).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// Median of already sorted data: [`quantile_sorted`] at 0.5, bit for bit, with the ranks and
/// the weight (0 or ½) found by integer arithmetic rather than `floor`/`ceil` of a float rank
/// (auto's combination takes the median of every prefix of a few forecasts per point).
pub fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let (a, b) = (sorted[(n - 1) / 2], sorted[n / 2]);
    let frac = if n.is_multiple_of(2) { 0.5 } else { 0.0 };
    Some(a + (b - a) * frac)
}

/// Inputs up to this long are copied to the stack rather than the heap by [`quantile`].
const ON_STACK: usize = 64;
/// Inputs up to this long are sorted by a branch-free network rather than selected.
const BY_NETWORK: usize = 16;

/// An integer ordered as [`f64::total_cmp`] orders the floats (the map is its own inverse on
/// the bits).
#[inline(always)]
pub fn total_key(bits: i64) -> i64 {
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// Sorts `xs` ascending by [`f64::total_cmp`], comparing [`total_key`] integers (one
/// instruction a comparison instead of two maps and a compare). Values equal under `total_cmp`
/// have the same bits, so the result is exactly `xs.sort_unstable_by(f64::total_cmp)`'s.
pub fn sort_total(xs: &mut [f64]) {
    let mut keys: Vec<i64> = xs.iter().map(|x| total_key(x.to_bits() as i64)).collect();
    keys.sort_unstable();
    for (x, k) in xs.iter_mut().zip(keys) {
        *x = f64::from_bits(total_key(k) as u64);
    }
}

/// `a + (b − a) frac` for the order statistics `a` (rank `lo`) and `b` (rank `hi`) of a few
/// values: sorted as `total_cmp` keys by a compare-exchange network (min and max, no branch on
/// the data: a median of a handful of forecasts per point is the combination's inner loop, and
/// an insertion sort or a selection mispredicts on most comparisons; 2.5-5x faster for 3-8
/// values). The keys map back to the very bits sorted, so this is exactly the sorted copy's.
fn by_network(xs: &[f64], lo: usize, hi: usize, frac: f64) -> f64 {
    let mut keys = [0i64; BY_NETWORK];
    for (k, &x) in keys.iter_mut().zip(xs) {
        *k = total_key(x.to_bits() as i64);
    }
    for i in 1..xs.len() {
        for j in (0..i).rev() {
            let (a, b) = (keys[j], keys[j + 1]);
            keys[j] = a.min(b);
            keys[j + 1] = a.max(b);
        }
    }
    let value = |k: i64| f64::from_bits(total_key(k) as u64);
    let (a, b) = (value(keys[lo]), value(keys[hi]));
    a + (b - a) * frac
}

/// Quantile `q` in [0, 1] of unsorted data: the value [`quantile_sorted`] gives on the sorted
/// copy, found by selection (linear time, no full sort) on a copy (on the stack for short
/// inputs: the combination of forecasts takes medians of a few values per point).
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    if xs.len() <= ON_STACK {
        let mut buf = [0.0; ON_STACK];
        let v = &mut buf[..xs.len()];
        v.copy_from_slice(xs);
        quantile_in_place(v, q)
    } else {
        quantile_in_place(&mut xs.to_vec(), q)
    }
}

/// [`quantile`] without a copy: reorders `xs`.
pub fn quantile_in_place(xs: &mut [f64], q: f64) -> Option<f64> {
    if xs.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let pos = q * (xs.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    if xs.len() <= BY_NETWORK {
        return Some(by_network(xs, lo, hi, frac));
    }
    let (_, &mut a, above) = xs.select_nth_unstable_by(lo, f64::total_cmp);
    // the next order statistic is the smallest of those above
    let b = if hi > lo {
        above.iter().copied().min_by(f64::total_cmp)?
    } else {
        a
    };
    Some(a + (b - a) * frac)
}

/// Median.
pub fn median(xs: &[f64]) -> Option<f64> {
    quantile(xs, 0.5)
}

/// [`median`] without a copy: reorders `xs`.
pub fn median_in_place(xs: &mut [f64]) -> Option<f64> {
    quantile_in_place(xs, 0.5)
}

/// Least-squares slope of `xs` against its index 0..n (per step); `None` for fewer than 2 points.
pub fn least_squares_slope(xs: &[f64]) -> Option<f64> {
    let n = xs.len();
    if n < 2 {
        return None;
    }
    let tm = (n - 1) as f64 / 2.0;
    let ym = mean(xs)?;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in xs.iter().enumerate() {
        let dt = i as f64 - tm;
        sxy += dt * (y - ym);
        sxx += dt * dt;
    }
    Some(sxy / sxx)
}

/// Sample autocorrelation at `lag` (biased estimator as in most textbooks); `None` if undefined.
pub fn autocorrelation(xs: &[f64], lag: usize) -> Option<f64> {
    if lag >= xs.len() {
        return None;
    }
    let m = mean(xs)?;
    let denom: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    if denom <= 0.0 {
        return None;
    }
    let num: f64 = xs.windows(lag + 1).map(|w| (w[0] - m) * (w[lag] - m)).sum();
    Some(num / denom)
}

/// Mean absolute first difference, the MASE scale of a non-seasonal naive forecast.
pub fn mean_abs_diff(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    Some(xs.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (xs.len() - 1) as f64)
}

/// Least-squares line `y ≈ intercept + slope·x` with both coefficients kept non-negative (a
/// negative one is pinned at zero and the other refitted alone). `None` for mismatched lengths or
/// no points; with all `x` equal the slope is 0 and the intercept the mean of `y` (floored at 0).
pub fn nonneg_line_fit(xs: &[f64], ys: &[f64]) -> Option<(f64, f64)> {
    if xs.len() != ys.len() || xs.is_empty() {
        return None;
    }
    let (xm, ym) = (mean(xs)?, mean(ys)?);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - xm) * (y - ym);
        sxx += (x - xm) * (x - xm);
    }
    let flat = Some((ym.max(0.0), 0.0));
    if sxx <= f64::EPSILON * xs.len() as f64 * (1.0 + xm * xm) {
        return flat;
    }
    let slope = sxy / sxx;
    let intercept = ym - slope * xm;
    if slope < 0.0 {
        return flat;
    }
    if intercept < 0.0 {
        // Through the origin: slope = Σxy / Σx².
        let (xy, xx) = xs
            .iter()
            .zip(ys)
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x * y, b + x * x));
        return Some((0.0, if xx > 0.0 { (xy / xx).max(0.0) } else { 0.0 }));
    }
    Some((intercept, slope))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn quantile_by_selection_is_the_sorted_copys(
            xs in proptest::collection::vec(-1e6f64..1e6, 1..200),
            dup in 0usize..4,
            q in 0.0f64..=1.0,
        ) {
            // repeated values too (ties at the selected ranks)
            let mut xs = xs;
            let copies: Vec<f64> = xs.iter().take(dup * 10).copied().collect();
            xs.extend(copies);
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let want = quantile_sorted(&sorted, q).map(f64::to_bits);
            proptest::prop_assert_eq!(quantile(&xs, q).map(f64::to_bits), want);
            proptest::prop_assert_eq!(quantile_in_place(&mut xs.clone(), q).map(f64::to_bits), want);
        }

        #[test]
        fn median_sorted_is_quantile_sorted_at_a_half(
            picks in proptest::collection::vec(0usize..8, 0..40),
            xs in proptest::collection::vec(-1e6f64..1e6, 0..40),
        ) {
            // ties, signed zeros and infinities (NaN-free) as well as spread values
            let values = [-0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, 1.5, 1.5, -2.0, 1e300];
            let mut sorted: Vec<f64> = picks.iter().map(|&i| values[i]).chain(xs).collect();
            sorted.sort_by(f64::total_cmp);
            proptest::prop_assert_eq!(
                median_sorted(&sorted).map(f64::to_bits),
                quantile_sorted(&sorted, 0.5).map(f64::to_bits)
            );
        }

        #[test]
        fn sorting_by_keys_is_sorting_by_total_cmp(
            picks in proptest::collection::vec(0usize..10, 0..300),
            xs in proptest::collection::vec(-1e6f64..1e6, 0..300),
        ) {
            // ties, signed zeros, infinities and NaNs of both signs among spread values
            let values = [
                -0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, 1.5, -1.5, 1e300, -1e-300,
                f64::NAN, -f64::NAN,
            ];
            let mut got: Vec<f64> = picks.iter().map(|&i| values[i]).chain(xs).collect();
            let mut want = got.clone();
            want.sort_unstable_by(f64::total_cmp);
            sort_total(&mut got);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&got), bits(&want));
        }

        #[test]
        fn signed_zeros_and_infinities_keep_their_order(
            picks in proptest::collection::vec(0usize..5, 1..40),
            q in 0.0f64..=1.0,
        ) {
            let values = [-0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, 1.5];
            let xs: Vec<f64> = picks.iter().map(|&i| values[i]).collect();
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let want = quantile_sorted(&sorted, q).map(f64::to_bits);
            proptest::prop_assert_eq!(quantile(&xs, q).map(f64::to_bits), want);
        }
    }

    #[test]
    fn known_answers() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mean(&xs), Some(2.5));
        assert_eq!(variance(&xs), Some(1.25));
        assert_eq!(quantile(&xs, 0.5), Some(2.5));
        assert_eq!(quantile(&xs, 1.0), Some(4.0));
        assert!((quantile(&[0.0, 10.0], 0.9).unwrap() - 9.0).abs() < 1e-12);
        assert!((least_squares_slope(&[1.0, 3.0, 5.0, 7.0]).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(mean_abs_diff(&[1.0, 3.0, 2.0]), Some(1.5));
        assert!(autocorrelation(&[1.0, 1.0, 1.0], 1).is_none());
        let alt = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        assert!(autocorrelation(&alt, 1).unwrap() < -0.8);
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn nonneg_line_fit_known_answers() {
        let xs = [0.0, 1.0, 2.0, 3.0];
        let (a, b) = nonneg_line_fit(&xs, &[1.0, 3.0, 5.0, 7.0]).unwrap();
        assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12);
        // A falling line: the slope is pinned at 0, the intercept is the mean.
        assert_eq!(
            nonneg_line_fit(&xs, &[4.0, 3.0, 2.0, 1.0]),
            Some((2.5, 0.0))
        );
        // A negative intercept: refitted through the origin (Σxy/Σx² = 30/14).
        let (a, b) = nonneg_line_fit(&[1.0, 2.0, 3.0], &[1.0, 4.0, 7.0]).unwrap();
        assert_eq!(a, 0.0);
        assert!((b - 30.0 / 14.0).abs() < 1e-12);
        // Constant x: the intercept is the mean of y.
        assert_eq!(nonneg_line_fit(&[2.0, 2.0], &[1.0, 3.0]), Some((2.0, 0.0)));
        assert_eq!(nonneg_line_fit(&[], &[]), None);
        assert_eq!(nonneg_line_fit(&[1.0], &[1.0, 2.0]), None);
    }
}

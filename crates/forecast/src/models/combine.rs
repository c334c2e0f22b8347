//! Forecast combination for `auto`: the element-wise mean or median of several candidates' paths,
//! and the choice among "best single model" and "combine the best k" by cross-validated error.
//!
//! Which combination is used (how many of the best-ranked candidates, mean or median) is decided
//! per series on the model-selection origins before the forecast origin, never on the points
//! being forecast. The choice merges every option at once: per origin and step the candidates'
//! values are read once in rank order, and the mean and the median of every prefix of them come
//! from one running sum and one insertion into a small sorted array, four points side by side
//! (the same values, bit for bit, as merging each option on its own).

use prescale_math::{median, median_sorted, total_key};

/// How the members' forecasts are merged, step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merge {
    /// Arithmetic mean.
    Mean,
    /// Median (robust to one member that is far off; equal to the mean for one or two members).
    Median,
}

impl Merge {
    /// The name used in a fit's spec, e.g. `median(gbm,gru,ets)`.
    pub fn name(self) -> &'static str {
        match self {
            Merge::Mean => "mean",
            Merge::Median => "median",
        }
    }
}

/// Points [`fill`] merges side by side: each lane is one point (origin and step), so the
/// insertion of a member's values is one vector operation per sorted slot instead of a chain
/// of scalar ones per point.
const LANES: usize = 4;

/// Reads `rows[m][j..j + w]` (`w <= LANES`) for every member `m` in rank order and writes the
/// mean and the median of the first `m + 1` of them at each of the `w` points to
/// `means[m * stride + at + lane]` and `medians[..]`. The mean sums left to right from `-0.0` as
/// `Iterator::sum` does; the median is `median_sorted` of the values sorted by `total_cmp`, the
/// order statistics `prescale_math::median` interpolates (of one value when they are the same
/// one, as `median_sorted` takes it for an odd count). `keys` is scratch.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fill_body(
    rows: &[&[f64]],
    j: usize,
    w: usize,
    keys: &mut Vec<[i64; LANES]>,
    stride: usize,
    at: usize,
    means: &mut [f64],
    medians: &mut [f64],
) {
    keys.clear();
    let mut sum = [-0.0; LANES];
    for (m, row) in rows.iter().enumerate() {
        // lanes past `w` repeat the first point; they are not written
        let mut x = [row[j]; LANES];
        for (l, v) in row[j..j + w].iter().enumerate() {
            x[l] = *v;
        }
        let mut xk = [0i64; LANES];
        for l in 0..LANES {
            sum[l] += x[l];
            xk[l] = total_key(x[l].to_bits() as i64);
        }
        // insertion without a branch on the data: the new sorted value at `i` is the old one
        // there, `x`, or the old one before it, whichever lies between (equal keys have equal
        // bits, so where among them `x` goes does not matter)
        keys.push([i64::MAX; LANES]);
        let n = m + 1;
        // the middle order statistics, taken as they are written
        let (lo, hi) = ((n - 1) / 2, n / 2);
        let (mut a, mut b) = ([0i64; LANES], [0i64; LANES]);
        let mut before = [i64::MIN; LANES];
        for (i, k) in keys.iter_mut().enumerate() {
            let old = *k;
            for l in 0..LANES {
                k[l] = old[l].min(before[l].max(xk[l]));
            }
            before = old;
            if i == lo {
                a = *k;
            }
            if i == hi {
                b = *k;
            }
        }
        let value = |key: i64| f64::from_bits(total_key(key) as u64);
        let slot = m * stride + at;
        for l in 0..w {
            means[slot + l] = sum[l] / n as f64;
            // never None: both slices hold a value
            medians[slot + l] = if n % 2 == 1 {
                median_sorted(&[value(a[l])])
            } else {
                median_sorted(&[value(a[l]), value(b[l])])
            }
            .unwrap_or(f64::NAN);
        }
    }
}

/// [`fill_body`] compiled for AVX2 (the same arithmetic: every vector operation rounds or
/// compares as its scalar one).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn fill_avx2(
    rows: &[&[f64]],
    j: usize,
    w: usize,
    keys: &mut Vec<[i64; LANES]>,
    stride: usize,
    at: usize,
    means: &mut [f64],
    medians: &mut [f64],
) {
    fill_body(rows, j, w, keys, stride, at, means, medians)
}

/// [`fill_body`] for every run of up to [`LANES`] points of one origin, compiled for the
/// widest vectors this CPU has (`avx2` as detected) or the baseline.
#[allow(clippy::too_many_arguments)]
fn fill(
    avx2: bool,
    rows: &[&[f64]],
    len: usize,
    keys: &mut Vec<[i64; LANES]>,
    stride: usize,
    at: usize,
    means: &mut [f64],
    medians: &mut [f64],
) {
    for j in (0..len).step_by(LANES) {
        let w = LANES.min(len - j);
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: `avx2` only where the CPU has AVX2 (`AllOptions::new`)
            unsafe { fill_avx2(rows, j, w, keys, stride, at + j, means, medians) };
            continue;
        }
        let _ = avx2;
        fill_body(rows, j, w, keys, stride, at + j, means, medians);
    }
}

/// Every option's merged paths at once: for `k` in `1..=members.len()`, the mean and the median
/// of the first `k` members, stored per option (`k`), then per point (origin-major, then step).
struct AllOptions {
    /// The path length at each origin (the first member's shape).
    lens: Vec<usize>,
    /// The number of points (the sum of `lens`).
    points: usize,
    /// `means[(k - 1) * points + point]`: the mean of the first `k` members at that point.
    means: Vec<f64>,
    /// Like `means`, for the median.
    medians: Vec<f64>,
}

impl AllOptions {
    /// Merges `members[m][origin][step]` for every prefix of the members. Every member must have
    /// paths of the first one's shape.
    fn new(members: &[&[Vec<f64>]]) -> Self {
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        Self::new_on(avx2, members)
    }

    /// [`AllOptions::new`], with AVX2 when `avx2` (which the CPU must have).
    fn new_on(avx2: bool, members: &[&[Vec<f64>]]) -> Self {
        let lens: Vec<usize> = members
            .first()
            .map(|f| f.iter().map(Vec::len).collect())
            .unwrap_or_default();
        let n = members.len();
        let points: usize = lens.iter().sum();
        let mut means = vec![0.0; points * n];
        let mut medians = vec![0.0; points * n];
        let mut keys = Vec::with_capacity(n);
        let mut rows: Vec<&[f64]> = Vec::with_capacity(n);
        let mut at = 0;
        for (o, &len) in lens.iter().enumerate() {
            rows.clear();
            rows.extend(members.iter().map(|m| m[o].as_slice()));
            fill(
                avx2,
                &rows,
                len,
                &mut keys,
                points,
                at,
                &mut means,
                &mut medians,
            );
            at += len;
        }
        Self {
            lens,
            points,
            means,
            medians,
        }
    }

    /// Writes the merge of the first `k` members (`1 ≤ k ≤ members`) into `out`, which must have
    /// the paths' shape.
    fn write(&self, k: usize, how: Merge, out: &mut [Vec<f64>]) {
        let values = match how {
            Merge::Mean => &self.means,
            Merge::Median => &self.medians,
        };
        let mut at = (k - 1) * self.points;
        for path in out.iter_mut() {
            let len = path.len();
            path.copy_from_slice(&values[at..at + len]);
            at += len;
        }
    }

    /// A zeroed set of paths of the members' shape (every option is written to it in turn).
    fn blank(&self) -> Vec<Vec<f64>> {
        self.lens.iter().map(|&len| vec![0.0; len]).collect()
    }
}

/// Element-wise merge of the members' paths: `members[m][origin][step]` → `[origin][step]`. Every
/// member must have paths of the same shape; an empty member list gives no paths. Only the one
/// option is merged: the members' values at each point summed left to right from `-0.0` (as
/// `Iterator::sum`) or their median, the values [`choose`] scored for it, bit for bit.
pub(crate) fn merge_paths(members: &[&[Vec<f64>]], how: Merge) -> Vec<Vec<f64>> {
    let Some(first) = members.first() else {
        return Vec::new();
    };
    let mut buf = Vec::with_capacity(members.len());
    first
        .iter()
        .enumerate()
        .map(|(o, path)| {
            (0..path.len())
                .map(|j| {
                    buf.clear();
                    buf.extend(members.iter().map(|m| m[o][j]));
                    match how {
                        Merge::Mean => buf.iter().fold(-0.0, |s, x| s + x) / buf.len() as f64,
                        // never None: `buf` holds the first member's value
                        Merge::Median => median(&buf).unwrap_or(f64::NAN),
                    }
                })
                .collect()
        })
        .collect()
}

/// The chosen option: how many of the best-ranked candidates, merged how, and its error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Choice {
    pub members: usize,
    pub how: Merge,
    pub error: f64,
}

/// Picks the option with the lowest `error` among the best single candidate and the mean and the
/// median of the best `k` for `k` up to `max_members`. `ranked` holds the candidates' paths best
/// first; `error` scores a set of paths (e.g. mean absolute error over the selection origins).
/// Ties keep the simpler option (fewer members, mean before median).
pub(crate) fn choose(
    ranked: &[&[Vec<f64>]],
    max_members: usize,
    error: impl Fn(&[Vec<f64>]) -> f64,
) -> Option<Choice> {
    let first = ranked.first()?;
    let mut best = Choice {
        members: 1,
        how: Merge::Mean,
        error: error(first),
    };
    let widest = max_members.min(ranked.len());
    if widest < 2 {
        return Some(best);
    }
    let all = AllOptions::new(&ranked[..widest]);
    let mut paths = all.blank();
    for k in 2..=widest {
        // the median of two is their mean
        let hows: &[Merge] = if k >= 3 {
            &[Merge::Mean, Merge::Median]
        } else {
            &[Merge::Mean]
        };
        for &how in hows {
            all.write(k, how, &mut paths);
            let e = error(&paths);
            if e < best.error {
                best = Choice {
                    members: k,
                    how,
                    error: e,
                };
            }
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_math::median;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The straightforward merge `merge_paths` replaced: gathers the members' values at each
    /// point and takes their sum or `prescale_math::median`. The reference for the incremental one.
    fn reference_merge(members: &[&[Vec<f64>]], how: Merge) -> Vec<Vec<f64>> {
        let Some(first) = members.first() else {
            return Vec::new();
        };
        first
            .iter()
            .enumerate()
            .map(|(o, path)| {
                (0..path.len())
                    .map(|j| {
                        let buf: Vec<f64> = members.iter().map(|m| m[o][j]).collect();
                        match how {
                            Merge::Mean => buf.iter().sum::<f64>() / buf.len() as f64,
                            Merge::Median => median(&buf).unwrap_or(f64::NAN),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// `choose` as it was before, merging each option on its own with `reference_merge`.
    fn reference_choose(
        ranked: &[&[Vec<f64>]],
        max_members: usize,
        error: impl Fn(&[Vec<f64>]) -> f64,
    ) -> Option<Choice> {
        let first = ranked.first()?;
        let mut best = Choice {
            members: 1,
            how: Merge::Mean,
            error: error(first),
        };
        for k in 2..=max_members.min(ranked.len()) {
            let hows: &[Merge] = if k >= 3 {
                &[Merge::Mean, Merge::Median]
            } else {
                &[Merge::Mean]
            };
            for &how in hows {
                let e = error(&reference_merge(&ranked[..k], how));
                if e < best.error {
                    best = Choice {
                        members: k,
                        how,
                        error: e,
                    };
                }
            }
        }
        Some(best)
    }

    fn bits(paths: &[Vec<f64>]) -> Vec<Vec<u64>> {
        paths
            .iter()
            .map(|p| p.iter().map(|v| v.to_bits()).collect())
            .collect()
    }

    /// Random candidates of one random shape (origins with paths of different lengths, some
    /// empty) whose values are often tied: drawn from a few values (signed zeros, a huge and a
    /// tiny one) half the time, uniformly otherwise.
    fn random_candidates(rng: &mut StdRng) -> Vec<Vec<Vec<f64>>> {
        const TIES: [f64; 7] = [0.0, -0.0, 1.0, -1.0, 2.5, 1e300, -1e-300];
        let members = rng.gen_range(1..=20);
        let lens: Vec<usize> = (0..rng.gen_range(0..6))
            .map(|_| rng.gen_range(0..7))
            .collect();
        (0..members)
            .map(|_| {
                lens.iter()
                    .map(|&len| {
                        (0..len)
                            .map(|_| {
                                if rng.gen_bool(0.5) {
                                    TIES[rng.gen_range(0..TIES.len())]
                                } else {
                                    rng.gen_range(-100.0..100.0)
                                }
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    /// Every option's merge, all at once, equals the straightforward merge bit for bit.
    #[test]
    fn incremental_merge_equals_the_reference_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(14);
        let mut checked = 0;
        for _ in 0..2000 {
            let cands = random_candidates(&mut rng);
            let ranked: Vec<&[Vec<f64>]> = cands.iter().map(Vec::as_slice).collect();
            // the baseline instructions and, where the CPU has them, AVX2
            let mut all = vec![AllOptions::new_on(false, &ranked)];
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                all.push(AllOptions::new_on(true, &ranked));
            }
            for all in &all {
                let mut out = all.blank();
                for k in 1..=ranked.len() {
                    for how in [Merge::Mean, Merge::Median] {
                        let want = bits(&reference_merge(&ranked[..k], how));
                        all.write(k, how, &mut out);
                        assert_eq!(bits(&out), want, "k {k} {how:?} of {cands:?}");
                        assert_eq!(bits(&merge_paths(&ranked[..k], how)), want);
                        checked += want.iter().map(Vec::len).sum::<usize>();
                    }
                }
            }
        }
        assert!(checked > 100_000, "only {checked} points compared");
    }

    /// `choose` picks the same option with the same error bits as merging each option alone,
    /// including on ties between options (few distinct values) that only the order breaks.
    #[test]
    fn choose_equals_the_reference_choice() {
        let mut rng = StdRng::seed_from_u64(15);
        for _ in 0..2000 {
            let cands = random_candidates(&mut rng);
            let ranked: Vec<&[Vec<f64>]> = cands.iter().map(Vec::as_slice).collect();
            let err = |p: &[Vec<f64>]| -> f64 {
                p.iter().flatten().map(|v| (v - 1.0).abs().min(1e6)).sum()
            };
            for max in [1, 2, 3, 8, 20] {
                let got = choose(&ranked, max, err).unwrap();
                let want = reference_choose(&ranked, max, err).unwrap();
                assert_eq!((got.members, got.how), (want.members, want.how));
                assert_eq!(got.error.to_bits(), want.error.to_bits());
            }
        }
    }

    fn mae(y: &[f64], paths: &[Vec<f64>]) -> f64 {
        let n = y.len() as f64;
        paths
            .iter()
            .zip(y)
            .map(|(p, a)| (a - p[0]).abs())
            .sum::<f64>()
            / n
    }

    #[test]
    fn merge_known_answers() {
        let a = vec![vec![1.0, 10.0]];
        let b = vec![vec![2.0, 20.0]];
        let c = vec![vec![6.0, 0.0]];
        let m: [&[Vec<f64>]; 3] = [&a, &b, &c];
        assert_eq!(merge_paths(&m, Merge::Mean), vec![vec![3.0, 10.0]]);
        assert_eq!(merge_paths(&m, Merge::Median), vec![vec![2.0, 10.0]]);
        assert!(merge_paths(&[], Merge::Mean).is_empty());
    }

    /// Two unbiased forecasts with independent errors: their mean errs less than either, and
    /// `choose` finds that from the errors alone.
    #[test]
    fn combining_two_unbiased_independent_forecasts_lowers_the_error() {
        let mut rng = StdRng::seed_from_u64(7);
        let n = 4000;
        let y: Vec<f64> = (0..n).map(|i| (i as f64 * 0.01).sin() * 10.0).collect();
        let noisy = |rng: &mut StdRng| -> Vec<Vec<f64>> {
            y.iter()
                .map(|v| vec![v + rng.gen_range(-1.0..1.0) + rng.gen_range(-1.0..1.0)])
                .collect()
        };
        let a = noisy(&mut rng);
        let b = noisy(&mut rng);
        let (ea, eb) = (mae(&y, &a), mae(&y, &b));
        let both = merge_paths(&[&a, &b], Merge::Mean);
        let e = mae(&y, &both);
        // independent errors of equal spread: the mean's error is about 1/sqrt(2) of either
        assert!(e < 0.8 * ea.min(eb), "mean {e} vs {ea}, {eb}");
        let (first, second) = if ea <= eb { (&a, &b) } else { (&b, &a) };
        let ranked: [&[Vec<f64>]; 2] = [first, second];
        let c = choose(&ranked, 8, |p| mae(&y, p)).unwrap();
        assert_eq!((c.members, c.how), (2, Merge::Mean));
        assert!((c.error - e).abs() < 1e-12);
    }

    /// A member that is far off: the median of three ignores it, the mean does not, and `choose`
    /// picks the median; a lone best candidate that the others only spoil stays alone.
    #[test]
    fn choose_prefers_the_median_when_one_member_is_far_off_and_one_model_when_others_spoil_it() {
        let y: Vec<f64> = (0..100).map(f64::from).collect();
        let shifted = |d: f64| -> Vec<Vec<f64>> { y.iter().map(|v| vec![v + d]).collect() };
        let (a, b, c) = (shifted(-1.0), shifted(1.0), shifted(50.0));
        let ranked: [&[Vec<f64>]; 3] = [&a, &b, &c];
        let ch = choose(&ranked, 8, |p| mae(&y, p)).unwrap();
        assert_eq!((ch.members, ch.how), (2, Merge::Mean));
        assert_eq!(ch.error, 0.0);
        let exact = shifted(0.0);
        let ranked: [&[Vec<f64>]; 3] = [&exact, &a, &c];
        let ch = choose(&ranked, 8, |p| mae(&y, p)).unwrap();
        assert_eq!((ch.members, ch.how), (1, Merge::Mean));
        let near = shifted(0.5);
        let ranked: [&[Vec<f64>]; 3] = [&a, &c, &near];
        let ch = choose(&ranked, 2, |p| mae(&y, p)).unwrap();
        assert_eq!(ch.members, 1, "max_members 2 cannot reach the third");
        let ch = choose(&ranked, 3, |p| mae(&y, p)).unwrap();
        assert_eq!((ch.members, ch.how), (3, Merge::Median));
        assert!(choose(&[], 3, |p| mae(&y, p)).is_none());
    }
}

//! Forecast combination for `auto`: the element-wise mean or median of several candidates' paths,
//! and the choice among "best single model" and "combine the best k" by cross-validated error.
//!
//! Which combination is used (how many of the best-ranked candidates, mean or median) is decided
//! per series on the model-selection origins before the forecast origin, never on the points
//! being forecast.

use prescale_math::median;

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

/// Element-wise merge of the members' paths: `members[m][origin][step]` → `[origin][step]`. Every
/// member must have paths of the same shape; an empty member list gives no paths.
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
                        Merge::Mean => buf.iter().sum::<f64>() / buf.len() as f64,
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
    for k in 2..=max_members.min(ranked.len()) {
        // the median of two is their mean
        let hows: &[Merge] = if k >= 3 {
            &[Merge::Mean, Merge::Median]
        } else {
            &[Merge::Mean]
        };
        for &how in hows {
            let e = error(&merge_paths(&ranked[..k], how));
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
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

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

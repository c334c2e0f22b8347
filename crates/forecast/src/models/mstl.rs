//! MSTL-style multi-seasonal decomposition plus non-seasonal ETS on the seasonally adjusted series.
//!
//! A fast robust approximation of MSTL (Bandara, Hyndman & Bergmeir 2021) rather than iterated LOESS:
//! for each period (shortest first) the other seasonal components are removed, the trend is a centred
//! moving average of one period, and the seasonal component is the per-phase mean of the detrended
//! values, centred to zero; this is iterated twice. The adjusted series `y − Σ seasonal` is forecast
//! with ETS(A,N,N)/ETS(A,Ad,N) (AICc), and each seasonal profile is repeated over the horizon.

use super::ets::spec::TrendType;
use super::ets::{EtsModel, EtsSearch};
use crate::path::PathModel;
use prescale_math::seasonal::additive_profile;

/// Most cycles of the longest period used for the decomposition.
const DECOMPOSE_CYCLES: usize = 14;
/// Backfitting passes over all periods.
const ITERATIONS: usize = 2;

/// Periods MSTL models for this configuration and fitting length: the explicit ones, or the main
/// season plus weekly (7×) when two weekly cycles fit; only periods with two full cycles are kept.
pub fn mstl_periods(season: Option<usize>, extra: &[usize], fit_len: usize) -> Vec<usize> {
    let mut periods: Vec<usize> = season.into_iter().collect();
    if extra.is_empty() {
        if let Some(s) = season {
            periods.push(7 * s);
        }
    } else {
        periods.extend_from_slice(extra);
    }
    periods.retain(|&p| p >= 2 && fit_len >= 2 * p);
    periods.sort_unstable();
    periods.dedup();
    periods
}

/// Seasonal profiles (absolute phase) of `y[..fit_end]` for `periods`.
pub fn decompose(y: &[f64], fit_end: usize, periods: &[usize]) -> Vec<(usize, Vec<f64>)> {
    let longest = periods.iter().copied().max().unwrap_or(1);
    let start = fit_end.saturating_sub(DECOMPOSE_CYCLES * longest);
    let x = &y[start..fit_end];
    let mut profiles: Vec<(usize, Vec<f64>)> = periods.iter().map(|&p| (p, vec![0.0; p])).collect();
    // with one period nothing else is removed, so every pass computes the same profile as the first
    let passes = if profiles.len() == 1 { 1 } else { ITERATIONS };
    for _ in 0..passes {
        for i in 0..profiles.len() {
            let adjusted: Vec<f64> = x
                .iter()
                .enumerate()
                .map(|(t, &v)| {
                    v - profiles
                        .iter()
                        .enumerate()
                        .filter(|&(k, _)| k != i)
                        .map(|(_, (p, s))| s[(start + t) % p])
                        .sum::<f64>()
                })
                .collect();
            let p = profiles[i].0;
            if let Some(s) = additive_profile(&adjusted, p, start) {
                profiles[i].1 = s;
            }
        }
    }
    profiles
}

/// Fitted MSTL: seasonal profiles plus ETS on the adjusted series.
#[derive(Debug, Clone, PartialEq)]
pub struct MstlModel {
    pub seasonals: Vec<(usize, Vec<f64>)>,
    pub trend: EtsModel,
}

impl MstlModel {
    /// Decomposes `y[..fit_end]` and fits the trend model; `None` if ETS cannot be fitted.
    pub fn fit(y: &[f64], fit_end: usize, periods: &[usize]) -> Option<MstlModel> {
        let seasonals = decompose(y, fit_end, periods);
        let adjusted = adjust(y, &seasonals);
        let search = EtsSearch {
            season: None,
            trends: vec![TrendType::None, TrendType::Damped],
            multiplicative: false,
        };
        let trend = EtsModel::auto(&adjusted, fit_end, &search)?;
        Some(MstlModel { seasonals, trend })
    }

    fn seasonal_at(&self, t: usize) -> f64 {
        self.seasonals.iter().map(|(p, s)| s[t % p]).sum()
    }
}

fn adjust(y: &[f64], seasonals: &[(usize, Vec<f64>)]) -> Vec<f64> {
    y.iter()
        .enumerate()
        .map(|(t, &v)| v - seasonals.iter().map(|(p, s)| s[t % p]).sum::<f64>())
        .collect()
}

impl PathModel for MstlModel {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let adjusted = adjust(y, &self.seasonals);
        let mut paths = self.trend.paths(&adjusted, origins, h);
        for (path, &o) in paths.iter_mut().zip(origins) {
            for (j, v) in path.iter_mut().enumerate() {
                *v += self.seasonal_at(o + j);
            }
        }
        paths
    }

    fn spec(&self) -> String {
        let periods: Vec<String> = self.seasonals.iter().map(|(p, _)| p.to_string()).collect();
        format!("MSTL[{}]+{}", periods.join(","), self.trend.spec())
    }

    fn params(&self) -> Vec<(String, f64)> {
        self.trend.params()
    }

    fn in_sample_mae(&self) -> Option<f64> {
        self.trend.in_sample_mae()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_config_and_length() {
        assert_eq!(mstl_periods(Some(24), &[], 300), vec![24]);
        assert_eq!(mstl_periods(Some(24), &[], 400 * 24), vec![24, 168]);
        assert_eq!(mstl_periods(Some(4), &[10, 4], 100), vec![4, 10]);
        assert!(mstl_periods(None, &[], 100).is_empty());
    }

    /// `decompose` as it was: every backfitting pass, also with one period.
    fn reference_decompose(y: &[f64], fit_end: usize, periods: &[usize]) -> Vec<(usize, Vec<f64>)> {
        let longest = periods.iter().copied().max().unwrap_or(1);
        let start = fit_end.saturating_sub(DECOMPOSE_CYCLES * longest);
        let x = &y[start..fit_end];
        let mut profiles: Vec<(usize, Vec<f64>)> =
            periods.iter().map(|&p| (p, vec![0.0; p])).collect();
        for _ in 0..ITERATIONS {
            for i in 0..profiles.len() {
                let adjusted: Vec<f64> = x
                    .iter()
                    .enumerate()
                    .map(|(t, &v)| {
                        v - profiles
                            .iter()
                            .enumerate()
                            .filter(|&(k, _)| k != i)
                            .map(|(_, (p, s))| s[(start + t) % p])
                            .sum::<f64>()
                    })
                    .collect();
                let p = profiles[i].0;
                if let Some(s) = additive_profile(&adjusted, p, start) {
                    profiles[i].1 = s;
                }
            }
        }
        profiles
    }

    #[test]
    fn one_pass_for_one_period_equals_every_pass() {
        let mut rng = prescale_math::SplitMix64(9);
        let y: Vec<f64> = (0..2000)
            .map(|t| 50.0 + 10.0 * ((t % 24) as f64).sin() + 3.0 * rng.normal())
            .collect();
        for (fit_end, periods) in [
            (2000, vec![24]),
            (1500, vec![24]),
            (2000, vec![24, 168]),
            (40, vec![24]),
        ] {
            let bits = |d: Vec<(usize, Vec<f64>)>| -> Vec<(usize, Vec<u64>)> {
                d.into_iter()
                    .map(|(p, s)| (p, s.iter().map(|v| v.to_bits()).collect()))
                    .collect()
            };
            assert_eq!(
                bits(decompose(&y, fit_end, &periods)),
                bits(reference_decompose(&y, fit_end, &periods)),
                "{fit_end} {periods:?}"
            );
        }
    }

    #[test]
    fn recovers_two_additive_patterns() {
        let a = [2.0, -1.0, -1.0];
        let b = [1.5, 0.5, -0.5, -1.5, 0.0];
        let y: Vec<f64> = (0..600)
            .map(|t| 20.0 + 0.01 * t as f64 + a[t % 3] + b[t % 5])
            .collect();
        let s = decompose(&y, 600, &[3, 5]);
        for (got, want) in s[0].1.iter().zip(a) {
            assert!((got - want).abs() < 0.05, "{s:?}");
        }
        for (got, want) in s[1].1.iter().zip(b) {
            assert!((got - want).abs() < 0.05, "{s:?}");
        }
        let m = MstlModel::fit(&y, 600, &[3, 5]).unwrap();
        let f = &m.paths(&y, &[600], 6)[0];
        for (j, v) in f.iter().enumerate() {
            let t = 600 + j;
            let want = 20.0 + 0.01 * t as f64 + a[t % 3] + b[t % 5];
            assert!((v - want).abs() < 0.2, "{f:?}");
        }
    }
}

//! Estimation of ETS parameters: heuristic initial states, likelihood, Nelder–Mead, AICc.

use super::recursion::EtsState;
use super::spec::{ErrorType, EtsParams, EtsSpec, SeasonType, TrendType};
use crate::optimize::{nelder_mead, NelderMeadOptions};
use prescale_math::{least_squares_slope, mean};

/// Parameter bounds (Hyndman et al.: usual region, with beta and gamma scaled by alpha).
const LO: f64 = 1e-4;
const HI: f64 = 0.9999;
const PHI_LO: f64 = 0.8;
const PHI_HI: f64 = 0.98;

/// A fitted ETS form on one window.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsFit {
    pub spec: EtsSpec,
    pub params: EtsParams,
    pub init: EtsState,
    pub aicc: f64,
    pub mae: f64,
}

/// Initial states by simple heuristics (statsforecast-like): seasonal indices from the first full
/// cycles, level and trend from a regression over the first `max(10, 2m)` deseasonalized points.
pub fn initial_state(spec: &EtsSpec, y: &[f64]) -> Option<EtsState> {
    let m = spec.m();
    let season = match spec.season {
        SeasonType::None => Vec::new(),
        kind => {
            let cycles = (y.len() / m).min(4);
            if cycles < 2 {
                return None;
            }
            let mut s = vec![0.0; m];
            for c in 0..cycles {
                let chunk = &y[c * m..(c + 1) * m];
                let cm = mean(chunk)?;
                for (si, &v) in s.iter_mut().zip(chunk) {
                    *si += if kind == SeasonType::Additive {
                        v - cm
                    } else if cm > 0.0 {
                        v / cm
                    } else {
                        1.0
                    } / cycles as f64;
                }
            }
            normalize_season(&mut s, kind);
            s
        }
    };
    let maxn = y.len().min(10.max(2 * m));
    let sa: Vec<f64> = y[..maxn]
        .iter()
        .enumerate()
        .map(|(i, &v)| match spec.season {
            SeasonType::None => v,
            SeasonType::Additive => v - season[i % m],
            SeasonType::Multiplicative => v / season[i % m],
        })
        .collect();
    let ybar = mean(&sa)?;
    let (level, trend) = match spec.trend {
        TrendType::None => (ybar, 0.0),
        _ => {
            let b = least_squares_slope(&sa).unwrap_or(0.0);
            // intercept at index 0, moved one step back so the first forecast is the intercept
            let intercept = ybar - b * (maxn as f64 - 1.0) / 2.0;
            (intercept - b, b)
        }
    };
    Some(EtsState {
        level,
        trend,
        season,
        pos: 0,
    })
}

fn normalize_season(s: &mut [f64], kind: SeasonType) {
    let Some(m) = mean(s) else { return };
    match kind {
        SeasonType::Additive => s.iter_mut().for_each(|v| *v -= m),
        SeasonType::Multiplicative if m > 0.0 => s.iter_mut().for_each(|v| *v /= m),
        _ => {}
    }
}

/// `−2 log L` up to a constant shared by all forms, and the mean absolute one-step error.
pub fn neg2_loglik(spec: &EtsSpec, p: &EtsParams, init: &EtsState, y: &[f64]) -> (f64, f64) {
    let mut s = init.clone();
    let (mut sse, mut rel2, mut log_mu, mut abs) = (0.0, 0.0, 0.0, 0.0);
    // Σ ln μ as the ln of running products: one ln per ~a hundred points instead of one per
    // point (the logarithm was a third of a replay's time). A product leaves [1e-200, 1e200]
    // rarely; a μ outside [1e-100, 1e100] is logged on its own so no product can overflow.
    let mut prod = 1.0f64;
    for &v in y {
        let mu = s.update(spec, p, v);
        let e = v - mu;
        sse += e * e;
        abs += e.abs();
        if spec.error == ErrorType::Multiplicative {
            if mu <= 0.0 {
                return (f64::INFINITY, f64::INFINITY);
            }
            rel2 += (e / mu) * (e / mu);
            if (1e-100..=1e100).contains(&mu) {
                prod *= mu;
                if !(1e-200..=1e200).contains(&prod) {
                    log_mu += prod.ln();
                    prod = 1.0;
                }
            } else {
                log_mu += mu.ln();
            }
        }
    }
    log_mu += prod.ln();
    let n = y.len() as f64;
    let lik = match spec.error {
        ErrorType::Additive => n * (sse / n).max(f64::MIN_POSITIVE).ln(),
        ErrorType::Multiplicative => n * (rel2 / n).max(f64::MIN_POSITIVE).ln() + 2.0 * log_mu,
    };
    (lik, abs / n)
}

/// Maps the free parameter vector (alpha, beta*, gamma*, phi as applicable) to smoothing parameters.
fn params_from(spec: &EtsSpec, x: &[f64]) -> EtsParams {
    let mut it = x.iter().copied();
    let alpha = it.next().unwrap_or(0.5);
    let mut p = EtsParams {
        alpha,
        beta: 0.0,
        gamma: 0.0,
        phi: 1.0,
    };
    if spec.trend != TrendType::None {
        p.beta = alpha * it.next().unwrap_or(0.1);
    }
    if spec.season != SeasonType::None {
        p.gamma = (1.0 - alpha) * it.next().unwrap_or(0.05);
    }
    if spec.trend == TrendType::Damped {
        p.phi = it.next().unwrap_or(0.95);
    }
    p
}

/// Fits one ETS form to `y` by minimizing `−2 log L` with Nelder–Mead; `None` when it cannot be fitted.
pub fn fit_spec(spec: EtsSpec, y: &[f64], max_evals: usize) -> Option<EtsFit> {
    let init = initial_state(&spec, y)?;
    let (mut x0, mut lo, mut hi) = (vec![0.2], vec![LO], vec![HI]);
    if spec.trend != TrendType::None {
        x0.push(0.1);
        lo.push(LO);
        hi.push(HI);
    }
    if spec.season != SeasonType::None {
        x0.push(0.05);
        lo.push(LO);
        hi.push(HI);
    }
    if spec.trend == TrendType::Damped {
        x0.push(0.95);
        lo.push(PHI_LO);
        hi.push(PHI_HI);
    }
    let opts = NelderMeadOptions {
        max_evals,
        f_tol: 1e-6,
        step: 0.15,
    };
    let best = nelder_mead(
        |x| neg2_loglik(&spec, &params_from(&spec, x), &init, y).0,
        &x0,
        &lo,
        &hi,
        opts,
    );
    let params = params_from(&spec, &best.x);
    let (lik, mae) = neg2_loglik(&spec, &params, &init, y);
    if !lik.is_finite() {
        return None;
    }
    let n = y.len() as f64;
    let k = (spec.n_smoothing() + spec.n_states() + 1) as f64;
    let aicc = if n - k - 1.0 > 0.0 {
        lik + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0)
    } else {
        f64::INFINITY
    };
    Some(EtsFit {
        spec,
        params,
        init,
        aicc,
        mae,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_ses_alpha_on_random_walk_like_data() {
        // y follows an exact SES recursion with alpha 0.6 and deterministic shocks
        let mut level = 10.0;
        let mut y = Vec::new();
        let mut state = 12345u64;
        for _ in 0..600 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let e = ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            y.push(level + e);
            level += 0.6 * e;
        }
        let spec = EtsSpec::non_seasonal(ErrorType::Additive, TrendType::None);
        let fit = fit_spec(spec, &y, 200).unwrap();
        assert!((fit.params.alpha - 0.6).abs() < 0.1, "{:?}", fit.params);
        assert!(fit.aicc.is_finite());
    }

    #[test]
    fn the_log_likelihood_sums_logs_through_products_without_loss() {
        // Multiplicative errors over levels from 1e-120 to 1e120: the product form must equal
        // the per-point sum of logs (to rounding), with no overflow or underflow.
        let spec = EtsSpec::non_seasonal(ErrorType::Multiplicative, TrendType::None);
        let p = EtsParams {
            alpha: 0.3,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        for scale in [1e-120, 1e-3, 1.0, 1e50, 1e120] {
            let y: Vec<f64> = (0..500)
                .map(|t| scale * (1.0 + 0.2 * ((t * 7 % 13) as f64 / 13.0)))
                .collect();
            let init = initial_state(&spec, &y).unwrap();
            let (lik, _) = neg2_loglik(&spec, &p, &init, &y);
            // The reference: the same recursion, one ln per point.
            let mut s = init.clone();
            let (mut rel2, mut log_mu) = (0.0, 0.0);
            for &v in &y {
                let mu = s.update(&spec, &p, v);
                rel2 += ((v - mu) / mu).powi(2);
                log_mu += mu.ln();
            }
            let n = y.len() as f64;
            let want = n * (rel2 / n).ln() + 2.0 * log_mu;
            assert!(lik.is_finite(), "{scale}: {lik}");
            assert!(
                (lik - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{scale}: {lik} vs {want}"
            );
        }
    }

    #[test]
    fn seasonal_initial_state_is_normalized() {
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + [1.0, -1.0, 2.0, -2.0][t % 4])
            .collect();
        let spec = EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::Additive,
            period: 4,
        };
        let s = initial_state(&spec, &y).unwrap();
        assert_eq!(s.season, vec![1.0, -1.0, 2.0, -2.0]);
        assert!((s.level - 10.0).abs() < 1e-12);
    }
}

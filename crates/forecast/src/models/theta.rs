//! The standard Theta method (Assimakopoulos & Nikolopoulos 2000) in its SES-with-drift form
//! (Hyndman & Billah 2003): forecast = SES level + (b/2)·(h − 1 + (1 − (1−α)^n)/α), where `b` is the
//! least-squares slope, with classical seasonal adjustment (multiplicative for positive data, else
//! additive) when a season is known, two cycles fit and the seasonal strength is material.

use crate::optimize::{NelderMead, NelderMeadOptions};
use crate::path::PathModel;
use prescale_math::least_squares_slope;
use prescale_math::seasonal::{
    additive_profile_on, centred_moving_average, multiplicative_profile_on, seasonal_strength_on,
};

/// Points before the calibration tail used to estimate alpha and the slope.
const FIT_WINDOW: usize = 1024;
/// Most cycles used to estimate the seasonal indices.
const SEASON_CYCLES: usize = 10;
/// Seasonal strength below which the series is not adjusted.
const MIN_STRENGTH: f64 = 0.1;

/// Seasonal indices on absolute phases.
#[derive(Debug, Clone, PartialEq)]
pub enum Adjustment {
    None,
    Additive(Vec<f64>),
    Multiplicative(Vec<f64>),
}

impl Adjustment {
    fn remove(&self, t: usize, v: f64) -> f64 {
        match self {
            Adjustment::None => v,
            Adjustment::Additive(s) => v - s[t % s.len()],
            Adjustment::Multiplicative(s) => v / s[t % s.len()],
        }
    }
    fn restore(&self, t: usize, v: f64) -> f64 {
        match self {
            Adjustment::None => v,
            Adjustment::Additive(s) => v + s[t % s.len()],
            Adjustment::Multiplicative(s) => v * s[t % s.len()],
        }
    }

    /// Classical decomposition indices estimated on `y[..fit_end]`.
    pub fn estimate(y: &[f64], fit_end: usize, season: Option<usize>) -> Adjustment {
        let Some(m) = season.filter(|&m| m >= 2 && fit_end > 2 * m) else {
            return Adjustment::None;
        };
        let start = fit_end.saturating_sub(SEASON_CYCLES * m);
        let x = &y[start..fit_end];
        // One trend for the three measures (each would compute the same one).
        let trend = centred_moving_average(x, m);
        let Some(add) = additive_profile_on(x, &trend, m, start) else {
            return Adjustment::None;
        };
        if seasonal_strength_on(x, &trend, &add, start).unwrap_or(0.0) < MIN_STRENGTH {
            return Adjustment::None;
        }
        if x.iter().all(|&v| v > 0.0) {
            if let Some(mul) = multiplicative_profile_on(x, &trend, m, start) {
                if mul.iter().all(|&s| s > 0.0) {
                    return Adjustment::Multiplicative(mul);
                }
            }
        }
        Adjustment::Additive(add)
    }
}

/// A fitted Theta model.
#[derive(Debug, Clone, PartialEq)]
pub struct ThetaModel {
    pub adjustment: Adjustment,
    pub alpha: f64,
    /// Half the least-squares slope of the adjusted fit window.
    pub drift: f64,
    pub start: usize,
    pub level0: f64,
    pub mae: f64,
}

fn ses_sse(alpha: f64, level0: f64, x: &[f64]) -> (f64, f64) {
    let (mut l, mut sse, mut abs) = (level0, 0.0, 0.0);
    for &v in x {
        let e = v - l;
        sse += e * e;
        abs += e.abs();
        l += alpha * e;
    }
    (sse, abs / x.len().max(1) as f64)
}

/// Lanes of [`ses_sse_lanes`]: the point a minimization asks and those it may ask next (after
/// a reflection, the expansion and both contractions).
const LANES: usize = 4;

/// The squared-error sums [`ses_sse`] computes for each alpha of `alphas`, in one pass over `x`
/// (each lane's arithmetic exactly its own: the recursion is latency-bound, so side by side the
/// lanes cost about one).
fn ses_sse_lanes(alphas: [f64; LANES], level0: f64, x: &[f64]) -> [f64; LANES] {
    let (mut l, mut sse) = ([level0; LANES], [0.0; LANES]);
    for &v in x {
        for k in 0..LANES {
            let e = v - l[k];
            sse[k] += e * e;
            l[k] += alphas[k] * e;
        }
    }
    sse
}

/// The alpha minimizing [`ses_sse`] by Nelder–Mead, as `optimize::nelder_mead` finds it (the
/// same points asked, the same values told), each evaluation also computing the points the
/// minimization may ask next (`NelderMead::ask_ahead`) so most steps take one pass over `x`.
fn fit_alpha(level0: f64, x: &[f64]) -> f64 {
    let mut nm = NelderMead::new(
        &[0.3],
        &[0.01],
        &[0.9999],
        NelderMeadOptions {
            max_evals: 40,
            f_tol: 1e-6,
            step: 0.2,
        },
    );
    let mut ahead = Vec::new();
    while let Some(asked) = nm.ask() {
        let mut alphas = [asked[0]; LANES];
        nm.ask_ahead(&mut ahead);
        for (a, p) in alphas.iter_mut().skip(1).zip(&ahead) {
            *a = p[0];
        }
        let sse = ses_sse_lanes(alphas, level0, x);
        while let Some(next) = nm.ask() {
            let Some(k) = alphas.iter().position(|a| a.to_bits() == next[0].to_bits()) else {
                break;
            };
            nm.tell(sse[k]);
        }
    }
    nm.minimum().x[0]
}

impl ThetaModel {
    /// Fits on `y[..fit_end]`; `None` for fewer than 3 points.
    pub fn fit(y: &[f64], fit_end: usize, season: Option<usize>) -> Option<ThetaModel> {
        let adjustment = Adjustment::estimate(y, fit_end, season);
        let start = fit_end.saturating_sub(FIT_WINDOW);
        let x: Vec<f64> = (start..fit_end)
            .map(|t| adjustment.remove(t, y[t]))
            .collect();
        if x.len() < 3 {
            return None;
        }
        let level0 = x[0];
        let alpha = fit_alpha(level0, &x);
        let (_, mae) = ses_sse(alpha, level0, &x);
        let drift = least_squares_slope(&x)? / 2.0;
        Some(ThetaModel {
            adjustment,
            alpha,
            drift,
            start,
            level0,
            mae,
        })
    }

    fn forecast(&self, level: f64, seen: usize, origin: usize, h: usize) -> Vec<f64> {
        let a = self.alpha;
        let tail = (1.0 - (1.0 - a).powi(seen.min(i32::MAX as usize) as i32)) / a;
        (0..h)
            .map(|j| {
                let v = level + self.drift * (j as f64 + tail);
                self.adjustment.restore(origin + j, v)
            })
            .collect()
    }
}

impl PathModel for ThetaModel {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(origins.len());
        let mut level = self.level0;
        let mut t = self.start;
        for &o in origins {
            let o = o.max(self.start);
            while t < o && t < y.len() {
                level += self.alpha * (self.adjustment.remove(t, y[t]) - level);
                t += 1;
            }
            out.push(self.forecast(level, t - self.start, o, h));
        }
        out
    }

    fn spec(&self) -> String {
        match &self.adjustment {
            Adjustment::None => "Theta".to_string(),
            Adjustment::Additive(s) => format!("Theta+add[{}]", s.len()),
            Adjustment::Multiplicative(s) => format!("Theta+mul[{}]", s.len()),
        }
    }

    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("alpha".to_string(), self.alpha),
            ("drift".to_string(), self.drift),
        ]
    }

    fn in_sample_mae(&self) -> Option<f64> {
        Some(self.mae)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_line_gets_half_the_slope() {
        // On y = 2 + 3t the Theta method forecasts y_n + (3/2)·h (alpha → 1): half the slope.
        let y: Vec<f64> = (0..200).map(|t| 2.0 + 3.0 * t as f64).collect();
        let m = ThetaModel::fit(&y, 200, None).unwrap();
        assert!(m.alpha > 0.99, "{}", m.alpha);
        assert!((m.drift - 1.5).abs() < 1e-9);
        let f = &m.paths(&y, &[200], 3)[0];
        for (j, v) in f.iter().enumerate() {
            let want = y[199] + 1.5 * (j + 1) as f64;
            assert!((v - want).abs() < 0.01, "{f:?}");
        }
    }

    /// The fit as it was: `nelder_mead` evaluating `ses_sse` one point at a time.
    fn reference_alpha(level0: f64, x: &[f64]) -> f64 {
        let best = crate::optimize::nelder_mead(
            |a| ses_sse(a[0], level0, x).0,
            &[0.3],
            &[0.01],
            &[0.9999],
            NelderMeadOptions {
                max_evals: 40,
                f_tol: 1e-6,
                step: 0.2,
            },
        );
        best.x[0]
    }

    #[test]
    fn alpha_with_points_asked_ahead_equals_one_point_at_a_time() {
        // noisy levels, a random walk, a trend, bursts, a constant and a short series: the
        // same alpha bit for bit (so the same model)
        let mut rng = prescale_math::SplitMix64(3);
        let mut walk = 50.0;
        let series: Vec<Vec<f64>> = vec![
            (0..1024).map(|_| 100.0 + 10.0 * rng.normal()).collect(),
            (0..1024)
                .map(|_| {
                    walk += rng.normal();
                    walk
                })
                .collect(),
            (0..700).map(|t| 0.5 * t as f64 + rng.uniform()).collect(),
            (0..900)
                .map(|t| {
                    if t % 97 == 0 {
                        500.0
                    } else {
                        20.0 + rng.uniform()
                    }
                })
                .collect(),
            vec![7.0; 300],
            vec![1.0, 5.0, 2.0],
        ];
        for x in &series {
            let want = reference_alpha(x[0], x);
            assert_eq!(fit_alpha(x[0], x).to_bits(), want.to_bits(), "{want}");
            // and every lane's sum is the one-point sum, whatever the company
            let alphas = [0.01, want, 0.5, 0.9999];
            let lanes = ses_sse_lanes(alphas, x[0], x);
            for (a, got) in alphas.iter().zip(lanes) {
                assert_eq!(got.to_bits(), ses_sse(*a, x[0], x).0.to_bits(), "alpha {a}");
            }
        }
    }

    #[test]
    fn seasonal_adjustment_is_used_on_strong_seasons() {
        let y: Vec<f64> = (0..300)
            .map(|t| 10.0 + [4.0, -4.0, 1.0, -1.0][t % 4])
            .collect();
        let m = ThetaModel::fit(&y, 300, Some(4)).unwrap();
        assert!(matches!(m.adjustment, Adjustment::Multiplicative(_)));
        let f = &m.paths(&y, &[300], 4)[0];
        for (j, v) in f.iter().enumerate() {
            assert!((v - y[296 + j]).abs() < 0.05, "{f:?}");
        }
    }
}

//! AutoARIMA: ARIMA(p,d,q) with a seasonal AR term when the season is short, coefficients by
//! conditional sum of squares (Nelder–Mead), the order by AICc, `d` by the KPSS test.
//!
//! On the differenced series `w` with mean `mu`:
//! `w_t − mu = Σ φ_i (w_{t−i} − mu) + Φ (w_{t−m} − mu) + e_t + Σ θ_j e_{t−j}`.

use crate::optimize::{nelder_mead, NelderMeadOptions};
use crate::path::PathModel;

/// Points before the calibration tail the orders and coefficients are estimated on.
const FIT_WINDOW: usize = 768;
/// (p, q) orders tried, smallest first.
const ORDERS: [(usize, usize); 10] = [
    (0, 0),
    (1, 0),
    (0, 1),
    (1, 1),
    (2, 0),
    (0, 2),
    (2, 1),
    (1, 2),
    (3, 0),
    (2, 2),
];
/// Longest season given a seasonal AR term ("short" seasons: hourly data over a day, days in a week).
const SHORT_SEASON: usize = 24;
/// The KPSS level-stationarity statistic's 5% critical value (Kwiatkowski et al. 1992).
const KPSS_CRITICAL: f64 = 0.463;
/// Largest sum of absolute AR (or MA) coefficients: keeps the fit stationary and invertible.
const MAX_ABS_SUM: f64 = 0.98;

/// A fitted ARIMA model.
#[derive(Debug, Clone, PartialEq)]
pub struct ArimaModel {
    pub p: usize,
    pub d: usize,
    pub q: usize,
    /// The seasonal AR lag, when the model has one.
    pub season: Option<usize>,
    pub phi: Vec<f64>,
    pub theta: Vec<f64>,
    /// Seasonal AR coefficient (0 without a seasonal term).
    pub sphi: f64,
    /// Mean of the differenced series (the drift when `d = 1`).
    pub mu: f64,
    pub sigma2: f64,
    pub aicc: f64,
    /// Where the residual recursion starts.
    start: usize,
}

/// The KPSS statistic for level stationarity of `x` (Newey–West variance, Schwert's lag rule).
pub fn kpss(x: &[f64]) -> Option<f64> {
    let n = x.len();
    if n < 8 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let lags = (4.0 * (n as f64 / 100.0).powf(0.25)).floor() as usize;
    let mut s2 = e.iter().map(|v| v * v).sum::<f64>() / n as f64;
    for l in 1..=lags.min(n - 1) {
        let w = 1.0 - l as f64 / (lags as f64 + 1.0);
        let g: f64 = (l..n).map(|t| e[t] * e[t - l]).sum::<f64>() / n as f64;
        s2 += 2.0 * w * g;
    }
    if s2 <= 0.0 || !s2.is_finite() {
        return None;
    }
    let mut partial = 0.0;
    let mut eta = 0.0;
    for v in &e {
        partial += v;
        eta += partial * partial;
    }
    Some(eta / (n as f64 * n as f64 * s2))
}

/// `y` differenced `d` times (0 or 1), aligned so that `w[t]` belongs to `y[t]` (the first `d` are 0).
fn difference(y: &[f64], d: usize) -> Vec<f64> {
    match d {
        0 => y.to_vec(),
        _ => (0..y.len())
            .map(|t| if t == 0 { 0.0 } else { y[t] - y[t - 1] })
            .collect(),
    }
}

/// The model form being estimated: orders and where the recursion starts.
#[derive(Debug, Clone, Copy)]
struct Form {
    p: usize,
    q: usize,
    season: Option<usize>,
}

impl Form {
    fn params(&self) -> usize {
        self.p + self.q + usize::from(self.season.is_some())
    }

    fn lag_span(&self) -> usize {
        self.p.max(self.season.unwrap_or(0))
    }

    /// Sum of squared one-step errors over `w[from..to]` and their count, with coefficients `x`.
    fn css(&self, w: &[f64], mu: f64, x: &[f64], from: usize, to: usize) -> (f64, usize) {
        let (phi, rest) = x.split_at(self.p);
        let (theta, s) = rest.split_at(self.q);
        let sphi = s.first().copied().unwrap_or(0.0);
        let mut e = vec![0.0; to.saturating_sub(from)];
        let mut sum = 0.0;
        let start = from + self.lag_span();
        for t in start..to {
            let mut f = mu;
            for (i, c) in phi.iter().enumerate() {
                f += c * (w[t - 1 - i] - mu);
            }
            if let Some(m) = self.season {
                f += sphi * (w[t - m] - mu);
            }
            for (j, c) in theta.iter().enumerate() {
                if let Some(i) = t.checked_sub(1 + j).filter(|&i| i >= start) {
                    f += c * e[i - from];
                }
            }
            let r = w[t] - f;
            e[t - from] = r;
            sum += r * r;
        }
        (sum, to.saturating_sub(start))
    }
}

impl ArimaModel {
    /// The order with the lowest AICc, estimated on `y[..fit_end]`; `None` when too few points.
    pub fn auto(y: &[f64], fit_end: usize, season: Option<usize>) -> Option<ArimaModel> {
        let from = fit_end.saturating_sub(FIT_WINDOW);
        let window = &y[from..fit_end];
        let d = usize::from(kpss(window).is_some_and(|s| s > KPSS_CRITICAL));
        let seasons: Vec<Option<usize>> =
            match season.filter(|&m| (2..=SHORT_SEASON).contains(&m) && window.len() >= 4 * m) {
                Some(m) => vec![None, Some(m)],
                None => vec![None],
            };
        let mut best: Option<ArimaModel> = None;
        for s in seasons {
            for (p, q) in ORDERS {
                if let Some(m) = Self::fit_order(y, fit_end, p, d, q, s) {
                    if best.as_ref().is_none_or(|b| m.aicc < b.aicc) {
                        best = Some(m);
                    }
                }
            }
        }
        best
    }

    /// ARIMA(p,d,q) (plus a seasonal AR term at lag `season`) estimated on `y[..fit_end]`.
    pub fn fit_order(
        y: &[f64],
        fit_end: usize,
        p: usize,
        d: usize,
        q: usize,
        season: Option<usize>,
    ) -> Option<ArimaModel> {
        let from = fit_end.saturating_sub(FIT_WINDOW) + d;
        let w = difference(&y[..fit_end], d);
        let form = Form { p, q, season };
        let k = form.params();
        // a few points per coefficient beyond the lags (white noise around a mean needs 4)
        if fit_end < from + form.lag_span() + 4 * k + 4 {
            return None;
        }
        let mu = w[from..fit_end].iter().sum::<f64>() / (fit_end - from) as f64;
        let objective = |x: &[f64]| {
            let ar: f64 = x[..p].iter().map(|c| c.abs()).sum::<f64>()
                + x[p + q..].iter().map(|c| c.abs()).sum::<f64>();
            let ma: f64 = x[p..p + q].iter().map(|c| c.abs()).sum();
            if ar > MAX_ABS_SUM || ma > MAX_ABS_SUM {
                return f64::INFINITY;
            }
            let (sum, n) = form.css(&w, mu, x, from, fit_end);
            sum / n.max(1) as f64
        };
        let x = if k == 0 {
            Vec::new()
        } else {
            let bound = vec![MAX_ABS_SUM; k];
            let lower: Vec<f64> = bound.iter().map(|b| -b).collect();
            nelder_mead(
                objective,
                &vec![0.0; k],
                &lower,
                &bound,
                NelderMeadOptions {
                    max_evals: 120 * k,
                    f_tol: 1e-8,
                    step: 0.2,
                },
            )
            .x
        };
        let (sum, n) = form.css(&w, mu, &x, from, fit_end);
        let sigma2 = sum / n.max(1) as f64;
        if !sigma2.is_finite() || n < k + 4 {
            return None;
        }
        // coefficients, the mean and the variance
        let params = (k + 2) as f64;
        let nf = n as f64;
        let aicc = nf * sigma2.max(1e-300).ln()
            + 2.0 * params
            + 2.0 * params * (params + 1.0) / (nf - params - 1.0);
        Some(ArimaModel {
            p,
            d,
            q,
            season,
            phi: x[..p].to_vec(),
            theta: x[p..p + q].to_vec(),
            sphi: x.get(p + q).copied().unwrap_or(0.0),
            mu,
            sigma2,
            aicc,
            start: from,
        })
    }

    fn form(&self) -> Form {
        Form {
            p: self.p,
            q: self.q,
            season: self.season,
        }
    }
}

impl PathModel for ArimaModel {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let w = difference(y, self.d);
        let form = self.form();
        let (phi, theta, sphi, mu) = (&self.phi, &self.theta, self.sphi, self.mu);
        // one-step errors over the whole series, once: e[t] uses only w[..=t]
        let begin = self.start + form.lag_span();
        let mut e = vec![0.0; w.len()];
        for t in begin..w.len() {
            let mut f = mu;
            for (i, c) in phi.iter().enumerate() {
                f += c * (w[t - 1 - i] - mu);
            }
            if let Some(m) = self.season {
                f += sphi * (w[t - m] - mu);
            }
            for (j, c) in theta.iter().enumerate() {
                if let Some(i) = t.checked_sub(1 + j).filter(|&i| i >= begin) {
                    f += c * e[i];
                }
            }
            e[t] = w[t] - f;
        }
        origins
            .iter()
            .map(|&o| {
                let o = o.clamp(begin.max(1), y.len());
                let span = form.lag_span().max(self.q);
                // known differences and errors before the origin, then the forecast ones
                let mut wk: Vec<f64> = w[o - span.min(o)..o].to_vec();
                let mut ek: Vec<f64> = e[o - span.min(o)..o].to_vec();
                let base = wk.len();
                let mut level = y[o - 1];
                let mut out = Vec::with_capacity(h);
                for k in 0..h {
                    let t = base + k;
                    let mut f = mu;
                    for (i, c) in phi.iter().enumerate() {
                        if let Some(v) = t.checked_sub(1 + i).and_then(|i| wk.get(i)) {
                            f += c * (v - mu);
                        }
                    }
                    if let Some(m) = self.season {
                        if let Some(v) = t.checked_sub(m).and_then(|i| wk.get(i)) {
                            f += sphi * (v - mu);
                        }
                    }
                    for (j, c) in theta.iter().enumerate() {
                        if let Some(v) = t.checked_sub(1 + j).and_then(|i| ek.get(i)) {
                            f += c * v;
                        }
                    }
                    wk.push(f);
                    ek.push(0.0);
                    level = if self.d == 1 { level + f } else { f };
                    out.push(level);
                }
                out
            })
            .collect()
    }

    fn spec(&self) -> String {
        match self.season {
            Some(m) => format!("ARIMA({},{},{})(1,0,0)[{m}]", self.p, self.d, self.q),
            None => format!("ARIMA({},{},{})", self.p, self.d, self.q),
        }
    }

    fn params(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = Vec::new();
        for (i, c) in self.phi.iter().enumerate() {
            out.push((format!("ar{}", i + 1), *c));
        }
        for (j, c) in self.theta.iter().enumerate() {
            out.push((format!("ma{}", j + 1), *c));
        }
        if self.season.is_some() {
            out.push(("sar1".into(), self.sphi));
        }
        out.push(("mean".into(), self.mu));
        out.push(("sigma2".into(), self.sigma2));
        out.push(("aicc".into(), self.aicc));
        out
    }

    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn ar2(n: usize, a: f64, b: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut y = vec![0.0, 0.0];
        for _ in 2..n {
            // a sum of uniforms is close enough to Gaussian noise for CSS
            let e: f64 = (0..6).map(|_| rng.gen::<f64>() - 0.5).sum();
            let v = a * y[y.len() - 1] + b * y[y.len() - 2] + e;
            y.push(v);
        }
        y.iter().map(|v| v + 50.0).collect()
    }

    #[test]
    fn recovers_ar2_coefficients() {
        let y = ar2(1200, 0.6, -0.3, 3);
        let m = ArimaModel::fit_order(&y, y.len(), 2, 0, 0, None).unwrap();
        assert!((m.phi[0] - 0.6).abs() < 0.08, "{:?}", m.phi);
        assert!((m.phi[1] + 0.3).abs() < 0.08, "{:?}", m.phi);
        assert!((m.mu - 50.0).abs() < 0.3, "{}", m.mu);
        // the order search finds an AR(2)-like model: two AR lags, level-stationary
        let auto = ArimaModel::auto(&y, y.len(), None).unwrap();
        assert_eq!((auto.d, auto.p), (0, 2), "{}", auto.spec());
    }

    #[test]
    fn a_random_walk_is_differenced() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut y = vec![100.0];
        for _ in 0..800 {
            let last = y[y.len() - 1];
            y.push(last + rng.gen::<f64>() - 0.5);
        }
        assert!(kpss(&y).unwrap() > KPSS_CRITICAL);
        let m = ArimaModel::auto(&y, y.len(), None).unwrap();
        assert_eq!(m.d, 1, "{}", m.spec());
        // forecasts of a driftless walk stay near the last value
        let path = &m.paths(&y, &[y.len()], 12)[0];
        let last = y[y.len() - 1];
        assert!(path.iter().all(|v| (v - last).abs() < 1.0), "{path:?}");
    }

    #[test]
    fn ar1_forecast_decays_to_the_mean() {
        let mut y = ar2(800, 0.5, 0.0, 5);
        y.push(y.iter().sum::<f64>() / y.len() as f64 + 6.0);
        let m = ArimaModel::fit_order(&y, y.len(), 1, 0, 0, None).unwrap();
        let path = &m.paths(&y, &[y.len()], 6)[0];
        // each step about halves the distance to the mean, as the data did
        let gap = |v: f64| (v - m.mu).abs();
        assert!(
            gap(path[0]) < 0.7 * 6.0 && gap(path[0]) > 0.3 * 6.0,
            "{path:?} {}",
            m.mu
        );
        assert!(gap(path[5]) < 0.1 * gap(path[0]), "{path:?}");
    }

    #[test]
    fn too_short_is_none() {
        assert!(ArimaModel::fit_order(&[1.0, 2.0, 3.0], 3, 1, 0, 0, None).is_none());
    }
}

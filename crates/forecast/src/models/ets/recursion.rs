//! The ETS state recursion (Hyndman et al. 2008, additive-error form) and h-step point forecasts.
//!
//! Point recursions are the same for additive and multiplicative errors; the error type only changes
//! the likelihood used to estimate the parameters.

use super::spec::{EtsParams, EtsSpec, SeasonType, TrendType};

/// The seasonal index after `pos` in a season of `m` (`pos < m`).
#[inline]
fn next_pos(pos: usize, m: usize) -> usize {
    if pos + 1 >= m {
        0
    } else {
        pos + 1
    }
}

/// Level, trend and seasonal states; `season[pos]` is the index for the next observation.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsState {
    pub level: f64,
    pub trend: f64,
    pub season: Vec<f64>,
    pub pos: usize,
}

impl EtsState {
    /// The seasonal index for the observation `ahead` steps after the next one.
    fn season_at(&self, ahead: usize) -> f64 {
        match self.season.len() {
            0 => 0.0,
            m => self.season[(self.pos + ahead) % m],
        }
    }

    /// One-step forecast `μ` for the next observation and the trend-only part `T = l + φb`.
    #[inline]
    pub fn one_step(&self, spec: &EtsSpec, p: &EtsParams) -> (f64, f64) {
        let t = match spec.trend {
            TrendType::None => self.level,
            TrendType::Additive => self.level + self.trend,
            TrendType::Damped => self.level + p.phi * self.trend,
        };
        // `pos` is always < m, so the next index needs no modulo (a division per point).
        let mu = match spec.season {
            SeasonType::None => t,
            SeasonType::Additive => t + self.season.get(self.pos).copied().unwrap_or(0.0),
            SeasonType::Multiplicative => t * self.season.get(self.pos).copied().unwrap_or(0.0),
        };
        (mu, t)
    }

    /// Absorbs observation `y`; returns the one-step forecast `μ` made before seeing it.
    #[inline]
    pub fn update(&mut self, spec: &EtsSpec, p: &EtsParams, y: f64) -> f64 {
        let (mu, t) = self.one_step(spec, p);
        let e = y - mu;
        let damp = match spec.trend {
            TrendType::None => 0.0,
            TrendType::Additive => 1.0,
            TrendType::Damped => p.phi,
        };
        match spec.season {
            SeasonType::None => {
                self.level = t + p.alpha * e;
                self.trend = damp * self.trend + p.beta * e;
            }
            SeasonType::Additive => {
                let m = self.season.len();
                self.level = t + p.alpha * e;
                self.trend = damp * self.trend + p.beta * e;
                self.season[self.pos] += p.gamma * e;
                self.pos = next_pos(self.pos, m);
            }
            SeasonType::Multiplicative => {
                let m = self.season.len();
                let s = self.season[self.pos];
                self.level = t + p.alpha * e / s;
                self.trend = damp * self.trend + p.beta * e / s;
                self.season[self.pos] = s + p.gamma * e / t;
                self.pos = next_pos(self.pos, m);
            }
        }
        if spec.trend == TrendType::None {
            self.trend = 0.0;
        }
        mu
    }

    /// Point forecasts for the next `h` observations.
    pub fn forecast(&self, spec: &EtsSpec, p: &EtsParams, h: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(h);
        let mut damp_sum = 0.0;
        let mut damp_pow = 1.0;
        for j in 0..h {
            let t = match spec.trend {
                TrendType::None => self.level,
                TrendType::Additive => self.level + (j + 1) as f64 * self.trend,
                TrendType::Damped => {
                    damp_pow *= p.phi;
                    damp_sum += damp_pow;
                    self.level + damp_sum * self.trend
                }
            };
            out.push(match spec.season {
                SeasonType::None => t,
                SeasonType::Additive => t + self.season_at(j),
                SeasonType::Multiplicative => t * self.season_at(j),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::ErrorType;
    use super::*;

    fn params(alpha: f64, beta: f64, gamma: f64, phi: f64) -> EtsParams {
        EtsParams {
            alpha,
            beta,
            gamma,
            phi,
        }
    }

    #[test]
    fn ses_matches_hand_recursion() {
        // ETS(A,N,N) with alpha 0.5 from level 10: 10 -> 11 (y 12) -> 10 (y 9) -> 10.5 (y 11)
        let spec = EtsSpec::non_seasonal(ErrorType::Additive, TrendType::None);
        let p = params(0.5, 0.0, 0.0, 1.0);
        let mut s = EtsState {
            level: 10.0,
            trend: 0.0,
            season: vec![],
            pos: 0,
        };
        let mus: Vec<f64> = [12.0, 9.0, 11.0]
            .iter()
            .map(|&y| s.update(&spec, &p, y))
            .collect();
        assert_eq!(mus, vec![10.0, 11.0, 10.0]);
        assert_eq!(s.forecast(&spec, &p, 3), vec![10.5; 3]);
    }

    #[test]
    fn holt_linear_matches_hand_recursion() {
        // ETS(A,A,N), alpha 0.5, beta 0.2, l 0, b 1; y = 2:
        // mu = 1, e = 1, l = 1 + 0.5 = 1.5, b = 1 + 0.2 = 1.2; forecasts 2.7, 3.9
        let spec = EtsSpec::non_seasonal(ErrorType::Additive, TrendType::Additive);
        let p = params(0.5, 0.2, 0.0, 1.0);
        let mut s = EtsState {
            level: 0.0,
            trend: 1.0,
            season: vec![],
            pos: 0,
        };
        assert_eq!(s.update(&spec, &p, 2.0), 1.0);
        assert!((s.level - 1.5).abs() < 1e-12 && (s.trend - 1.2).abs() < 1e-12);
        let f = s.forecast(&spec, &p, 2);
        assert!((f[0] - 2.7).abs() < 1e-12 && (f[1] - 3.9).abs() < 1e-12);
        // damped: phi 0.5 -> forecasts l + 0.5 b, l + 0.75 b
        let spec = EtsSpec::non_seasonal(ErrorType::Additive, TrendType::Damped);
        let f = s.forecast(&spec, &params(0.5, 0.2, 0.0, 0.5), 2);
        assert!((f[0] - 2.1).abs() < 1e-12 && (f[1] - 2.4).abs() < 1e-12);
    }

    #[test]
    fn additive_season_cycles() {
        let spec = EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::Additive,
            period: 2,
        };
        let p = params(0.1, 0.0, 0.1, 1.0);
        let mut s = EtsState {
            level: 5.0,
            trend: 0.0,
            season: vec![1.0, -1.0],
            pos: 0,
        };
        // an exact pattern leaves the states unchanged
        for y in [6.0, 4.0, 6.0, 4.0] {
            s.update(&spec, &p, y);
        }
        assert_eq!(s.forecast(&spec, &p, 3), vec![6.0, 4.0, 6.0]);
    }
}

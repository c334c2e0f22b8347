//! Rolling forecasts for the simulator: refit `auto` at most every `refit_every` steps on the recent
//! history and, in between, shift the last fit's longer forecast path by the steps elapsed (keeping
//! the band widths calibrated for the horizons asked) and correct it by the part of the latest
//! residual that persists. Before a seasonal model can be fitted, a non-seasonal `auto` forecasts
//! from `short_history` points on.

use crate::SimConfig;
use prescale_core::{Forecast, Level};
use prescale_forecast::{forecaster, Fitted, Forecaster, ModelConfig, ModelKind};
use std::collections::VecDeque;

/// Residual pairs the persistence coefficient is estimated over.
const PERSISTENCE_WINDOW: usize = 288;

/// A forecast path from one fit: `path.point[i]` is the demand at `origin + 1 + i`.
struct Path {
    origin: usize,
    forecast: Forecast,
    seasonal: bool,
}

/// Online estimate of how much of a path's residual carries over to the next step:
/// `β = Σ eₜ eₜ₊₁ / Σ eₜ²` over recent consecutive residuals, clamped to `[0, 1]`.
#[derive(Default)]
struct Persistence {
    last: Option<f64>,
    pairs: VecDeque<(f64, f64)>,
    sxy: f64,
    sxx: f64,
}

impl Persistence {
    /// Records the residual of the step just observed (`None` right after a refit, where the
    /// model has seen the step).
    fn observe(&mut self, residual: Option<f64>) {
        if let (Some(prev), Some(e)) = (self.last, residual) {
            self.pairs.push_back((prev, e));
            self.sxy += prev * e;
            self.sxx += prev * prev;
            if self.pairs.len() > PERSISTENCE_WINDOW {
                if let Some((x, y)) = self.pairs.pop_front() {
                    self.sxy -= x * y;
                    self.sxx -= x * x;
                }
            }
        }
        self.last = residual;
    }

    fn beta(&self) -> f64 {
        if self.pairs.len() < 12 || self.sxx <= f64::EPSILON {
            0.0
        } else {
            (self.sxy / self.sxx).clamp(0.0, 1.0)
        }
    }
}

/// Produces the forecast of demand after each step, refitting sparingly.
pub struct RollingForecaster {
    model: Option<Box<dyn Forecaster>>,
    short_model: Option<Box<dyn Forecaster>>,
    level: Level,
    lead: usize,
    refit_every: usize,
    window: usize,
    min_history: usize,
    short_history: Option<usize>,
    correct: bool,
    path: Option<Path>,
    persistence: Persistence,
    fits: usize,
    failures: usize,
}

impl RollingForecaster {
    /// A forecaster for the simulator settings: horizon = `refit_every + max(delay, 1)`.
    pub fn new(cfg: &SimConfig) -> Self {
        let lead = cfg.delay_steps.max(1);
        let horizon = cfg.refit_every + lead;
        let model_cfg = ModelConfig {
            season: cfg.season,
            max_horizon: horizon,
            ..ModelConfig::default()
        };
        let short_cfg = ModelConfig {
            season: None,
            ..model_cfg.clone()
        };
        let build = |c: &ModelConfig| c.validate().ok().map(|()| forecaster(ModelKind::Auto, c));
        let min_history = cfg.min_history.max(model_cfg.min_len());
        let short_history = cfg
            .short_history
            .map(|s| s.max(short_cfg.min_len()))
            .filter(|&s| s < min_history && cfg.season.is_some());
        RollingForecaster {
            model: build(&model_cfg),
            short_model: short_history.and_then(|_| build(&short_cfg)),
            level: cfg.level,
            lead,
            refit_every: cfg.refit_every,
            window: cfg.history_window.max(min_history),
            min_history,
            short_history,
            correct: cfg.residual_correction,
            path: None,
            persistence: Persistence::default(),
            fits: 0,
            failures: 0,
        }
    }

    /// Fits performed so far.
    pub fn fits(&self) -> usize {
        self.fits
    }

    /// Fits that failed (the previous path was kept while it still reached far enough).
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// The forecast for the steps after the last element of `history` (index 0 = next step), or
    /// `None` while there is too little history.
    pub fn at(&mut self, history: &[f64]) -> Option<Forecast> {
        let t = history.len().checked_sub(1)?;
        let seasonal_ready = history.len() >= self.min_history;
        let due = match &self.path {
            Some(p) => t >= p.origin + self.refit_every || (seasonal_ready && !p.seasonal),
            None => true,
        };
        let short_ready = self.short_history.is_some_and(|s| history.len() >= s);
        let refitted = due && (seasonal_ready || short_ready) && self.refit(history, t);
        let p = self.path.as_ref()?;
        let shift = t.checked_sub(p.origin)?;
        let f = &p.forecast;
        // The residual of the step just observed, against the path's forecast for it.
        let residual = match (refitted, shift.checked_sub(1)) {
            (false, Some(i)) => f.point.get(i).map(|q| history[t] - q),
            _ => None,
        };
        self.persistence.observe(residual);
        if shift + self.lead > f.horizon() {
            return None;
        }
        let beta = if self.correct {
            self.persistence.beta()
        } else {
            0.0
        };
        let carry = residual.unwrap_or(0.0);
        // The path shifts with the steps elapsed; the band keeps the widths calibrated for the
        // horizon now asked (1, 2, …), not those of the longer horizon from the fit origin; the
        // persisting part of the last residual (β^(j+1) e) moves point and band together.
        let corrected: Vec<f64> = f.point[shift..]
            .iter()
            .zip(1..)
            .map(|(p, j)| p + beta.powi(j) * carry)
            .collect();
        let lower = corrected
            .iter()
            .zip(f.lower.iter().zip(&f.point))
            .map(|(p, (l, q))| p - (q - l))
            .collect();
        let upper = corrected
            .iter()
            .zip(f.upper.iter().zip(&f.point))
            .map(|(p, (u, q))| p + (u - q))
            .collect();
        Some(Forecast {
            point: corrected,
            lower,
            upper,
            level: f.level,
        })
    }

    /// Refits on the recent history (seasonal model once there is enough, else the short one);
    /// true when a new path replaced the old.
    fn refit(&mut self, history: &[f64], t: usize) -> bool {
        let seasonal = history.len() >= self.min_history;
        let model = if seasonal {
            self.model.as_ref()
        } else {
            self.short_model.as_ref()
        };
        let Some(model) = model else {
            return false;
        };
        let start = history.len().saturating_sub(self.window);
        let horizon = self.refit_every + self.lead;
        self.fits += 1;
        let fitted: Result<Box<dyn Fitted>, _> = model.fit(&history[start..]);
        match fitted.and_then(|m| m.predict(horizon, self.level)) {
            Ok(forecast) => {
                self.path = Some(Path {
                    origin: t,
                    forecast,
                    seasonal,
                });
                true
            }
            Err(_) => {
                self.failures += 1;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn persistence_recovers_an_ar1_coefficient() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut p = Persistence::default();
        let mut e = 0.0;
        for _ in 0..2000 {
            e = 0.7 * e + rng.gen_range(-1.0..1.0);
            p.observe(Some(e));
        }
        assert!((p.beta() - 0.7).abs() < 0.12, "beta {}", p.beta());
        // A refit step breaks the chain: no pair spans it.
        let before = p.pairs.len();
        p.observe(None);
        p.observe(Some(1.0));
        assert_eq!(p.pairs.len(), before);
    }

    #[test]
    fn short_history_forecasts_before_the_seasonal_model_can() {
        let cfg = SimConfig::default();
        let demand: Vec<f64> = (0..300).map(|t| 10.0 + (t % 7) as f64).collect();
        let mut with_short = RollingForecaster::new(&cfg);
        let mut without = RollingForecaster::new(&SimConfig {
            short_history: None,
            ..cfg.clone()
        });
        let first =
            |f: &mut RollingForecaster| (1..=demand.len()).find(|&n| f.at(&demand[..n]).is_some());
        assert_eq!(first(&mut with_short), Some(36));
        assert_eq!(first(&mut without), Some(288));
    }
}

//! Rolling forecasts for the simulator: refit `auto` at most every `refit_every` steps on the recent
//! history and, in between, shift the last fit's longer forecast path by the steps elapsed (keeping
//! the band widths calibrated for the horizons asked).

use crate::SimConfig;
use prescale_core::{Forecast, Level};
use prescale_forecast::{forecaster, Fitted, Forecaster, ModelConfig, ModelKind};

/// A forecast path from one fit: `path.point[i]` is the demand at `origin + 1 + i`.
struct Path {
    origin: usize,
    forecast: Forecast,
}

/// Produces the forecast of demand after each step, refitting sparingly.
pub struct RollingForecaster {
    model: Option<Box<dyn Forecaster>>,
    level: Level,
    lead: usize,
    refit_every: usize,
    window: usize,
    min_history: usize,
    path: Option<Path>,
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
        let model = model_cfg
            .validate()
            .ok()
            .map(|()| forecaster(ModelKind::Auto, &model_cfg));
        let min_history = cfg.min_history.max(model_cfg.min_len());
        RollingForecaster {
            model,
            level: cfg.level,
            lead,
            refit_every: cfg.refit_every,
            window: cfg.history_window.max(min_history),
            min_history,
            path: None,
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
        let due = match &self.path {
            Some(p) => t >= p.origin + self.refit_every,
            None => true,
        };
        if due && history.len() >= self.min_history {
            self.refit(history, t);
        }
        let p = self.path.as_ref()?;
        let shift = t.checked_sub(p.origin)?;
        let f = &p.forecast;
        if shift + self.lead > f.horizon() {
            return None;
        }
        // The path shifts with the steps elapsed; the band keeps the widths calibrated for the
        // horizon now asked (1, 2, …), not those of the longer horizon from the fit origin.
        let point = f.point[shift..].to_vec();
        let lower = point
            .iter()
            .zip(f.lower.iter().zip(&f.point))
            .map(|(p, (l, q))| p - (q - l))
            .collect();
        let upper = point
            .iter()
            .zip(f.upper.iter().zip(&f.point))
            .map(|(p, (u, q))| p + (u - q))
            .collect();
        Some(Forecast {
            point,
            lower,
            upper,
            level: f.level,
        })
    }

    fn refit(&mut self, history: &[f64], t: usize) {
        let Some(model) = &self.model else {
            return;
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
                });
            }
            Err(_) => self.failures += 1,
        }
    }
}

//! The one `Fitted` implementation: a point path plus a conformal table built from rolling origins.

use crate::config::{MIN_CALIBRATION_WINDOWS, MIN_FIT_POINTS};
use crate::conformal::{ConformalTable, IntervalMode};
use crate::path::PathModel;
use crate::{Fitted, ForecastError, ModelConfig, ModelInfo, ModelKind};
use prescale_core::{Forecast, Level};

/// Where fitting ends and which origins calibrate (and, for `auto`, select).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Parameters are estimated on `y[..fit_end]`.
    pub fit_end: usize,
    /// Calibration origins (one step apart, the last at `n − max_horizon`).
    pub calibration: Vec<usize>,
    /// Model-selection origins (a superset of `calibration`).
    pub selection: Vec<usize>,
}

impl Plan {
    /// Plans the tails for a series of length `n`; `select` widens the tail for model selection.
    pub fn new(n: usize, cfg: &ModelConfig, select: bool) -> Result<Plan, ForecastError> {
        let h = cfg.max_horizon;
        let needed = cfg.min_len();
        if n < needed {
            return Err(ForecastError::TooShort { needed, got: n });
        }
        // origins o with MIN_FIT_POINTS <= o <= n - h
        let available = n - h - MIN_FIT_POINTS + 1;
        let last = n - h;
        // On a short series, leave one whole season before the tails when the minimum calibration
        // still fits, so seasonal models can be fitted (and chosen) from the second cycle on rather
        // than only once the full tails fit after a season.
        let room = cfg
            .season
            .map(|m| (last + 1).saturating_sub(m.max(MIN_FIT_POINTS)))
            .filter(|&r| r >= MIN_CALIBRATION_WINDOWS)
            .unwrap_or(available);
        let cal = cfg.calibration_windows.min(available).min(room);
        debug_assert!(cal >= MIN_CALIBRATION_WINDOWS);
        let sel = if select {
            cfg.selection_windows.max(cal).min(available).min(room)
        } else {
            cal
        };
        let calibration: Vec<usize> = (last + 1 - cal..=last).collect();
        let selection: Vec<usize> = (last + 1 - sel..=last).collect();
        Ok(Plan {
            fit_end: last + 1 - sel,
            calibration,
            selection,
        })
    }
}

/// Whether `y` never goes below zero; then every forecast of it is floored at zero when served
/// (point and band), and `auto` scores and merges its candidates' paths floored the same way.
pub(crate) fn never_negative(y: &[f64]) -> bool {
    y.iter().all(|&v| v >= 0.0)
}

/// Floors every negative value of `paths` at zero (what [`Fitted::predict`] serves for a series
/// that [`never_negative`] holds); a NaN stays NaN, so a diverged path is still seen as one.
pub(crate) fn floor_at_zero(paths: &mut [Vec<f64>]) {
    for v in paths.iter_mut().flatten() {
        if *v < 0.0 {
            *v = 0.0;
        }
    }
}

/// Fails on the first non-finite value.
pub(crate) fn check_finite(y: &[f64]) -> Result<(), ForecastError> {
    match y.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(ForecastError::NonFinite {
            index,
            value: y[index],
        }),
        None => Ok(()),
    }
}

/// A calibrated fit: the point path from the end of the data and the residual table.
#[derive(Debug, Clone)]
pub(crate) struct Calibrated {
    info: ModelInfo,
    point: Vec<f64>,
    table: ConformalTable,
    nonneg: bool,
    mode: IntervalMode,
}

impl Calibrated {
    /// Runs `model` over `y` from the calibration origins and the end, collecting h-step residuals.
    pub fn build(
        kind: ModelKind,
        spec: String,
        model: &dyn PathModel,
        y: &[f64],
        plan: &Plan,
        cfg: &ModelConfig,
    ) -> Result<Calibrated, ForecastError> {
        let mut origins = plan.calibration.clone();
        origins.push(y.len());
        let mut paths = model.paths(y, &origins, cfg.max_horizon);
        let point = paths.pop().unwrap_or_default();
        let info = ModelInfo {
            kind,
            spec,
            params: model.params(),
            in_sample_mae: model.in_sample_mae(),
            calibration_points: 0,
        };
        Calibrated::from_paths(info, y, &plan.calibration, &paths, point, cfg)
    }

    /// Assembles a fit from precomputed paths at the calibration origins and the final point path.
    pub fn from_paths(
        mut info: ModelInfo,
        y: &[f64],
        origins: &[usize],
        paths: &[Vec<f64>],
        point: Vec<f64>,
        cfg: &ModelConfig,
    ) -> Result<Calibrated, ForecastError> {
        let h = cfg.max_horizon;
        if point.len() != h || point.iter().any(|v| !v.is_finite()) {
            return Err(ForecastError::Diverged { spec: info.spec });
        }
        let table = ConformalTable::new(residuals_by_step(y, origins, paths, h));
        info.calibration_points = table.points();
        Ok(Calibrated {
            info,
            point,
            table,
            nonneg: never_negative(y),
            mode: IntervalMode::default(),
        })
    }

    /// The same fit with its bands derived by `mode` from the same residuals.
    pub fn with_interval_mode(mut self, mode: IntervalMode) -> Self {
        self.mode = mode;
        self
    }
}

/// Residuals `y[o + j] − path[j]` for every origin `o` and step `j < h`, grouped by step.
pub(crate) fn residuals_by_step(
    y: &[f64],
    origins: &[usize],
    paths: &[Vec<f64>],
    h: usize,
) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::with_capacity(origins.len()); h];
    for (&o, p) in origins.iter().zip(paths) {
        for (j, r) in out.iter_mut().enumerate() {
            if let (Some(a), Some(f)) = (y.get(o + j), p.get(j)) {
                r.push(a - f);
            }
        }
    }
    out
}

impl Fitted for Calibrated {
    fn predict(&self, horizon: usize, level: Level) -> Result<Forecast, ForecastError> {
        if horizon == 0 {
            return Err(ForecastError::ZeroHorizon);
        }
        if horizon > self.point.len() || horizon > self.table.steps() {
            return Err(ForecastError::HorizonTooLong {
                horizon,
                max: self.point.len(),
            });
        }
        let alpha = level.alpha();
        let mut point = Vec::with_capacity(horizon);
        let mut lower = Vec::with_capacity(horizon);
        let mut upper = Vec::with_capacity(horizon);
        for (j, &p) in self.point.iter().take(horizon).enumerate() {
            let (lo, hi) = self
                .table
                .offsets(j, alpha, self.mode)
                .unwrap_or((0.0, 0.0));
            let (mut p, mut l, mut u) = (p, p + lo, p + hi);
            if self.nonneg {
                p = p.max(0.0);
                l = l.max(0.0);
                u = u.max(0.0);
            }
            point.push(p);
            lower.push(l);
            upper.push(u);
        }
        Ok(Forecast::new(point, lower, upper, level)?)
    }

    fn describe(&self) -> ModelInfo {
        self.info.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_places_origins_at_the_end() {
        let cfg = ModelConfig {
            calibration_windows: 48,
            selection_windows: 144,
            ..ModelConfig::default()
        };
        let p = Plan::new(1000, &cfg, false).unwrap();
        assert_eq!(p.calibration.len(), 48);
        assert_eq!(*p.calibration.last().unwrap(), 1000 - 12);
        assert_eq!(p.fit_end, p.calibration[0]);
        let p = Plan::new(1000, &cfg, true).unwrap();
        assert_eq!(p.selection.len(), 144);
        assert_eq!(p.fit_end, p.selection[0]);
        let p = Plan::new(cfg.min_len(), &cfg, true).unwrap();
        assert_eq!(p.calibration.len(), 5);
        assert_eq!(p.fit_end, 8);
        assert!(matches!(
            Plan::new(cfg.min_len() - 1, &cfg, false),
            Err(ForecastError::TooShort { .. })
        ));
    }

    #[test]
    fn a_short_seasonal_series_keeps_a_season_before_its_tails() {
        let cfg = ModelConfig {
            season: Some(20),
            max_horizon: 14,
            ..ModelConfig::default()
        };
        // 60 points: the tails would reach back to point 8; with a season of 20 they start at 20.
        let p = Plan::new(60, &cfg, true).unwrap();
        assert_eq!(p.fit_end, 20);
        assert_eq!(p.selection.len(), 27);
        assert_eq!(*p.selection.last().unwrap(), 46);
        // Too short to keep a season and five calibration origins: the tails take what there is.
        let p = Plan::new(cfg.min_len(), &cfg, true).unwrap();
        assert_eq!((p.fit_end, p.calibration.len()), (8, 5));
        // Long series are untouched.
        let p = Plan::new(1000, &cfg, true).unwrap();
        assert_eq!(p.selection.len(), 144);
    }

    #[test]
    fn residuals_known_answer() {
        let y = [0.0, 1.0, 2.0, 3.0, 4.0];
        let r = residuals_by_step(&y, &[2, 3], &[vec![1.0, 1.0], vec![2.0, 2.0]], 2);
        assert_eq!(r, vec![vec![1.0, 1.0], vec![2.0, 2.0]]);
    }
}

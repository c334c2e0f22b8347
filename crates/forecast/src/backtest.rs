//! The rolling-origin backtest protocol and its per-model summary.
//!
//! Protocol: take the last `history + windows·horizon` points (fewer if the series is shorter, then
//! `history = len − windows·horizon`); origins `o_i = history + i·horizon`; at each origin refit on the
//! (at most `history`) points before it, timing `Forecaster::fit`, and predict `horizon` steps at
//! `level`. MASE and MSIS divide by one scale per series: the mean absolute first difference of the
//! first origin's training part. A failed fit falls back to naive for that origin and is counted.

use crate::calibrated::check_finite;
use crate::fleet::FleetInput;
use crate::metrics::{coverage, mase, msis};
use crate::{fleet_forecaster, forecaster, ForecastError, ModelConfig, ModelKind};
use prescale_core::{Forecast, Level};
use prescale_math::{mean, mean_abs_diff, median};
use std::time::Instant;

/// Backtest settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestConfig {
    /// Most training points per origin (the window slides).
    pub history: usize,
    /// Number of forecast origins.
    pub windows: usize,
    /// Steps forecast from each origin (origins are this far apart).
    pub horizon: usize,
    /// Prediction level of the scored intervals.
    pub level: Level,
    /// Seasonal period in samples, if any.
    pub season: Option<usize>,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            history: 4032,
            windows: 12,
            horizon: 12,
            level: Level::new(90.0).unwrap_or_else(|_| unreachable!("90 is a valid level")),
            season: None,
        }
    }
}

/// One model's scores on one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore {
    pub kind: ModelKind,
    pub mase: f64,
    pub msis: f64,
    pub coverage: f64,
    /// Seconds spent in `fit` over all origins.
    pub seconds: f64,
    pub fits: usize,
    pub failed_fits: usize,
}

/// All models' scores on one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesBacktest {
    /// Points of the series the backtest used (history plus test part).
    pub points_used: usize,
    pub scores: Vec<ModelScore>,
}

/// One model's scores aggregated over series.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    pub kind: ModelKind,
    pub mean_mase: f64,
    pub median_msis: f64,
    pub mean_coverage: f64,
    pub seconds: f64,
    pub fits: usize,
    pub ms_per_fit: f64,
}

/// Runs the backtest protocol for each model on one series.
pub fn backtest_series(
    values: &[f64],
    cfg: &BacktestConfig,
    models: &[ModelKind],
) -> Result<SeriesBacktest, ForecastError> {
    backtest_series_with_fleet(values, cfg, models, None)
}

/// How many leading points of a series of `len` points a fleet model may train on in the backtest:
/// everything before the first origin's model-selection and calibration tail, so every origin's
/// selection, calibration and test points are out of the fleet model's sample.
pub fn fleet_training_len(len: usize, cfg: &BacktestConfig) -> usize {
    let tail = cfg.windows * cfg.horizon + ModelConfig::default().selection_windows + cfg.horizon;
    len.saturating_sub(tail)
}

/// The backtest of one series where fleet models may be among `models` (and `auto`'s candidates):
/// `fleet.timing` is the time of `values[0]`; `fleet.gbm` must have been trained on at most the first
/// `fleet_training_len` points of each series.
pub fn backtest_series_with_fleet(
    values: &[f64],
    cfg: &BacktestConfig,
    models: &[ModelKind],
    fleet: Option<&FleetInput>,
) -> Result<SeriesBacktest, ForecastError> {
    run(values, cfg, models, fleet, None)
}

/// The cold-start backtest: the same origins, test windows and error scale as the full backtest,
/// but every model sees only the last `age` points before each origin, as if the series had just
/// started. A model that cannot forecast from `age` points at some origin is left out of the scores
/// (no fallback stands in for it); `fleet` must not have been trained on this series.
pub fn cold_start_series(
    values: &[f64],
    cfg: &BacktestConfig,
    models: &[ModelKind],
    fleet: Option<&FleetInput>,
    age: usize,
) -> Result<SeriesBacktest, ForecastError> {
    if age < 2 {
        return Err(ForecastError::InvalidConfig {
            field: "age",
            value: age.to_string(),
            reason: "a cold start needs at least 2 points",
        });
    }
    run(values, cfg, models, fleet, Some(age))
}

/// The origins, test windows and error scale of one series' backtest (see the module notes).
struct Protocol<'a> {
    /// The points used: history plus the test part.
    v: &'a [f64],
    /// Points of `v` before the first origin.
    history: usize,
    /// Points of the series before `v`.
    skipped: usize,
    /// Training points each origin sees.
    train_len: usize,
    scale: f64,
    cfg: &'a BacktestConfig,
}

impl<'a> Protocol<'a> {
    fn new(
        values: &'a [f64],
        cfg: &'a BacktestConfig,
        model_cfg: &ModelConfig,
        age: Option<usize>,
    ) -> Result<Protocol<'a>, ForecastError> {
        if cfg.windows == 0 || cfg.horizon == 0 {
            return Err(ForecastError::InvalidConfig {
                field: if cfg.windows == 0 {
                    "windows"
                } else {
                    "horizon"
                },
                value: "0".to_string(),
                reason: "must be at least 1",
            });
        }
        check_finite(values)?;
        let test_len = cfg.windows * cfg.horizon;
        let needed = model_cfg.min_len().max(2 * cfg.horizon) + test_len;
        if values.len() < needed || cfg.history < needed - test_len {
            return Err(ForecastError::TooShort {
                needed,
                got: values.len().min(cfg.history + test_len),
            });
        }
        let used = values.len().min(cfg.history + test_len);
        let v = &values[values.len() - used..];
        let history = used - test_len;
        let scale = mean_abs_diff(&v[..history]).filter(|s| *s > 0.0);
        let scale = scale.ok_or(ForecastError::ZeroScale)?;
        Ok(Protocol {
            v,
            history,
            skipped: values.len() - used,
            train_len: age.map_or(history, |a| a.min(history)),
            scale,
            cfg,
        })
    }

    /// Scores the forecasts `at(train, start)` makes at every origin: `train` is the points the
    /// origin sees, `start` the index in the whole series of its first point. `Ok(None)` from any
    /// origin gives `None` (the forecaster cannot serve this series).
    fn score(
        &self,
        mut at: impl FnMut(&[f64], usize) -> Result<Option<Forecast>, ForecastError>,
    ) -> Result<Option<Scores>, ForecastError> {
        let cfg = self.cfg;
        let test_len = cfg.windows * cfg.horizon;
        let mut actual = Vec::with_capacity(test_len);
        let (mut point, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..cfg.windows {
            let o = self.history + i * cfg.horizon;
            let start = o - self.train_len;
            let Some(forecast) = at(&self.v[start..o], self.skipped + start)? else {
                return Ok(None);
            };
            actual.extend_from_slice(&self.v[o..o + cfg.horizon]);
            point.extend(forecast.point);
            lower.extend(forecast.lower);
            upper.extend(forecast.upper);
        }
        let alpha = cfg.level.alpha();
        Ok(Some(Scores {
            mase: mase(&actual, &point, self.scale).ok_or(ForecastError::ZeroScale)?,
            msis: msis(&actual, &lower, &upper, self.scale, alpha)
                .ok_or(ForecastError::ZeroScale)?,
            coverage: coverage(&actual, &lower, &upper).ok_or(ForecastError::ZeroScale)?,
        }))
    }
}

/// A forecaster's errors over a series' test windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub mase: f64,
    pub msis: f64,
    pub coverage: f64,
}

/// Scores a forecaster that is not a [`ModelKind`] (e.g. a cluster profile scaled to the series'
/// level) by the cold-start protocol of [`cold_start_series`]: the same origins, test windows and
/// error scale, each origin seeing only the last `age` points. `at(train, start)` forecasts
/// `cfg.horizon` steps after `train`, whose first point is `values[start]`; `Ok(None)` when it
/// cannot forecast at some origin (then the result is `None`).
pub fn cold_start_reference(
    values: &[f64],
    cfg: &BacktestConfig,
    age: usize,
    at: impl FnMut(&[f64], usize) -> Result<Option<Forecast>, ForecastError>,
) -> Result<Option<Scores>, ForecastError> {
    let model_cfg = ModelConfig {
        season: cfg.season,
        max_horizon: cfg.horizon,
        ..ModelConfig::default()
    };
    model_cfg.validate()?;
    Protocol::new(values, cfg, &model_cfg, Some(age.max(2)))?.score(at)
}

fn run(
    values: &[f64],
    cfg: &BacktestConfig,
    models: &[ModelKind],
    fleet: Option<&FleetInput>,
    age: Option<usize>,
) -> Result<SeriesBacktest, ForecastError> {
    if models.is_empty() {
        return Err(ForecastError::NoModels);
    }
    let model_cfg = ModelConfig {
        season: cfg.season,
        max_horizon: cfg.horizon,
        ..ModelConfig::default()
    };
    model_cfg.validate()?;
    let protocol = Protocol::new(values, cfg, &model_cfg, age)?;
    let naive = forecaster(ModelKind::Naive, &model_cfg);
    let mut scores = Vec::with_capacity(models.len());
    for &kind in models {
        let (mut seconds, mut fits, mut failed_fits) = (0.0, 0usize, 0usize);
        let scored = protocol.score(|train, start| {
            let model = match fleet {
                Some(f) => {
                    let mut f = f.clone();
                    f.timing = f.timing.map(|t| t.shifted(start));
                    fleet_forecaster(kind, &model_cfg, f)
                }
                None => forecaster(kind, &model_cfg),
            };
            let started = Instant::now();
            let fitted = model.fit(train);
            seconds += started.elapsed().as_secs_f64();
            fits += 1;
            match fitted.and_then(|f| f.predict(cfg.horizon, cfg.level)) {
                Ok(f) => Ok(Some(f)),
                // A cold start scores only what the model itself can do.
                Err(_) if age.is_some() => Ok(None),
                Err(_) => {
                    failed_fits += 1;
                    Ok(Some(naive.fit(train)?.predict(cfg.horizon, cfg.level)?))
                }
            }
        })?;
        if let Some(s) = scored {
            scores.push(ModelScore {
                kind,
                mase: s.mase,
                msis: s.msis,
                coverage: s.coverage,
                seconds,
                fits,
                failed_fits,
            });
        }
    }
    Ok(SeriesBacktest {
        points_used: protocol.v.len(),
        scores,
    })
}

/// Aggregates per-series results by model, in order of first appearance: mean MASE, median MSIS,
/// mean coverage, total fit seconds and milliseconds per fit.
pub fn summarize(results: &[SeriesBacktest]) -> Vec<ModelSummary> {
    let mut kinds: Vec<ModelKind> = Vec::new();
    for s in results.iter().flat_map(|r| &r.scores) {
        if !kinds.contains(&s.kind) {
            kinds.push(s.kind);
        }
    }
    kinds
        .into_iter()
        .filter_map(|kind| {
            let scores: Vec<&ModelScore> = results
                .iter()
                .flat_map(|r| &r.scores)
                .filter(|s| s.kind == kind)
                .collect();
            let pick = |f: fn(&ModelScore) -> f64| scores.iter().map(|s| f(s)).collect::<Vec<_>>();
            let seconds: f64 = pick(|s| s.seconds).iter().sum();
            let fits: usize = scores.iter().map(|s| s.fits).sum();
            Some(ModelSummary {
                kind,
                mean_mase: mean(&pick(|s| s.mase))?,
                median_msis: median(&pick(|s| s.msis))?,
                mean_coverage: mean(&pick(|s| s.coverage))?,
                seconds,
                fits,
                ms_per_fit: if fits > 0 {
                    seconds * 1000.0 / fits as f64
                } else {
                    0.0
                },
            })
        })
        .collect()
}

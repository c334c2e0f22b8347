//! The global gradient-boosted model: direct multi-horizon (the step is a feature), trained on feature
//! rows sampled from every series' prefix, predicting the normalized target's median. Series may
//! bring exogenous inputs (predictors, events: see [`super::exog`]); a model trained with none has
//! exactly the rows of one that never heard of them.

use super::exog::{Exog, ExogLayout, ExogOrigin};
use super::features::{base_feature_names, Origin, Timing, MIN_ORIGIN};
use super::{FleetError, SeriesInfo};
use crate::gbm::{BoostParams, Booster, Matrix};
use serde::{Deserialize, Serialize};

/// The format tag of a saved model.
pub const FORMAT: &str = "prescale-gbm";
/// The version this build writes; it reads this and older ones (2: exogenous features, absent in 1).
pub const FORMAT_VERSION: u32 = 2;
/// Fewest series a fleet model is trained on.
pub const MIN_SERIES: usize = 2;
/// One sampled origin in this many is held out of training to measure the model's errors.
const HOLDOUT_EVERY: usize = 8;
/// Longest history a young row keeps (one day of 5-minute points).
const YOUNG_MAX: usize = 288;

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    /// Steps ahead the model forecasts (rows are made for steps 1..=horizon).
    pub horizon: usize,
    /// Most training rows over the fleet; origins are spaced evenly to fit.
    pub max_rows: usize,
    /// One sampled origin in this many also gives the rows of a young series (its history cut
    /// short), so the model learns to forecast from little history; `None` for none.
    pub young_every: Option<usize>,
    pub params: BoostParams,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            horizon: 12,
            max_rows: 150_000,
            young_every: Some(4),
            // larger leaves than the booster's default: 0.921 against 0.956 mean MASE on the
            // shared series (leaf 40, 400 and 800 measured 0.956, 0.925 and 0.938); 60 trees at
            // rate 0.25 instead of 150 at 0.1: 0.912, and each forecast walks 2.5x fewer trees
            params: BoostParams {
                min_leaf: 200,
                rounds: 60,
                learning_rate: 0.25,
                ..BoostParams::default()
            },
        }
    }
}

/// One series' training prefix with its calendar and context.
#[derive(Debug, Clone, Copy)]
pub struct FleetSeries<'a> {
    pub name: &'a str,
    /// Every value here may be trained on: the caller cuts the series before anything it will score.
    pub values: &'a [f64],
    pub season: Option<usize>,
    pub timing: Option<Timing>,
    pub context: &'a [f64],
}

/// A trained fleet model, saved and loaded as versioned JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbmFleet {
    format: String,
    version: u32,
    /// Steps ahead it was trained for.
    pub horizon: usize,
    /// Length of the context vector every series must bring.
    pub context_len: usize,
    /// The exogenous features after the context vector (none in a version-1 model).
    #[serde(default)]
    pub exog: ExogLayout,
    /// Feature names in row order.
    pub features: Vec<String>,
    /// Series and rows it was trained on.
    pub series: usize,
    pub rows: usize,
    median: Booster,
    /// Sorted normalized residuals of held-out rows per step: the band of a series too young for
    /// its own calibration.
    #[serde(default)]
    residuals: Vec<Vec<f64>>,
}

/// The rows of a training set: features, normalized targets, the step of each row and whether it
/// is held out.
pub struct TrainingSet {
    pub x: Matrix,
    pub y: Vec<f64>,
    pub step: Vec<usize>,
    pub holdout: Vec<bool>,
    /// Series that gave rows.
    pub series: usize,
}

impl GbmFleet {
    /// Trains on every series' prefix.
    pub fn train(series: &[FleetSeries<'_>], cfg: &FleetConfig) -> Result<GbmFleet, FleetError> {
        Self::train_with(series, &[], cfg)
    }

    /// Trains on every series' prefix with its exogenous inputs (`exog`: none, or one per series,
    /// aligned to the end of its prefix); the model carries the features of every input given.
    pub fn train_with(
        series: &[FleetSeries<'_>],
        exog: &[Exog],
        cfg: &FleetConfig,
    ) -> Result<GbmFleet, FleetError> {
        let set = Self::training_set(series, exog, cfg)?;
        let mut train = Matrix::new(set.x.cols());
        let mut target = Vec::new();
        for (i, &held) in set.holdout.iter().enumerate() {
            if !held {
                train.push(set.x.row(i))?;
                target.push(set.y[i]);
            }
        }
        let median = Booster::fit(&train, &target, 0.5, &cfg.params)?;
        let mut residuals = vec![Vec::new(); cfg.horizon.max(1)];
        for (i, &held) in set.holdout.iter().enumerate() {
            if held {
                residuals[set.step[i]].push(set.y[i] - median.predict(set.x.row(i))?);
            }
        }
        crate::fleet::saved::keep_sorted(&mut residuals);
        let (used, rows) = (set.series, target.len());
        let context_len = series.first().map_or(0, |s| s.context.len());
        let layout = ExogLayout::of(exog);
        let mut features = base_feature_names();
        features.extend((0..context_len).map(|k| format!("context.{k}")));
        features.extend(layout.names());
        Ok(GbmFleet {
            format: FORMAT.to_string(),
            version: FORMAT_VERSION,
            horizon: cfg.horizon,
            context_len,
            exog: layout,
            features,
            series: used,
            rows,
            median,
            residuals,
        })
    }

    /// The feature rows and normalized targets the model is trained on and held out from.
    pub fn training_set(
        series: &[FleetSeries<'_>],
        exog: &[Exog],
        cfg: &FleetConfig,
    ) -> Result<TrainingSet, FleetError> {
        let context_len = series.first().map_or(0, |s| s.context.len());
        if !exog.is_empty() && exog.len() != series.len() {
            return Err(FleetError::ExogLength {
                expected: series.len(),
                got: exog.len(),
            });
        }
        for (i, s) in series.iter().enumerate() {
            check_series(s, context_len)?;
            if let Some(e) = exog.get(i) {
                e.check(s.name)?;
            }
        }
        let layout = ExogLayout::of(exog);
        let h = cfg.horizon.max(1);
        // origins o with MIN_ORIGIN <= o and o + 1 <= len (at least the first step is known)
        let usable: Vec<(&FleetSeries<'_>, Option<&Exog>)> = series
            .iter()
            .enumerate()
            .filter(|(_, s)| s.values.len() > MIN_ORIGIN)
            .map(|(i, s)| (s, exog.get(i)))
            .collect();
        if usable.len() < MIN_SERIES {
            return Err(FleetError::TooFewSeries {
                needed: MIN_SERIES,
                got: usable.len(),
            });
        }
        let origins: usize = usable
            .iter()
            .map(|(s, _)| s.values.len() - MIN_ORIGIN)
            .sum();
        // young rows add one set of rows per YOUNG_EVERY origins
        let young_every = cfg.young_every.filter(|&k| k > 0);
        let per_origin = h + young_every.map_or(0, |k| h.div_ceil(k));
        let stride = (origins * per_origin).div_ceil(cfg.max_rows.max(1)).max(1);
        let mut set = TrainingSet {
            x: Matrix::new(super::features::base_features() + context_len + layout.len()),
            y: Vec::new(),
            step: Vec::new(),
            holdout: Vec::new(),
            series: usable.len(),
        };
        let mut row = Vec::new();
        let mut visited = 0usize;
        for &(s, ex) in &usable {
            let v = s.values;
            // the last origins first, so every series keeps its most recent behaviour
            let mut o = v.len() - 1;
            while o >= MIN_ORIGIN {
                visited += 1;
                let held = visited.is_multiple_of(HOLDOUT_EVERY);
                // the inputs seen from this origin, whatever history the row keeps
                let at = ExogOrigin::new(layout, ex, v.len(), o);
                let mut push = |state: &Origin<'_>| -> Result<(), FleetError> {
                    for j in 0..h.min(v.len() - o) {
                        state.row(j, s.context, &mut row);
                        at.extend(j, &mut row);
                        set.x.push(&row)?;
                        set.y.push(state.normalize(v[o + j]));
                        set.step.push(j);
                        set.holdout.push(held);
                    }
                    Ok(())
                };
                if let Some(state) = Origin::new(v, o, s.season, s.timing) {
                    push(&state)?;
                }
                if young_every.is_some_and(|k| visited % k == 1 % k) {
                    // the same origin seen by a series that started `age` points before it
                    let age = MIN_ORIGIN + mix(visited as u64) as usize % (YOUNG_MAX - MIN_ORIGIN);
                    if age < o {
                        let start = o - age;
                        let timing = s.timing.map(|t| t.shifted(start));
                        if let Some(state) = Origin::new(&v[start..], age, s.season, timing) {
                            push(&state)?;
                        }
                    }
                }
                match o.checked_sub(stride) {
                    Some(next) => o = next,
                    None => break,
                }
            }
        }
        Ok(set)
    }

    /// Point forecasts for steps 1..=h from every origin in `origins` (each reads only `y[..o]`, and
    /// the exogenous inputs as known there), predicted in one batch; `None` for an origin too early
    /// for a feature row.
    pub fn predict_paths(
        &self,
        y: &[f64],
        origins: &[usize],
        h: usize,
        info: SeriesInfo<'_>,
    ) -> Result<Vec<Option<Vec<f64>>>, FleetError> {
        self.check_horizon(h)?;
        let states: Vec<Option<Origin<'_>>> = origins
            .iter()
            .map(|&o| Origin::new(y, o, info.season, info.timing))
            .collect();
        let mut x = Matrix::new(self.features.len());
        let mut row = Vec::with_capacity(self.features.len());
        for (state, &o) in states.iter().zip(origins) {
            let Some(state) = state else { continue };
            let at = ExogOrigin::new(self.exog, info.exog, y.len(), o);
            for j in 0..h {
                self.row(state, &at, j, info.context, &mut row);
                x.push(&row)?;
            }
        }
        let z = self.median.predict_many(&x)?;
        let mut next = z.chunks(h.max(1));
        Ok(states
            .iter()
            .map(|s| {
                let s = s.as_ref()?;
                let zs = next.next()?;
                Some(zs.iter().map(|&v| s.denormalize(v)).collect())
            })
            .collect())
    }

    /// Point forecasts for steps 1..=h from origin `o` of `y` (only `y[..o]` is read).
    pub fn predict_path(
        &self,
        y: &[f64],
        o: usize,
        h: usize,
        info: SeriesInfo<'_>,
    ) -> Result<Option<Vec<f64>>, FleetError> {
        self.check_horizon(h)?;
        let Some(state) = Origin::new(y, o, info.season, info.timing) else {
            return Ok(None);
        };
        let at = ExogOrigin::new(self.exog, info.exog, y.len(), o);
        let mut row = Vec::with_capacity(self.features.len());
        let mut out = Vec::with_capacity(h);
        for j in 0..h {
            self.row(&state, &at, j, info.context, &mut row);
            out.push(state.denormalize(self.median.predict(&row)?));
        }
        Ok(Some(out))
    }

    /// Point, lower and upper paths for steps 1..=h from the end of `y`, with the band from the
    /// held-out residuals: the forecast of a series too young to calibrate its own. `None` when `y`
    /// is shorter than a feature row needs.
    #[allow(clippy::type_complexity)]
    pub fn young_forecast(
        &self,
        y: &[f64],
        h: usize,
        alpha: f64,
        info: SeriesInfo<'_>,
    ) -> Result<Option<(Vec<f64>, Vec<f64>, Vec<f64>)>, FleetError> {
        self.check_horizon(h)?;
        let Some(state) = Origin::new(y, y.len(), info.season, info.timing) else {
            return Ok(None);
        };
        let at = ExogOrigin::new(self.exog, info.exog, y.len(), y.len());
        let mut row = Vec::with_capacity(self.features.len());
        let (mut point, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..h {
            self.row(&state, &at, j, info.context, &mut row);
            let z = self.median.predict(&row)?;
            let (lo, hi) = self.residual_offsets(j, alpha).unwrap_or((0.0, 0.0));
            point.push(state.denormalize(z));
            lower.push(state.denormalize(z + lo.min(0.0)));
            upper.push(state.denormalize(z + hi.max(0.0)));
        }
        Ok(Some((point, lower, upper)))
    }

    /// The feature row of step `j`: the series' own features, its context, then its exogenous ones.
    fn row(
        &self,
        state: &Origin<'_>,
        at: &ExogOrigin<'_>,
        j: usize,
        context: &[f64],
        row: &mut Vec<f64>,
    ) {
        state.row(j, context, row);
        at.extend(j, row);
    }

    fn check_horizon(&self, h: usize) -> Result<(), FleetError> {
        if h > self.horizon {
            return Err(FleetError::Horizon {
                horizon: h,
                max: self.horizon,
            });
        }
        Ok(())
    }

    /// Mean absolute error of the held-out rows in units of each series' recent mean absolute
    /// step (so 1.0 is as far off as a typical step), over every step ahead; `None` without any.
    pub fn holdout_scaled_mae(&self) -> Option<f64> {
        crate::fleet::saved::mean_abs(&self.residuals)
    }

    /// The band offsets (normalized, to add to the median) of step `j` at miscoverage `alpha`, from
    /// the held-out residuals; `None` when the model has none for that step.
    pub fn residual_offsets(&self, j: usize, alpha: f64) -> Option<(f64, f64)> {
        let r = self.residuals.get(j)?;
        Some((
            prescale_math::quantile_sorted(r, alpha / 2.0)?,
            prescale_math::quantile_sorted(r, 1.0 - alpha / 2.0)?,
        ))
    }

    /// Trees in the model.
    pub fn trees(&self) -> usize {
        self.median.trees()
    }

    /// The model as versioned JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| unreachable!("a model always serializes: {e}"))
    }

    /// Reads a model written by `to_json`, refusing other formats and newer versions.
    pub fn from_json(text: &str) -> Result<GbmFleet, FleetError> {
        let model: GbmFleet = crate::fleet::saved::from_json(text, FORMAT, FORMAT_VERSION)?;
        if model.features.len() != model.median.features {
            return Err(FleetError::Format(format!(
                "{} feature names for a model of {} features",
                model.features.len(),
                model.median.features
            )));
        }
        let expected = super::features::base_features() + model.context_len + model.exog.len();
        if model.features.len() != expected || model.exog.predictors > super::MAX_PREDICTORS {
            return Err(FleetError::Format(format!(
                "{} features for a context of {} and exogenous features {:?}",
                model.features.len(),
                model.context_len,
                model.exog
            )));
        }
        model.median.check()?;
        Ok(model)
    }
}

/// A well-mixed hash of `k` (splitmix64), for choosing young ages without a random source.
fn mix(k: u64) -> u64 {
    let mut z = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn check_series(s: &FleetSeries<'_>, context_len: usize) -> Result<(), FleetError> {
    if let Some(index) = s.values.iter().position(|v| !v.is_finite()) {
        return Err(FleetError::NonFinite {
            series: s.name.to_string(),
            index,
            value: s.values[index],
        });
    }
    if s.context.len() != context_len {
        return Err(FleetError::ContextLength {
            series: s.name.to_string(),
            expected: context_len,
            got: s.context.len(),
        });
    }
    if let Some(index) = s.context.iter().position(|v| !v.is_finite()) {
        return Err(FleetError::NonFiniteContext {
            series: s.name.to_string(),
            index,
        });
    }
    Ok(())
}

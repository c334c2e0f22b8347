//! The global gradient-boosted model: direct multi-horizon (the step is a feature), trained on feature
//! rows sampled from every series' prefix, predicting the normalized target's median.

use super::features::{base_feature_names, Origin, Timing, MIN_ORIGIN};
use super::FleetError;
use crate::gbm::{BoostParams, Booster, Matrix};
use serde::{Deserialize, Serialize};

/// The format tag of a saved model.
pub const FORMAT: &str = "prescale-gbm";
/// The version this build writes; it reads this and older ones.
pub const FORMAT_VERSION: u32 = 1;
/// Fewest series a fleet model is trained on.
pub const MIN_SERIES: usize = 2;

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    /// Steps ahead the model forecasts (rows are made for steps 1..=horizon).
    pub horizon: usize,
    /// Most training rows over the fleet; origins are spaced evenly to fit.
    pub max_rows: usize,
    pub params: BoostParams,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            horizon: 12,
            max_rows: 150_000,
            params: BoostParams::default(),
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
    /// Feature names in row order.
    pub features: Vec<String>,
    /// Series and rows it was trained on.
    pub series: usize,
    pub rows: usize,
    median: Booster,
}

impl GbmFleet {
    /// Trains on every series' prefix.
    pub fn train(series: &[FleetSeries<'_>], cfg: &FleetConfig) -> Result<GbmFleet, FleetError> {
        let (x, y, used) = Self::training_set(series, cfg)?;
        let median = Booster::fit(&x, &y, 0.5, &cfg.params)?;
        let context_len = series.first().map_or(0, |s| s.context.len());
        let mut features = base_feature_names();
        features.extend((0..context_len).map(|k| format!("context.{k}")));
        Ok(GbmFleet {
            format: FORMAT.to_string(),
            version: FORMAT_VERSION,
            horizon: cfg.horizon,
            context_len,
            features,
            series: used,
            rows: y.len(),
            median,
        })
    }

    /// The feature rows and normalized targets the model is trained on, and how many series gave rows.
    pub fn training_set(
        series: &[FleetSeries<'_>],
        cfg: &FleetConfig,
    ) -> Result<(Matrix, Vec<f64>, usize), FleetError> {
        let context_len = series.first().map_or(0, |s| s.context.len());
        for s in series {
            check_series(s, context_len)?;
        }
        let h = cfg.horizon.max(1);
        // origins o with MIN_ORIGIN <= o and o + 1 <= len (at least the first step is known)
        let usable: Vec<&FleetSeries<'_>> = series
            .iter()
            .filter(|s| s.values.len() > MIN_ORIGIN)
            .collect();
        if usable.len() < MIN_SERIES {
            return Err(FleetError::TooFewSeries {
                needed: MIN_SERIES,
                got: usable.len(),
            });
        }
        let origins: usize = usable.iter().map(|s| s.values.len() - MIN_ORIGIN).sum();
        let stride = (origins * h).div_ceil(cfg.max_rows.max(1)).max(1);
        let mut x = Matrix::new(super::features::base_features() + context_len);
        let mut y = Vec::new();
        let mut row = Vec::new();
        for s in &usable {
            let v = s.values;
            // the last origins first, so every series keeps its most recent behaviour
            let mut o = v.len() - 1;
            while o >= MIN_ORIGIN {
                if let Some(state) = Origin::new(v, o, s.season, s.timing) {
                    for j in 0..h.min(v.len() - o) {
                        state.row(j, s.context, &mut row);
                        x.push(&row)?;
                        y.push(state.normalize(v[o + j]));
                    }
                }
                match o.checked_sub(stride) {
                    Some(next) => o = next,
                    None => break,
                }
            }
        }
        Ok((x, y, usable.len()))
    }

    /// Point forecasts for steps 1..=h from origin `o` of `y` (only `y[..o]` is read).
    pub fn predict_path(
        &self,
        y: &[f64],
        o: usize,
        h: usize,
        season: Option<usize>,
        timing: Option<Timing>,
        context: &[f64],
    ) -> Result<Option<Vec<f64>>, FleetError> {
        if h > self.horizon {
            return Err(FleetError::Horizon {
                horizon: h,
                max: self.horizon,
            });
        }
        let Some(state) = Origin::new(y, o, season, timing) else {
            return Ok(None);
        };
        let mut row = Vec::with_capacity(self.features.len());
        let mut out = Vec::with_capacity(h);
        for j in 0..h {
            state.row(j, context, &mut row);
            out.push(state.denormalize(self.median.predict(&row)?));
        }
        Ok(Some(out))
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
        #[derive(Deserialize)]
        struct Header {
            format: String,
            version: u32,
        }
        let head: Header =
            serde_json::from_str(text).map_err(|e| FleetError::Format(e.to_string()))?;
        if head.format != FORMAT {
            return Err(FleetError::Format(format!(
                "format is {:?}, expected {FORMAT:?}",
                head.format
            )));
        }
        if head.version > FORMAT_VERSION {
            return Err(FleetError::NewerVersion {
                found: head.version,
                supported: FORMAT_VERSION,
            });
        }
        let model: GbmFleet =
            serde_json::from_str(text).map_err(|e| FleetError::Format(e.to_string()))?;
        if model.features.len() != model.median.features {
            return Err(FleetError::Format(format!(
                "{} feature names for a model of {} features",
                model.features.len(),
                model.median.features
            )));
        }
        model.median.check()?;
        Ok(model)
    }
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

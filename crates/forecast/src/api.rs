//! The public contract: a `Forecaster` fits a series into a `Fitted` model that predicts with intervals.

use crate::{ForecastError, ModelConfig, ModelKind};
use prescale_core::{Forecast, Level};

/// What a fitted model is, stored as fitted-model metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The requested model kind.
    pub kind: ModelKind,
    /// The concrete form, e.g. `ETS(A,Ad,N)`, `MSTL[288]+ETS(A,N,N)` or `auto→theta`.
    pub spec: String,
    /// Fitted parameters by name.
    pub params: Vec<(String, f64)>,
    /// Mean absolute one-step error of the fit on its training window, when the model has one.
    pub in_sample_mae: Option<f64>,
    /// Residuals per horizon step behind the conformal intervals.
    pub calibration_points: usize,
}

/// A model that can be fitted to a regularly spaced series (oldest first).
pub trait Forecaster: Send + Sync {
    /// Which model this is.
    fn kind(&self) -> ModelKind;
    /// Fits the model and calibrates its intervals.
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>, ForecastError>;
    /// Fits as [`fit`](Self::fit) does, `y` being the values from position `offset` of a series
    /// fitted again and again as it grows: what the last fit found and this one can reuse (the
    /// values it came from are checked to be unchanged) is taken from `memory`, and what this
    /// one found is left there. The same model, in less time.
    fn fit_continuing(
        &self,
        y: &[f64],
        offset: usize,
        memory: &mut FitMemory,
    ) -> Result<Box<dyn Fitted>, ForecastError> {
        let _ = (offset, memory);
        self.fit(y)
    }
}

/// What one fit of a series leaves for the next fit of the same series
/// ([`Forecaster::fit_continuing`]): the neighbours `auto`'s analog candidate found at each
/// origin (about 5.7 KiB at 145 origins).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitMemory {
    pub(crate) analog: crate::models::analog::Neighbours,
}

/// A fitted model.
pub trait Fitted: Send + Sync {
    /// Point forecast and conformal band for `horizon` steps after the training data.
    fn predict(&self, horizon: usize, level: Level) -> Result<Forecast, ForecastError>;
    /// Metadata describing the fit.
    fn describe(&self) -> ModelInfo;
}

/// The forecaster for `kind` with configuration `cfg` (validated again on `fit`).
pub fn forecaster(kind: ModelKind, cfg: &ModelConfig) -> Box<dyn Forecaster> {
    Box::new(crate::models::ModelForecaster::new(kind, cfg.clone()))
}

/// The forecaster for `kind` that can use the fleet's models (`gbm`, and `auto` with fleet candidates).
pub fn fleet_forecaster(
    kind: ModelKind,
    cfg: &ModelConfig,
    fleet: crate::fleet::FleetInput,
) -> Box<dyn Forecaster> {
    Box::new(crate::models::ModelForecaster::new(kind, cfg.clone()).with_fleet(fleet))
}

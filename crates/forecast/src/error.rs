//! Typed errors of the forecasting stage.

use thiserror::Error;

/// What went wrong while fitting, predicting or backtesting.
#[derive(Debug, Error, PartialEq)]
pub enum ForecastError {
    /// The series has fewer points than the model and its calibration need.
    #[error("series too short: need at least {needed} points, got {got}")]
    TooShort { needed: usize, got: usize },
    /// An input value is NaN or infinite.
    #[error("input value at index {index} is not finite ({value})")]
    NonFinite { index: usize, value: f64 },
    /// `predict` was asked for more steps than the calibration covers.
    #[error("horizon {horizon} exceeds the calibrated maximum horizon {max}")]
    HorizonTooLong { horizon: usize, max: usize },
    /// `predict` was asked for zero steps.
    #[error("horizon must be at least 1")]
    ZeroHorizon,
    /// A configuration field has an invalid value.
    #[error("invalid configuration: {field} = {value}: {reason}")]
    InvalidConfig {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// A model could not be fitted to this series.
    #[error("model {model} could not be fitted: {reason}")]
    FitFailed {
        model: crate::ModelKind,
        reason: &'static str,
    },
    /// A model's recursion produced non-finite forecasts.
    #[error("model {spec} produced non-finite forecasts")]
    Diverged { spec: String },
    /// The naive MASE scale of a backtest's first training part is zero (a constant series).
    #[error("MASE scale is zero: the first training window is constant")]
    ZeroScale,
    /// The model list of a backtest is empty.
    #[error("no models to backtest")]
    NoModels,
    /// A model name could not be parsed.
    #[error(
        "unknown model {0:?} (expected one of naive, seasonal_naive, ets, mstl, theta, auto, gbm)"
    )]
    UnknownModel(String),
    /// A fleet model failed or was missing.
    #[error(transparent)]
    Fleet(#[from] crate::fleet::FleetError),
    /// A forecast could not be assembled (shape mismatch; a bug if it ever shows).
    #[error(transparent)]
    Core(#[from] prescale_core::CoreError),
}

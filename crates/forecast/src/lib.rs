//! prescale-forecast: forecasters with conformal prediction intervals, model selection, error
//! metrics and the backtest protocol. Works on plain `&[f64]` (regular steps, oldest first); never
//! reads the clock, files or the store.

pub mod api;
pub mod backtest;
mod calibrated;
pub mod config;
pub mod conformal;
pub mod error;
pub mod fleet;
pub mod gbm;
pub mod kind;
pub mod metrics;
pub mod models;
pub mod neural;
pub mod optimize;
mod path;
pub mod rolling;

pub use api::{fleet_forecaster, forecaster, FitMemory, Fitted, Forecaster, ModelInfo};
pub use backtest::{
    backtest_series, backtest_series_with_fleet, cold_start_reference, cold_start_series,
    fleet_training_len, summarize, BacktestConfig, ModelScore, ModelSummary, Scores,
    SeriesBacktest,
};
pub use config::ModelConfig;
pub use conformal::IntervalMode;
pub use error::ForecastError;
pub use kind::ModelKind;
pub use metrics::{coverage, mase, msis};
pub use rolling::{RollingConfig, RollingForecaster};

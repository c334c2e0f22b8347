//! Fleet models: forecasters trained across many series at once and shared by all of them (`gbm`).
//! A fleet model never sees a series' future: its trainer takes only the prefixes it is given, and the
//! backtest and the live loop hand it each series up to the start of that series' selection tail.

pub mod features;
mod gbm_fleet;
pub(crate) mod saved;

pub use features::{Timing, MIN_ORIGIN};
pub use gbm_fleet::{FleetConfig, FleetSeries, GbmFleet, FORMAT, FORMAT_VERSION, MIN_SERIES};

use crate::gbm::GbmError;
use std::sync::Arc;
use thiserror::Error;

/// What went wrong while training, loading or applying a fleet model.
#[derive(Debug, Error, PartialEq)]
pub enum FleetError {
    /// Fewer series than a fleet model needs.
    #[error("a fleet model needs at least {needed} series with enough history, got {got}")]
    TooFewSeries { needed: usize, got: usize },
    /// A series value that is NaN or infinite.
    #[error("series {series}: value {index} is not finite ({value})")]
    NonFinite {
        series: String,
        index: usize,
        value: f64,
    },
    /// A context vector whose length differs from the model's.
    #[error("series {series}: context vector has {got} values, the fleet model takes {expected}")]
    ContextLength {
        series: String,
        expected: usize,
        got: usize,
    },
    /// A non-finite context value.
    #[error("series {series}: context value {index} is not finite")]
    NonFiniteContext { series: String, index: usize },
    /// The booster failed.
    #[error(transparent)]
    Gbm(#[from] GbmError),
    /// A saved model that is not a prescale fleet model or cannot be parsed.
    #[error("not a prescale gbm model file: {0}")]
    Format(String),
    /// A saved model written by a newer prescale.
    #[error("gbm model file version {found} is newer than this build supports ({supported}); upgrade prescale or retrain")]
    NewerVersion { found: u32, supported: u32 },
    /// A horizon past the one the model was trained for.
    #[error("horizon {horizon} exceeds the fleet model's {max}")]
    Horizon { horizon: usize, max: usize },
}

/// What a per-series forecaster needs of the fleet: the shared model and the series' own calendar and
/// context vector.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetInput {
    pub gbm: Arc<GbmFleet>,
    /// Timing of the first point of the series passed to `fit`.
    pub timing: Option<Timing>,
    /// The series' context vector (as long as the model's `context_len`).
    pub context: Vec<f64>,
    /// Recurrent fleet models (`gru`, `lstm`), when trained.
    pub rnn: Vec<Arc<crate::neural::RnnFleet>>,
}

impl FleetInput {
    /// The recurrent model of `kind`, if there is one.
    pub fn rnn_of(&self, kind: crate::neural::CellKind) -> Option<&Arc<crate::neural::RnnFleet>> {
        self.rnn.iter().find(|r| r.kind() == kind)
    }
}

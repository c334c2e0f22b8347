//! Fleet models: forecasters trained across many series at once and shared by all of them (`gbm`).
//! A fleet model never sees a series' future: its trainer takes only the prefixes it is given, and the
//! backtest and the live loop hand it each series up to the start of that series' selection tail.

pub mod exog;
pub mod features;
mod gbm_fleet;
pub(crate) mod saved;

pub use exog::{
    Anchor, Event, EventKind, Exog, ExogLayout, Predictor, UnknownEventKind, EVENT_CAP,
    MAX_PREDICTORS,
};
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
    /// Exogenous inputs given for some series but not for each.
    #[error("exogenous inputs for {got} series, expected none or one per series ({expected})")]
    ExogLength { expected: usize, got: usize },
    /// A predictor value (observed or forecast) that is NaN or infinite.
    #[error("series {series}: predictor {slot} value {index} is not finite")]
    NonFiniteExog {
        series: String,
        slot: usize,
        index: usize,
    },
    /// An event that ends before it starts.
    #[error("series {series}: an event ends (step {end}) before it starts (step {start})")]
    EventOrder {
        series: String,
        start: i64,
        end: i64,
    },
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

/// What a per-series forecaster needs of the fleet: the shared model and the series' own calendar,
/// context vector and exogenous inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetInput {
    pub gbm: Arc<GbmFleet>,
    /// Timing of the first point of the series passed to `fit`.
    pub timing: Option<Timing>,
    /// The series' context vector (as long as the model's `context_len`).
    pub context: Vec<f64>,
    /// Recurrent fleet models (`gru`, `lstm`), when trained.
    pub rnn: Vec<Arc<crate::neural::RnnFleet>>,
    /// Predictors and events aligned to the end of the series passed to `fit`; read only by a gbm
    /// trained with such features.
    pub exog: Option<Arc<Exog>>,
}

impl FleetInput {
    /// The recurrent model of `kind`, if there is one.
    pub fn rnn_of(&self, kind: crate::neural::CellKind) -> Option<&Arc<crate::neural::RnnFleet>> {
        self.rnn.iter().find(|r| r.kind() == kind)
    }

    /// What the gbm reads of this series besides its values, with its `season`.
    pub fn info(&self, season: Option<usize>) -> SeriesInfo<'_> {
        SeriesInfo {
            season,
            timing: self.timing,
            context: &self.context,
            exog: self.exog.as_deref(),
        }
    }

    /// The same input for a series whose last step now ends at `end_ms` (its exogenous inputs'
    /// offsets moved there, see [`Exog::realigned`]); `None` when nothing moves.
    pub fn aligned_to(&self, end_ms: i64) -> Option<FleetInput> {
        let exog = self.exog.as_ref()?.realigned(end_ms)?;
        Some(FleetInput {
            exog: Some(Arc::new(exog)),
            ..self.clone()
        })
    }
}

/// What a fleet model's forecast reads of one series besides its values.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeriesInfo<'a> {
    pub season: Option<usize>,
    /// Timing of the series' first value.
    pub timing: Option<Timing>,
    /// As long as the model's `context_len`.
    pub context: &'a [f64],
    /// Aligned to the series' last value.
    pub exog: Option<&'a Exog>,
}

//! Typed errors of the feedback stage.

use thiserror::Error;

/// Why a feedback call was refused; nothing already accepted is lost.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FeedbackError {
    /// An actual or a forecast value is NaN or infinite.
    #[error("{what} for step {step} is {value}: must be finite")]
    NonFinite {
        what: &'static str,
        step: u64,
        value: f64,
    },
    /// Horizons count from 1 (the step after the forecast origin).
    #[error("horizon 0 asked for the forecast made at step {origin_step}: horizons start at 1")]
    ZeroHorizon { origin_step: u64 },
    /// A configuration field is invalid.
    #[error("invalid feedback configuration: {field} = {value}: {reason}")]
    InvalidConfig {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

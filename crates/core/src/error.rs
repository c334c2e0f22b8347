//! Errors raised when a domain value is constructed from invalid parts.

use thiserror::Error;

/// Invalid domain value.
#[derive(Debug, Error, PartialEq)]
pub enum CoreError {
    #[error("empty {what}")]
    Empty { what: &'static str },
    #[error("{what} {value:?} is invalid: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("sample at {ts} has non-finite value {value}")]
    NonFinite { ts: i64, value: f64 },
    #[error("samples are not strictly increasing in time at index {index} ({prev} then {next})")]
    Unordered { index: usize, prev: i64, next: i64 },
    #[error("prediction level {0} must lie strictly between 0 and 100")]
    Level(f64),
    #[error("forecast paths differ in length: point {point}, lower {lower}, upper {upper}")]
    ForecastShape {
        point: usize,
        lower: usize,
        upper: usize,
    },
}

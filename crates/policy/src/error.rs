//! Typed errors for invalid policy configuration.

use thiserror::Error;

/// A policy or guard configuration value is out of range.
#[derive(Debug, Error, PartialEq)]
pub enum PolicyError {
    /// A field has an invalid value.
    #[error("invalid policy configuration: {field} = {value}: {reason}")]
    Invalid {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// A policy name is not known.
    #[error("unknown policy {0:?} (known: hpa, threshold, predictive, oracle, static)")]
    Unknown(String),
}

pub(crate) fn invalid(
    field: &'static str,
    value: impl ToString,
    reason: &'static str,
) -> PolicyError {
    PolicyError::Invalid {
        field,
        value: value.to_string(),
        reason,
    }
}

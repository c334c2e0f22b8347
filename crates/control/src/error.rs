//! Typed errors of the control step: an invalid workload spec names the field, the value and why.

use thiserror::Error;

/// Why a workload spec (or a controller built from it) was refused.
#[derive(Debug, Error, PartialEq)]
pub enum ControlError {
    /// A field of the spec is invalid.
    #[error("workload {workload}: {field} = {value}: {reason}")]
    Invalid {
        workload: String,
        field: &'static str,
        value: String,
        reason: String,
    },
}

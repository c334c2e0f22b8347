//! Typed errors of the control step: an invalid workload spec names the field, the value and why;
//! a signal handed to a controller that cannot be used names the workload, the field and the value.

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

/// A signal the controller was handed (a heap estimate, the OOM counter, a health gate reading) that cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum SignalError {
    /// A heap estimate's field is not a finite non-negative number (or the live heap is zero).
    #[error("heap estimate of {workload}: {field} = {value}: must be finite and positive")]
    Heap {
        workload: String,
        field: &'static str,
        value: f64,
    },
    /// The OOM kill counter is not a finite non-negative number.
    #[error("{workload}: oom_kills_total = {value}: must be finite and non-negative")]
    OomCounter { workload: String, value: f64 },
    /// A stages' health gate reading is not finite.
    #[error("{workload}: health gate reading {value}: must be finite")]
    Gate { workload: String, value: f64 },
    /// A measured speed of an instance type is not a finite positive number.
    #[error("{workload}: speed {value} on instance type {instance}: must be finite and above 0")]
    Speed {
        workload: String,
        instance: String,
        value: f64,
    },
}

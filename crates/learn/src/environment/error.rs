//! Why an environment key, a capacity measurement or a cost-per-unit choice could not be made.

use thiserror::Error;

/// A problem with environment labels, the observations a capacity is fitted on, or a choice's input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EnvironmentError {
    /// A label that names an environment has a value that cannot be one.
    #[error("label {label}={value:?}: {reason}")]
    BadLabel {
        label: String,
        value: String,
        reason: &'static str,
    },
    /// Two series of one workload name different instance types or node classes.
    #[error("series {first_series} says {first} but series {second_series} says {second}")]
    Conflicting {
        first_series: String,
        first: String,
        second_series: String,
        second: String,
    },
    /// An observation holds NaN or an infinity.
    #[error("observation {index}: {field} is {value}, not a finite number")]
    NonFinite {
        index: usize,
        field: &'static str,
        value: f64,
    },
    /// An observation holds a negative demand or CPU use.
    #[error("observation {index}: {field} is {value}, below zero")]
    Negative {
        index: usize,
        field: &'static str,
        value: f64,
    },
    /// An observation with no replica serving cannot say what one replica serves.
    #[error("observation {index}: {replicas} replicas (at least one must serve)")]
    NoReplicas { index: usize, replicas: f64 },
    #[error("{found} observations, need at least {need} to learn a capacity")]
    TooFewObservations { found: usize, need: usize },
    /// Demand per replica hardly varies, so the idle CPU and the CPU per unit of demand cannot be told apart.
    #[error("demand per replica hardly varies over {observations} observations (from {min} to {max}): the CPU each unit of demand costs cannot be learned")]
    NoDemandSpread {
        observations: usize,
        min: f64,
        max: f64,
    },
    /// CPU use does not rise with demand, so demand does not cost CPU measurably.
    #[error("CPU use does not rise with demand over {observations} observations: no capacity can be learned from CPU")]
    FlatCpu { observations: usize },
    /// A choice's input out of range.
    #[error("{what} is {value}: {reason}")]
    BadInput {
        what: &'static str,
        value: f64,
        reason: &'static str,
    },
    /// Nothing was measured anywhere, so no type has a capacity.
    #[error("no capacity is measured for {what}: store demand and CPU series with environment labels first")]
    NothingMeasured { what: String },
}

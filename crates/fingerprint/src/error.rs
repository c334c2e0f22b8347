//! Errors of the fingerprint stage: bad configuration, bad input series, degenerate fleets.

use thiserror::Error;

/// Why a fingerprint could not be computed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FingerprintError {
    #[error("invalid fingerprint config: {field} = {value}: {reason}")]
    Config {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("series {what} is empty")]
    EmptySeries { what: String },
    #[error("series {what} has non-finite value {value} at index {index}")]
    NonFinite {
        what: String,
        index: usize,
        value: f64,
    },
    #[error("workload {workload} has no metrics")]
    NoMetrics { workload: String },
    #[error("workload {workload} lists metric {metric} twice")]
    DuplicateMetric { workload: String, metric: String },
    #[error("workload {workload} appears twice in the fleet")]
    DuplicateWorkload { workload: String },
    #[error("need at least {need} workloads/points, got {got}")]
    TooFew { need: usize, got: usize },
    #[error("all workloads have identical features: PCA has no variance to explain")]
    NoVariance,
    #[error("row {row} has {got} values, expected {expected}")]
    Dimension {
        row: usize,
        expected: usize,
        got: usize,
    },
    #[error("{what} must be finite and positive, got {value}")]
    Parameter { what: &'static str, value: f64 },
    #[error("linear algebra failed: {0}")]
    Linalg(String),
    #[error("the stored {what} model has version {found}, newer than this build reads ({supported}): upgrade prescale or refit")]
    ModelVersion {
        what: &'static str,
        found: u32,
        supported: u32,
    },
    #[error("t-SNE failed: {0}")]
    Tsne(String),
}

//! Errors of the cluster stage: bad points or parameters.

use thiserror::Error;

/// Why points could not be clustered or assigned.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ClusterError {
    #[error("no points to cluster")]
    NoPoints,
    #[error("points have no coordinates")]
    ZeroDimension,
    #[error("point {index} has {got} coordinates, expected {expected}")]
    Dimension {
        index: usize,
        expected: usize,
        got: usize,
    },
    #[error("point {index} has non-finite coordinate {value} at position {coord}")]
    NonFinite {
        index: usize,
        coord: usize,
        value: f64,
    },
    #[error("k = {k} is invalid for {n} points (need 1 ≤ k ≤ n)")]
    InvalidK { k: usize, n: usize },
    #[error("choosing k needs at least {need} points, got {got}")]
    TooFewPoints { need: usize, got: usize },
    #[error("min_points must be at least 2")]
    InvalidMinPoints,
    #[error("eps must be finite and positive, got {0}")]
    InvalidEps(f64),
    #[error("no clusters to assign to")]
    NoClusters,
    #[error("cluster {cluster} centroid has {got} coordinates, the point has {expected}")]
    CentroidDimension {
        cluster: String,
        expected: usize,
        got: usize,
    },
    #[error("clustering backend failed: {0}")]
    Backend(String),
}

//! Gradient-boosted regression trees with the quantile (pinball) loss on histogram-binned features:
//! the learner behind the fleet model `gbm`. Pure Rust, deterministic for a given seed.

mod bins;
mod boost;
mod matrix;
mod tree;

pub use boost::{BoostParams, Booster};
pub use matrix::Matrix;

use thiserror::Error;

/// What went wrong while training or loading a booster.
#[derive(Debug, Error, PartialEq)]
pub enum GbmError {
    /// Training data with no rows.
    #[error("no training rows")]
    NoRows,
    /// A target or feature matrix whose shapes do not match.
    #[error("{rows} feature rows but {targets} targets")]
    Shape { rows: usize, targets: usize },
    /// A target value that is NaN or infinite.
    #[error("target {index} is not finite ({value})")]
    NonFiniteTarget { index: usize, value: f64 },
    /// A feature value that is infinite (NaN means "missing" and is allowed).
    #[error("feature {feature} of row {row} is infinite")]
    InfiniteFeature { row: usize, feature: usize },
    /// A quantile outside (0, 1) or another bad parameter.
    #[error("invalid booster parameter {field} = {value}: {reason}")]
    InvalidParam {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// A prediction row with the wrong number of features.
    #[error("the model takes {expected} features, the row has {got}")]
    FeatureCount { expected: usize, got: usize },
    /// A loaded tree whose split points at a node that is not after it (a cycle or a dangling
    /// index): walking it could loop or go astray.
    #[error("tree {tree} is malformed: node {node} points at node {child}")]
    MalformedTree {
        tree: usize,
        node: usize,
        child: usize,
    },
}

//! Fingerprint vectors and cluster ids.

use crate::{Timestamp, WorkloadId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A workload's behavioural fingerprint as of `at`: its PCA-reduced feature vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub workload: WorkloadId,
    pub at: Timestamp,
    pub vector: Vec<f64>,
}

/// A stable cluster id (kept across re-clustering by matching new clusters to old ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClusterId(pub u32);

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

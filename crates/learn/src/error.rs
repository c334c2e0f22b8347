//! Errors of the learning stage: each says what was missing or wrong and what to run first.

use prescale_cluster::ClusterError;
use prescale_core::CoreError;
use prescale_fingerprint::FingerprintError;
use prescale_store::StoreError;
use thiserror::Error;

/// Why fingerprints, clusters, profiles or a recommendation could not be produced.
#[derive(Debug, Error)]
pub enum LearnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("fingerprinting: {0}")]
    Fingerprint(#[from] FingerprintError),
    #[error("clustering: {0}")]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Policy(#[from] prescale_policy::PolicyError),
    #[error("{context}: {source}")]
    Json {
        context: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// Fewer workloads with enough samples than the step needs.
    #[error("need at least {need} workloads with 8+ samples{when} to fingerprint, found {found} (import traces first)")]
    TooFewWorkloads {
        need: usize,
        found: usize,
        when: &'static str,
    },
    #[error("cannot infer the sampling interval")]
    NoInterval,
    #[error("no fingerprints stored yet: run `prescale fingerprint` first")]
    NoFingerprints,
    #[error("no {algorithm} clustering stored yet: run `prescale fingerprint` and `prescale cluster` first")]
    NoClustering { algorithm: String },
    #[error("the latest {algorithm} clustering has no clusters")]
    EmptyClustering { algorithm: String },
    #[error("workload {workload} has no series with 8 or more samples in the store")]
    TooLittleHistory { workload: String },
    #[error("workload {workload} is not in the store")]
    UnknownWorkload { workload: String },
    #[error("no stored workload has labels {matchers}")]
    NoMatch { matchers: String },
    #[error("cluster {cluster} has no member with stored series")]
    EmptyProfile { cluster: String },
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
}

pub(crate) fn invalid(
    what: &'static str,
    value: impl ToString,
    reason: &'static str,
) -> LearnError {
    LearnError::Invalid {
        what,
        value: value.to_string(),
        reason,
    }
}

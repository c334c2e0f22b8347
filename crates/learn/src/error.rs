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
    #[error("environment matching: {0}")]
    Environment(#[from] crate::environment::EnvironmentError),
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
    #[error("no fingerprint basis {basis} is stored")]
    UnknownBasis { basis: String },
    /// The workload has fingerprints only in other bases (or none), so none to compare.
    #[error("no fingerprint of {workload} in basis {basis} ({other} in other bases, not comparable): run `prescale fingerprint` first")]
    NotInBasis {
        workload: String,
        basis: String,
        other: usize,
    },
    #[error("no release annotation for {workload} (one of it or of the whole fleet tagged release or deploy): annotate the release or give the time to compare around")]
    NoRelease { workload: String },
    #[error("no fingerprint of {workload} at or before {at} (Unix ms) in the current basis {basis} (its first is at {first}): fingerprint as of a time before the change (`prescale fingerprint --at TIME`) to compare against")]
    NoRunBefore {
        workload: String,
        at: i64,
        basis: String,
        first: i64,
    },
    #[error("no fingerprint of {workload} after {at} (Unix ms) in the current basis {basis} yet (its latest is at {latest}): fingerprint again once data after the change is stored")]
    NoRunAfter {
        workload: String,
        at: i64,
        basis: String,
        latest: i64,
    },
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

//! Typed errors and their mapping onto gRPC status codes.

use std::time::Duration;
use tonic::Status;

/// Setting up or running the scaler server failed.
#[derive(Debug, thiserror::Error)]
pub enum KedaError {
    #[error("invalid scaler option `{option}`: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("scaler server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The trigger metadata of a ScaledObject is unusable; maps to `INVALID_ARGUMENT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("scalerMetadata key `{key}` is required: {hint}")]
    Missing {
        key: &'static str,
        hint: &'static str,
    },
    #[error("scalerMetadata key `{key}` has invalid value {value:?}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("`{field}` is required in the request")]
    MissingField { field: &'static str },
}

/// No usable prediction for a workload; `NotFound` maps to `NOT_FOUND`, the others to `UNAVAILABLE`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LookupError {
    #[error("no prediction for workload `{workload}` metric `{metric}` (is the workload configured in prescale and has it run a tick?)")]
    NotFound { workload: String, metric: String },
    #[error("prediction for workload `{workload}` metric `{metric}` is stale: {age:?} old, max age {max_age:?}; holding rather than acting on old data")]
    Stale {
        workload: String,
        metric: String,
        age: Duration,
        max_age: Duration,
    },
    #[error(
        "prediction for workload `{workload}` metric `{metric}` is not a finite number ({value})"
    )]
    NonFinite {
        workload: String,
        metric: String,
        value: f64,
    },
}

impl From<MetadataError> for Status {
    fn from(e: MetadataError) -> Self {
        Status::invalid_argument(e.to_string())
    }
}

impl From<LookupError> for Status {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NotFound { .. } => Status::not_found(e.to_string()),
            LookupError::Stale { .. } | LookupError::NonFinite { .. } => {
                Status::unavailable(e.to_string())
            }
        }
    }
}

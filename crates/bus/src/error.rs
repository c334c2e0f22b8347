//! Errors of the bus: what was being done, against which server, and the client's reason.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BusError {
    #[error("connecting to {url}: {detail}")]
    Connect { url: String, detail: String },
    /// A JetStream or key-value operation failed (`what` names it, with its subject or key).
    #[error("{what}: {detail}")]
    Nats { what: String, detail: String },
    #[error("bus configuration: {0}")]
    Config(String),
    /// The bucket was created with another partition count than this instance's.
    #[error("the cluster uses {cluster} partitions, this instance is configured with {ours}: every instance must use the same count")]
    PartitionMismatch { cluster: u32, ours: u32 },
}

impl BusError {
    pub(crate) fn nats(what: impl Into<String>, e: impl std::fmt::Display) -> BusError {
        BusError::Nats {
            what: what.into(),
            detail: e.to_string(),
        }
    }
}

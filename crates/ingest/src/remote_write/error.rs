//! Why a remote-write body was refused; the message is the HTTP 400 body.

use thiserror::Error;

/// A refused remote-write request. `Display` is a human reason fit for a 400 response body.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RemoteWriteError {
    #[error("body is {size} bytes, over the limit of {limit} bytes")]
    BodyTooLarge { size: usize, limit: usize },
    #[error(
        "snappy block header declares {size} decompressed bytes, over the limit of {limit} bytes"
    )]
    DecompressedTooLarge { size: usize, limit: usize },
    #[error(
        "body is not a valid snappy block (remote-write uses the block format, not framed): {0}"
    )]
    Snappy(String),
    #[error("body is not a valid protobuf WriteRequest: {0}")]
    Protobuf(String),
    #[error("request has {count} samples, over the limit of {limit} per request")]
    TooManySamples { count: usize, limit: usize },
    #[error("request has {count} series, over the limit of {limit}")]
    TooManySeries { count: usize, limit: usize },
    #[error("series {series} has {count} labels, over the limit of {limit}")]
    TooManyLabels {
        series: usize,
        count: usize,
        limit: usize,
    },
    #[error("series {series}: label {name:?} is {size} bytes, over the limit of {limit} bytes")]
    LabelTooLarge {
        series: usize,
        name: String,
        size: usize,
        limit: usize,
    },
    #[error("series {series} has no __name__ label")]
    MissingName { series: usize },
    #[error("series {series} has an empty __name__ label")]
    EmptyName { series: usize },
    #[error("series {series} has a label with an empty name")]
    EmptyLabelName { series: usize },
    #[error("series {series} repeats label {name:?}")]
    DuplicateLabel { series: usize, name: String },
    #[error("request is too large to encode as one snappy block: {0}")]
    Encode(String),
}

impl RemoteWriteError {
    /// A stable snake_case name for the error kind (for counters and logs).
    pub fn as_str(&self) -> &'static str {
        match self {
            RemoteWriteError::BodyTooLarge { .. } => "body_too_large",
            RemoteWriteError::DecompressedTooLarge { .. } => "decompressed_too_large",
            RemoteWriteError::Snappy(_) => "snappy",
            RemoteWriteError::Protobuf(_) => "protobuf",
            RemoteWriteError::TooManySamples { .. } => "too_many_samples",
            RemoteWriteError::TooManySeries { .. } => "too_many_series",
            RemoteWriteError::TooManyLabels { .. } => "too_many_labels",
            RemoteWriteError::LabelTooLarge { .. } => "label_too_large",
            RemoteWriteError::MissingName { .. } => "missing_name",
            RemoteWriteError::EmptyName { .. } => "empty_name",
            RemoteWriteError::EmptyLabelName { .. } => "empty_label_name",
            RemoteWriteError::DuplicateLabel { .. } => "duplicate_label",
            RemoteWriteError::Encode(_) => "encode",
        }
    }

    /// Whether the request was refused for its size (HTTP 413) rather than its content (400).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            RemoteWriteError::BodyTooLarge { .. }
                | RemoteWriteError::DecompressedTooLarge { .. }
                | RemoteWriteError::TooManySamples { .. }
        )
    }
}

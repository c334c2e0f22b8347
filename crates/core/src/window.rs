//! Window sources: the one contract for reading a series' recent samples, whether from the
//! embedded store or a Prometheus-compatible server, so the config switch changes nothing above it.

use crate::{Sample, SeriesKey, Timestamp};
use thiserror::Error;

/// A failed window read.
#[derive(Debug, Error)]
pub enum WindowError {
    /// No configured query can produce the requested key.
    #[error("no configured query produces series {0}")]
    UnknownSeries(SeriesKey),
    /// The backend (store file, HTTP server) failed; `backend` names which.
    #[error("reading windows from the {backend}: {source}")]
    Backend {
        backend: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl WindowError {
    /// Wraps a backend's own error, naming the backend.
    pub fn backend(
        backend: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> WindowError {
        WindowError::Backend {
            backend,
            source: Box::new(source),
        }
    }
}

/// Reads windows of series.
pub trait WindowSource {
    /// The samples of `key` with `from <= ts <= to`, in time order, one per timestamp; empty when
    /// the series has none there (or is unknown to a store that cannot tell).
    fn load_window(
        &self,
        key: &SeriesKey,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Sample>, WindowError>;

    /// The series this source can serve, sorted.
    fn keys(&self) -> Result<Vec<SeriesKey>, WindowError>;
}

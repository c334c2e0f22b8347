//! Store errors; each names what was being done (`opening /x/prescale.db`, `saving series web/cpu`).

use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database could not be opened or configured.
    #[error("opening {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The store file could not be created (owner-only) where it should be.
    #[error("opening {path}: creating it (owner-only): {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer prescale whose schema this build does not know.
    #[error("opening {path}: schema version {found} is newer than this build supports ({supported}); use a newer prescale")]
    TooNew {
        path: String,
        found: i64,
        supported: u32,
    },
    /// A migration failed; the file is left at its previous version.
    #[error("opening {path}: migrating to schema version {version}: {source}")]
    Migrate {
        path: String,
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    /// An SQL statement failed; the transaction (if any) was rolled back.
    #[error("{context}: {source}")]
    Sql {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The store's write-ahead journal could not be opened or synced when the store was opened.
    #[error("opening the journal {path}: {source}")]
    Journal {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An fsync of the journal failed: the appends it covered (and every later one on this handle)
    /// were committed but are not known to be durable. Reopen the store to append again.
    #[error("syncing the journal {path}: {source}; appends since the last successful sync are not durable, reopen the store")]
    Sync {
        path: String,
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    /// The value to save, or a stored row, is invalid.
    #[error("{context}: {reason}")]
    Invalid { context: String, reason: String },
    /// A JSON column could not be written or read.
    #[error("{context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Attaches a context to SQL and JSON errors.
pub(crate) trait Context<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql {
            context: context.to_string(),
            source,
        })
    }
}

impl<T> Context<T> for Result<T, serde_json::Error> {
    fn ctx(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Json {
            context: context.to_string(),
            source,
        })
    }
}

pub(crate) fn invalid(context: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        context: context.to_string(),
        reason: reason.into(),
    }
}

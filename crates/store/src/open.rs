//! Opening a store: connection settings (WAL, synchronous, busy timeout, foreign keys) and migrations.

use crate::error::{Context, StoreError};
use crate::schema::migrate;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The embedded store: one SQLite connection.
pub struct Store {
    pub(crate) conn: Connection,
    /// For messages: the file path, or `:memory:`.
    pub(crate) path: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Self::setup(conn, name, true)
    }

    /// A private in-memory store (tests, simulations).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let name = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Self::setup(conn, name, false)
    }

    fn setup(mut conn: Connection, path: String, wal: bool) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        if wal {
            let mode: String = conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .map_err(open_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(open_err(rusqlite::Error::InvalidParameterName(format!(
                    "journal_mode stayed {mode:?}, WAL is required"
                ))));
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        migrate(&mut conn, &path)?;
        Ok(Store { conn, path })
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let context = format!("reading the schema version of {}", self.path);
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx(&context)
    }

    /// The path the store was opened with (`:memory:` for in-memory stores).
    pub fn path(&self) -> &str {
        &self.path
    }
}

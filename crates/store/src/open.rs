//! Opening a store: connection settings (WAL, synchronous, busy timeout, foreign keys) and migrations.

use crate::append::SeriesCache;
use crate::error::{Context, StoreError};
use crate::group_commit::GroupCommit;
use crate::head::Head;
use crate::options::{StoreOptions, Synchronous};
use crate::schema::migrate;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// The embedded store: one SQLite connection.
pub struct Store {
    pub(crate) conn: Connection,
    /// For messages: the file path, or `:memory:`.
    pub(crate) path: String,
    /// Series ids by key for live appends (dropped whenever another connection commits).
    pub(crate) cache: SeriesCache,
    /// This handle's copy of the write-ahead log (see head.rs).
    pub(crate) head: std::sync::Mutex<Head>,
    /// Makes appends durable (see group_commit.rs).
    pub(crate) group: std::sync::Arc<GroupCommit>,
    /// Appends commit at `synchronous=NORMAL` and leave the fsync to `group` (the store is a file
    /// opened with `synchronous=FULL`); every other write commits at FULL.
    pub(crate) group_appends: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Creates `path` as an empty owner-only file when it does not exist yet (an empty file is an
/// empty database to SQLite); an existing file keeps its permissions.
fn create_private(path: &Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Switches the connection to WAL and returns the journal mode it is in. SQLite answers this busy
/// at once, without its busy handler, while another connection is switching the same new file
/// (it takes the exclusive lock without waiting), so a busy answer is retried for up to
/// [`BUSY_TIMEOUT`], as any other lock of the store is waited for.
fn wal_mode(conn: &Connection) -> Result<String, rusqlite::Error> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            answer => return answer,
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Opens (creating if needed) the store at `path` with explicit connection options. A new
    /// file is created readable by its owner only (0600); SQLite gives its `-wal` and `-shm`
    /// files the same permissions.
    pub fn open_with(path: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        create_private(path).map_err(|source| StoreError::Create {
            path: name.clone(),
            source,
        })?;
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Self::setup(conn, name, Some(path), options)
    }

    /// A private in-memory store (tests, simulations).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let name = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Self::setup(conn, name, None, &StoreOptions::default())
    }

    fn setup(
        mut conn: Connection,
        path: String,
        file: Option<&Path>,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Appends, reads through the head and retention use about 30 distinct statements.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        if file.is_some() {
            let mode = wal_mode(&conn).map_err(open_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(open_err(rusqlite::Error::InvalidParameterName(format!(
                    "journal_mode stayed {mode:?}, WAL is required"
                ))));
            }
        }
        let synchronous = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        migrate(&mut conn, &path)?;
        crate::convert::finish(&mut conn, &format!("converting {path} to chunks"))?;
        let group = match (file, options.synchronous) {
            (Some(file), Synchronous::Full) => Some(GroupCommit::journal(file)?),
            _ => None,
        };
        let group_appends = group.is_some();
        let group = group.unwrap_or_else(|| GroupCommit::nothing(&path));
        Ok(Store {
            conn,
            path,
            cache: SeriesCache::default(),
            head: std::sync::Mutex::new(Head::default()),
            group: std::sync::Arc::new(group),
            group_appends,
        })
    }

    /// The schema version of the open file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let context = format!("reading the schema version of {}", self.path);
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx(&context)
    }

    /// Copies the WAL journal into the main file and truncates it (`PRAGMA wal_checkpoint(TRUNCATE)`),
    /// so that the file's size is the store's size on disk. SQLite checkpoints by itself as the
    /// journal grows; call this before measuring or copying the file.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let context = format!("checkpointing {}", self.path);
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .ctx(&context)
    }

    /// Fsyncs of the journal made so far to make this handle's appends durable (group commit:
    /// appends that waited together shared one, so this may be fewer than the appends).
    pub fn journal_syncs(&self) -> u64 {
        self.group.syncs()
    }

    /// The path the store was opened with (`:memory:` for in-memory stores).
    pub fn path(&self) -> &str {
        &self.path
    }
}

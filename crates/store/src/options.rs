//! Connection options chosen when a store is opened (durability of each commit).

/// When a commit is forced to stable storage (`PRAGMA synchronous`; the journal is always WAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Every commit is fsynced before it returns (an append before its `PendingCommit::wait`
    /// returns, with the appends waiting at the same time: group commit): acknowledged writes
    /// survive a kill -9 and a power loss. The default.
    #[default]
    Full,
    /// Commits are written to the WAL without fsync: acknowledged writes survive a kill -9 of the
    /// process (the operating system holds them), but the last commits may be lost on power loss or an
    /// OS crash; the file stays consistent either way. Several times faster for small batches.
    Normal,
}

/// Options for [`crate::Store::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreOptions {
    pub synchronous: Synchronous,
}

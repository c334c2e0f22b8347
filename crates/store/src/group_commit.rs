//! Group commit: appends are committed without waiting for the disk, and one fsync of the SQLite
//! write-ahead journal (`<file>-wal`) makes every commit made before it began durable at once.
//!
//! Each append commit is numbered (in commit order: the store's one connection commits them one at
//! a time) and hands back a [`PendingCommit`]. Its [`PendingCommit::wait`] returns once an fsync
//! that began after the commit returned has succeeded: the first waiter that finds no fsync under
//! way becomes the leader, fsyncs the journal for every commit numbered so far, and wakes everyone
//! it covered; commits made during that fsync wait for the next one, led by one of them. The
//! journal's frames are written to the file (`write`) before the commit returns, so an fsync of the
//! file that starts afterwards covers them, whatever connection or descriptor wrote them.
//!
//! A failed fsync fails every commit it covered, and every later one too: after a failed fsync the
//! kernel may have dropped the dirty pages it could not write, so a later fsync that succeeds says
//! nothing about them (and SQLite's recovery stops at the first missing frame, losing every later
//! commit with it). The store must be reopened to append durably again.

use crate::error::StoreError;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How the journal is made durable.
enum Target {
    /// An open descriptor of the journal file (fsynced as a whole).
    Journal(File),
    /// Nothing to sync: an in-memory store, or `synchronous=NORMAL` where a commit does not wait
    /// for the disk.
    Nothing,
    /// A test's stand-in for the fsync (to make it fail on demand).
    #[cfg(test)]
    Fn(Box<dyn Fn() -> io::Result<()> + Send + Sync>),
}

impl Target {
    fn sync(&self) -> io::Result<()> {
        match self {
            Target::Journal(f) => f.sync_all(),
            Target::Nothing => Ok(()),
            #[cfg(test)]
            Target::Fn(f) => f(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Commits numbered so far (the last one's number).
    committed: u64,
    /// Every commit up to this number is durable.
    synced: u64,
    /// A leader is fsyncing now.
    syncing: bool,
    /// The first failed fsync: every commit after `synced` fails with it.
    failed: Option<Arc<io::Error>>,
    /// Fsyncs done (for tests and reports: how many commits shared one).
    syncs: u64,
}

/// One store handle's group commit over its journal.
pub(crate) struct GroupCommit {
    /// For messages: the journal's path.
    journal: String,
    target: Target,
    state: Mutex<State>,
    woken: Condvar,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("journal", &self.journal)
            .finish()
    }
}

impl GroupCommit {
    /// Group commit over the journal of the database at `db` (`<db>-wal`, which SQLite created when
    /// the file was opened in WAL mode). The journal and its directory are fsynced once here, as
    /// SQLite does for a journal it created, so the file itself survives a power loss.
    pub(crate) fn journal(db: &Path) -> Result<GroupCommit, StoreError> {
        let mut name = db.as_os_str().to_owned();
        name.push("-wal");
        let path = Path::new(&name);
        let journal = path.display().to_string();
        let err = |source| StoreError::Journal {
            path: journal.clone(),
            source,
        };
        let file = File::options().write(true).open(path).map_err(err)?;
        file.sync_all().map_err(err)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
        }
        Ok(GroupCommit::with(journal, Target::Journal(file)))
    }

    /// A group commit with nothing to sync (commits are as durable as they will be once made).
    pub(crate) fn nothing(path: &str) -> GroupCommit {
        GroupCommit::with(path.to_string(), Target::Nothing)
    }

    fn with(journal: String, target: Target) -> GroupCommit {
        GroupCommit {
            journal,
            target,
            state: Mutex::new(State::default()),
            woken: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fsyncs done so far.
    pub(crate) fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    fn wait(&self, commit: u64) -> Result<(), StoreError> {
        if matches!(self.target, Target::Nothing) {
            return Ok(());
        }
        let mut s = self.lock();
        loop {
            if s.synced >= commit {
                return Ok(());
            }
            if let Some(source) = &s.failed {
                return Err(StoreError::Sync {
                    path: self.journal.clone(),
                    source: Arc::clone(source),
                });
            }
            if s.syncing {
                s = self.woken.wait(s).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead: one fsync for every commit numbered so far.
            let upto = s.committed;
            s.syncing = true;
            drop(s);
            let result = self.target.sync();
            s = self.lock();
            s.syncing = false;
            s.syncs += 1;
            match result {
                Ok(()) => s.synced = s.synced.max(upto),
                Err(e) => {
                    if s.failed.is_none() {
                        s.failed = Some(Arc::new(e));
                    }
                }
            }
            self.woken.notify_all();
        }
    }
}

/// An append that is committed (visible to reads) but not yet known to be durable.
#[derive(Debug)]
#[must_use = "an append is durable only once `wait` returned Ok"]
pub struct PendingCommit {
    group: Arc<GroupCommit>,
    commit: u64,
}

impl PendingCommit {
    /// Numbers a commit that has just returned; wait on the result before acknowledging it.
    pub(crate) fn after_commit(group: &Arc<GroupCommit>) -> PendingCommit {
        let mut s = group.lock();
        s.committed += 1;
        PendingCommit {
            group: Arc::clone(group),
            commit: s.committed,
        }
    }

    /// Nothing to wait for (nothing was committed).
    pub(crate) fn done(group: &Arc<GroupCommit>) -> PendingCommit {
        PendingCommit {
            group: Arc::clone(group),
            commit: 0,
        }
    }

    /// Blocks until the append is durable (an fsync of the journal that covers it succeeded), or
    /// fails with [`StoreError::Sync`] when that fsync, or an earlier one, failed. Commits waiting
    /// together share one fsync.
    pub fn wait(self) -> Result<(), StoreError> {
        self.group.wait(self.commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    fn failing_at(call: u64, calls: Arc<AtomicU64>) -> Arc<GroupCommit> {
        Arc::new(GroupCommit::with(
            "test-wal".into(),
            Target::Fn(Box::new(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                // Slow enough that commits pile up behind each fsync.
                std::thread::sleep(Duration::from_millis(5));
                if n == call {
                    Err(io::Error::other("injected fsync failure"))
                } else {
                    Ok(())
                }
            })),
        ))
    }

    #[test]
    fn concurrent_waiters_share_fsyncs() {
        let calls = Arc::new(AtomicU64::new(0));
        let g = failing_at(0, Arc::clone(&calls));
        let pending: Vec<PendingCommit> =
            (0..64).map(|_| PendingCommit::after_commit(&g)).collect();
        let threads: Vec<_> = pending
            .into_iter()
            .map(|p| std::thread::spawn(move || p.wait()))
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let syncs = calls.load(Ordering::SeqCst);
        assert!((1..64).contains(&syncs), "{syncs} fsyncs for 64 commits");
        assert_eq!(g.syncs(), syncs);
        // A commit already covered returns without another fsync.
        let p = PendingCommit::after_commit(&g);
        p.wait().unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), syncs + 1);
    }

    #[test]
    fn a_failed_fsync_fails_every_commit_it_covered_and_every_later_one() {
        let calls = Arc::new(AtomicU64::new(0));
        let g = failing_at(2, Arc::clone(&calls));
        let first = PendingCommit::after_commit(&g);
        first.wait().unwrap();
        // 32 commits numbered before anyone waits: the next fsync (the failing one) covers them all.
        let pending: Vec<PendingCommit> =
            (0..32).map(|_| PendingCommit::after_commit(&g)).collect();
        let threads: Vec<_> = pending
            .into_iter()
            .map(|p| std::thread::spawn(move || p.wait()))
            .collect();
        for t in threads {
            match t.join().unwrap() {
                Err(StoreError::Sync { path, source }) => {
                    assert_eq!(path, "test-wal");
                    assert_eq!(source.to_string(), "injected fsync failure");
                }
                other => panic!("expected a sync error, got {other:?}"),
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one fsync covered all 32");
        let later = PendingCommit::after_commit(&g);
        let e = later.wait().unwrap_err();
        assert!(
            e.to_string().contains("test-wal") && e.to_string().contains("injected"),
            "{e}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no fsync after a failure");
    }
}

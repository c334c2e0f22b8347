//! A small pool of store handles for concurrent readers: in WAL mode readers do not block each
//! other (nor the writer), but one handle serves one call at a time, so callers that share one
//! handle behind a lock wait for each other. Each handle keeps its own copy of the write-ahead log.

use crate::error::{invalid, StoreError};
use crate::open::Store;
use crate::options::StoreOptions;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Up to this many handles.
const MAX_HANDLES: usize = 64;

/// Store handles on one file, lent one per call.
#[derive(Debug)]
pub struct ReadPool {
    handles: Vec<Mutex<Store>>,
    next: AtomicUsize,
}

impl ReadPool {
    /// Opens `size` handles (1 to 64) on the store at `path`.
    pub fn open(path: &Path, options: &StoreOptions, size: usize) -> Result<ReadPool, StoreError> {
        if size == 0 || size > MAX_HANDLES {
            return Err(invalid(
                &format!("opening a read pool on {}", path.display()),
                format!("size {size} is outside 1..={MAX_HANDLES}"),
            ));
        }
        let handles = (0..size)
            .map(|_| Store::open_with(path, options).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(ReadPool {
            handles,
            next: AtomicUsize::new(0),
        })
    }

    /// How many handles the pool holds.
    pub fn size(&self) -> usize {
        self.handles.len()
    }

    /// Runs `f` on a handle no other call is using, when there is one (else waits for one, taken
    /// in turn). A handle whose previous user panicked is used as it is: its state is a cache
    /// checked against the file at every call.
    pub fn with<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let n = self.handles.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let guard: MutexGuard<'_, Store> = (0..n)
            .find_map(|i| match self.handles[(start + i) % n].try_lock() {
                Ok(g) => Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            })
            .unwrap_or_else(|| {
                self.handles[start]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
            });
        f(&guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_call_proceeds_while_another_holds_a_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pool.db");
        let pool = std::sync::Arc::new(ReadPool::open(&path, &StoreOptions::default(), 2).unwrap());
        let (entered_tx, entered_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let held = pool.clone();
        let t = std::thread::spawn(move || {
            held.with(|s| {
                entered_tx.send(()).unwrap();
                // Holds its handle until the other call finished: with one shared handle this
                // would never return.
                done_rx.recv().unwrap();
                s.series_keys().unwrap().len()
            })
        });
        entered_rx.recv().unwrap();
        let listed = pool.with(|s| s.series_spans().unwrap().len());
        done_tx.send(()).unwrap();
        assert_eq!((listed, t.join().unwrap()), (0, 0));
        assert!(ReadPool::open(&path, &StoreOptions::default(), 0).is_err());
        assert_eq!(pool.size(), 2);
    }
}

//! One pass over many workloads' controllers on a few threads: each item runs once, in isolation
//! (a panic is caught and reported for that item alone), and results come back in input order.
//!
//! Work is handed out one item at a time from a shared queue, so a slow item holds one thread
//! while the other threads go on through the rest of the fleet; a panicking item is reported as
//! [`Outcome::Panicked`] and every other item still runs. Plain `std::thread::scope`, no pool.

use std::any::Any;
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::thread;

/// What one item's run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<R> {
    /// The item ran to completion.
    Done(R),
    /// The item panicked; the message is the panic payload when it was a string. The item's state
    /// may be half-updated: callers should stop trusting it (the daemon retires the workload).
    Panicked(String),
}

impl<R> Outcome<R> {
    /// The result, when the item completed.
    pub fn done(self) -> Option<R> {
        match self {
            Outcome::Done(r) => Some(r),
            Outcome::Panicked(_) => None,
        }
    }

    /// Whether the item panicked.
    pub fn is_panicked(&self) -> bool {
        matches!(self, Outcome::Panicked(_))
    }
}

/// Runs one function over every item of a slice on up to `threads` scoped threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fleet {
    threads: NonZeroUsize,
}

impl Default for Fleet {
    /// As many threads as the machine offers (`std::thread::available_parallelism`, else 1).
    fn default() -> Self {
        Fleet {
            threads: thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        }
    }
}

impl Fleet {
    /// A fleet on the machine's available parallelism.
    pub fn new() -> Self {
        Fleet::default()
    }

    /// A fleet on exactly `threads` threads (at least 1).
    pub fn with_threads(threads: usize) -> Self {
        Fleet {
            threads: NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN),
        }
    }

    /// Threads a pass uses at most.
    pub fn threads(&self) -> usize {
        self.threads.get()
    }

    /// Calls `f` exactly once on every item and returns the outcomes in the items' order. A panic
    /// in `f` is caught and reported for that item; the other items still run. With one thread (or
    /// at most one item) everything runs on the calling thread.
    pub fn run<T, R, F>(&self, items: &mut [T], f: F) -> Vec<Outcome<R>>
    where
        T: Send,
        R: Send,
        F: Fn(&mut T) -> R + Sync,
    {
        let mut results: Vec<Option<Outcome<R>>> = Vec::with_capacity(items.len());
        results.resize_with(items.len(), || None);
        let workers = self.threads().min(items.len());
        if workers <= 1 {
            for (item, slot) in items.iter_mut().zip(results.iter_mut()) {
                *slot = Some(run_one(&f, item));
            }
        } else {
            // One item per take: the lock is held only to advance the iterator.
            let queue = Mutex::new(items.iter_mut().zip(results.iter_mut()));
            let f = &f;
            let queue = &queue;
            thread::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(move || loop {
                        let next = match queue.lock() {
                            Ok(mut q) => q.next(),
                            // Only `run_one` panics, and never while the lock is held.
                            Err(poisoned) => poisoned.into_inner().next(),
                        };
                        let Some((item, slot)) = next else { break };
                        *slot = Some(run_one(f, item));
                    });
                }
            });
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Outcome::Panicked("item was not run".into())))
            .collect()
    }
}

fn run_one<T, R>(f: &impl Fn(&mut T) -> R, item: &mut T) -> Outcome<R> {
    match catch_unwind(AssertUnwindSafe(|| f(item))) {
        Ok(r) => Outcome::Done(r),
        Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
    }
}

/// The text of a panic payload (`panic!("...")` gives `&str` or `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_runs_inline_and_in_order() {
        let mut v = vec![1, 2, 3];
        let out = Fleet::with_threads(0).run(&mut v, |x| {
            *x *= 10;
            *x
        });
        assert_eq!(Fleet::with_threads(0).threads(), 1);
        assert_eq!(
            out,
            vec![Outcome::Done(10), Outcome::Done(20), Outcome::Done(30)]
        );
        assert_eq!(v, vec![10, 20, 30]);
    }

    #[test]
    fn panic_messages_are_kept() {
        let mut v = vec![0u8, 1];
        let out = Fleet::with_threads(2).run(&mut v, |x| {
            if *x == 1 {
                panic!("workload {} failed", x);
            }
            *x
        });
        assert_eq!(out[0], Outcome::Done(0));
        assert_eq!(out[1], Outcome::Panicked("workload 1 failed".into()));
        assert!(Fleet::new().threads() >= 1);
    }
}

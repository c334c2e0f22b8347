//! Time as the loops see it: one `Clock` contract (now, and sleeping for back-off), the wall
//! clock for the daemon and a manual clock that a replay or a test sets step by step.

use crate::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Where "now" comes from, and how waiting passes.
pub trait Clock: Send + Sync {
    /// Now as Unix milliseconds.
    fn now(&self) -> Timestamp;

    /// Waits `d` (retries back off through this, so a manual clock makes them instant).
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
    fn sleep(&self, d: Duration) {
        (**self).sleep(d)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
    fn sleep(&self, d: Duration) {
        (**self).sleep(d)
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(ms)
    }
}

/// A clock that stands still until it is set, advanced, or slept on (a sleep moves it on at once
/// and is remembered).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock {
            now: AtomicI64::new(at.0),
            slept: Mutex::default(),
        }
    }

    /// Moves the clock to `at` (backwards too: the caller decides).
    pub fn set(&self, at: Timestamp) {
        self.now.store(at.0, Ordering::SeqCst);
    }

    /// Moves the clock forward by `d` (whole milliseconds).
    pub fn advance(&self, d: Duration) {
        self.now.fetch_add(millis(d), Ordering::SeqCst);
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }
    fn sleep(&self, d: Duration) {
        self.advance(d);
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(d);
    }
}

/// A duration in whole milliseconds, saturating.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_clock_shows_what_it_was_set_to_and_the_system_clock_moves_on() {
        let c = ManualClock::new(Timestamp(5));
        assert_eq!(c.now(), Timestamp(5));
        c.set(Timestamp(300_000));
        assert_eq!(c.now(), Timestamp(300_000));
        // 2020-01-01 in ms: the wall clock is past it.
        assert!(SystemClock.now().0 > 1_577_836_800_000);
    }

    #[test]
    fn sleeping_on_the_manual_clock_moves_it_on_at_once_and_is_remembered() {
        let c = std::sync::Arc::new(ManualClock::new(Timestamp(1_000)));
        let shared = c.clone();
        shared.sleep(Duration::from_millis(250));
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now(), Timestamp(3_250));
        assert_eq!(c.sleeps(), vec![Duration::from_millis(250)]);
    }
}

//! Time as the loops see it: one `Clock` contract, the wall clock for the daemon and a manual
//! clock that a replay or a test sets step by step.

use crate::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// Now as Unix milliseconds.
    fn now(&self) -> Timestamp;
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

/// A clock that stands still until it is set.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(at.0))
    }

    /// Moves the clock to `at` (backwards too: the caller decides).
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
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
}

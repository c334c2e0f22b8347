//! Time for back-off and the circuit breaker, injectable so tests run instantly.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Reads monotonic time and sleeps. The only place retries touch time.
pub trait Clock: Send {
    fn now(&self) -> Instant;
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A clock that only moves when told to (or when slept on); clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    start: Instant,
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug, Default)]
struct ManualState {
    offset: Duration,
    slept: Vec<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    pub fn new() -> Self {
        ManualClock {
            start: Instant::now(),
            inner: Arc::new(Mutex::new(ManualState::default())),
        }
    }
    /// Moves time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        s.offset += d;
    }
    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        let s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        s.slept.clone()
    }
    /// Time elapsed since creation.
    pub fn elapsed(&self) -> Duration {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .offset
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }
    fn sleep(&self, d: Duration) {
        let mut s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        s.offset += d;
        s.slept.push(d);
    }
}

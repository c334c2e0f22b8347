//! A circuit breaker: opens after consecutive failures, lets one trial through after a cool-down.

use prescale_core::Timestamp;
use std::time::Duration;

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed attempts (retryable errors) that open the breaker. At least 1.
    pub failure_threshold: u32,
    /// How long the breaker stays open before letting one trial through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(60),
        }
    }
}

/// The breaker's state as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; `consecutive_failures` so far.
    Closed { consecutive_failures: u32 },
    /// Calls are refused for `remaining`.
    Open { remaining: Duration },
    /// The cool-down is over: the next call is a single trial.
    HalfOpen,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed(u32),
    Open(Timestamp),
}

/// Breaker bookkeeping; time is passed in so the owner decides which clock to use.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    inner: Inner,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Breaker {
            config: BreakerConfig {
                failure_threshold: config.failure_threshold.max(1),
                ..config
            },
            inner: Inner::Closed(0),
        }
    }

    pub fn state(&self, now: Timestamp) -> BreakerState {
        match self.inner {
            Inner::Closed(n) => BreakerState::Closed {
                consecutive_failures: n,
            },
            Inner::Open(until) if now < until => BreakerState::Open {
                remaining: Duration::from_millis(until.0.abs_diff(now.0)),
            },
            Inner::Open(_) => BreakerState::HalfOpen,
        }
    }

    pub fn on_success(&mut self) {
        self.inner = Inner::Closed(0);
    }

    /// Records a failed attempt; returns the new state.
    pub fn on_failure(&mut self, now: Timestamp) -> BreakerState {
        self.inner = match self.inner {
            Inner::Closed(n) if n + 1 < self.config.failure_threshold => Inner::Closed(n + 1),
            // Threshold reached, or the half-open trial failed: (re)open.
            _ => Inner::Open(Timestamp(now.0.saturating_add(
                i64::try_from(self.config.open_for.as_millis()).unwrap_or(i64::MAX),
            ))),
        };
        self.state(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_at_threshold_and_half_opens_after_cool_down() {
        let t0 = Timestamp(1_700_000_000_000);
        let mut b = Breaker::new(BreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_secs(10),
        });
        assert_eq!(
            b.on_failure(t0),
            BreakerState::Closed {
                consecutive_failures: 1
            }
        );
        assert!(matches!(b.on_failure(t0), BreakerState::Open { .. }));
        assert_eq!(
            b.state(Timestamp(t0.0 + 4_000)),
            BreakerState::Open {
                remaining: Duration::from_secs(6)
            }
        );
        let later = Timestamp(t0.0 + 10_000);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        // A failed trial reopens at once.
        assert!(matches!(b.on_failure(later), BreakerState::Open { .. }));
        b.on_success();
        assert_eq!(
            b.state(later),
            BreakerState::Closed {
                consecutive_failures: 0
            }
        );
    }
}

//! `Retrying`: exponential back-off on retryable errors, guarded by a circuit breaker.

use crate::breaker::Breaker;
use crate::{
    ActuateError, ActuationRequest, Actuator, Applied, BreakerConfig, BreakerState, DesiredState,
};
use prescale_core::{Clock, SystemClock, WorkloadId};
use std::time::Duration;

/// Exponential back-off: `base`, `2·base`, `4·base`, … capped at `max`, for at most `max_attempts`
/// attempts in one call (no jitter, so behaviour is reproducible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    /// Attempts per call, including the first. At least 1.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_secs(10),
            max_attempts: 4,
        }
    }
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Wraps an actuator with retries and a circuit breaker.
///
/// Only retryable errors are retried and counted by the breaker; a non-retryable error (a 4xx, a
/// bad request) is returned at once and, since the target answered, closes a half-open breaker.
/// While the breaker is open, `apply` returns [`ActuateError::CircuitOpen`] without calling the
/// inner actuator; after the cool-down exactly one attempt (no retries) decides whether it closes.
pub struct Retrying<A: Actuator, C: Clock = SystemClock> {
    inner: A,
    backoff: Backoff,
    breaker: Breaker,
    clock: C,
    last_attempts: u32,
}

impl<A: Actuator> Retrying<A, SystemClock> {
    pub fn new(inner: A, backoff: Backoff, breaker: BreakerConfig) -> Self {
        Self::with_clock(inner, backoff, breaker, SystemClock)
    }
}

impl<A: Actuator, C: Clock> Retrying<A, C> {
    pub fn with_clock(inner: A, backoff: Backoff, breaker: BreakerConfig, clock: C) -> Self {
        Retrying {
            inner,
            backoff: Backoff {
                max_attempts: backoff.max_attempts.max(1),
                ..backoff
            },
            breaker: Breaker::new(breaker),
            clock,
            last_attempts: 0,
        }
    }

    /// The breaker's state now.
    pub fn state(&self) -> BreakerState {
        self.breaker.state(self.clock.now())
    }

    /// Attempts made by the last `apply` (0 when the breaker refused it).
    pub fn last_attempts(&self) -> u32 {
        self.last_attempts
    }

    pub fn inner(&self) -> &A {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut A {
        &mut self.inner
    }

    pub fn into_inner(self) -> A {
        self.inner
    }
}

impl<A: Actuator, C: Clock> Actuator for Retrying<A, C> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        self.last_attempts = 0;
        let max_attempts = match self.state() {
            BreakerState::Open { remaining } => {
                return Err(ActuateError::CircuitOpen {
                    actuator: self.inner.name().to_string(),
                    retry_after: remaining,
                })
            }
            BreakerState::HalfOpen => 1,
            BreakerState::Closed { .. } => self.backoff.max_attempts,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.last_attempts = attempt;
            match self.inner.apply(req) {
                Ok(applied) => {
                    self.breaker.on_success();
                    return Ok(applied);
                }
                Err(e) if !e.is_retryable() || matches!(e, ActuateError::CircuitOpen { .. }) => {
                    // The target answered (or an inner breaker refused): not a transport failure.
                    if self.state() == BreakerState::HalfOpen {
                        self.breaker.on_success();
                    }
                    return Err(e);
                }
                Err(e) => {
                    let state = self.breaker.on_failure(self.clock.now());
                    if attempt >= max_attempts || matches!(state, BreakerState::Open { .. }) {
                        return Err(e);
                    }
                    self.clock.sleep(self.backoff.delay(attempt));
                }
            }
        }
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        self.inner.current(workload)
    }

    fn oom_kills(&mut self, workload: &WorkloadId) -> Result<Vec<crate::OomKill>, ActuateError> {
        self.inner.oom_kills(workload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_millis(500),
            max_attempts: 10,
        };
        let d: Vec<u64> = (1..=5).map(|a| b.delay(a).as_millis() as u64).collect();
        assert_eq!(d, vec![100, 200, 400, 500, 500]);
        assert_eq!(b.delay(200), Duration::from_millis(500));
    }
}

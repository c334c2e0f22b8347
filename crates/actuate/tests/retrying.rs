//! Retrying: back-off, circuit breaker and half-open trials, on a manual clock.

mod common;

use common::{request, workload};
use prescale_actuate::{
    ActuateError, ActuationRequest, Actuator, Applied, Backoff, BreakerConfig, BreakerState,
    DesiredState, Retrying,
};
use prescale_core::{ManualClock, Timestamp, WorkloadId};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// Answers from a script; once it runs out, keeps failing retryably.
struct Scripted {
    answers: VecDeque<Result<Applied, ActuateError>>,
    calls: u32,
}

fn unavailable() -> Result<Applied, ActuateError> {
    Err(ActuateError::ServerError {
        target: "t".into(),
        status: 503,
        body: "down".into(),
    })
}

fn ok() -> Result<Applied, ActuateError> {
    Ok(Applied {
        changed: true,
        detail: "done".into(),
    })
}

impl Scripted {
    fn new(answers: Vec<Result<Applied, ActuateError>>) -> Self {
        Scripted {
            answers: answers.into(),
            calls: 0,
        }
    }
}

impl Actuator for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn apply(&mut self, _req: &ActuationRequest) -> Result<Applied, ActuateError> {
        self.calls += 1;
        self.answers.pop_front().unwrap_or_else(unavailable)
    }
    fn current(&mut self, _w: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        Ok(None)
    }
}

fn wrap(inner: Scripted, clock: &Arc<ManualClock>) -> Retrying<Scripted, Arc<ManualClock>> {
    Retrying::with_clock(
        inner,
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_millis(250),
            max_attempts: 4,
        },
        BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_secs(30),
        },
        clock.clone(),
    )
}

#[test]
fn retries_with_backoff_then_succeeds() {
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
    let mut r = wrap(
        Scripted::new(vec![unavailable(), unavailable(), ok()]),
        &clock,
    );
    assert_eq!(r.apply(&request(2)).unwrap().detail, "done");
    assert_eq!(r.last_attempts(), 3);
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_millis(100), Duration::from_millis(200)]
    );
    assert_eq!(
        r.state(),
        BreakerState::Closed {
            consecutive_failures: 0
        }
    );
}

#[test]
fn retries_then_opens_the_breaker_and_refuses_calls() {
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
    let mut r = wrap(Scripted::new(vec![]), &clock);
    let err = r.apply(&request(2)).unwrap_err();
    assert!(matches!(err, ActuateError::ServerError { status: 503, .. }));
    // Threshold 3 is reached before max_attempts 4: the loop stops when the breaker opens.
    assert_eq!(r.last_attempts(), 3);
    assert_eq!(r.inner().calls, 3);
    assert!(matches!(r.state(), BreakerState::Open { .. }));

    let err = r.apply(&request(2)).unwrap_err();
    assert!(matches!(err, ActuateError::CircuitOpen { .. }), "{err:?}");
    assert_eq!(r.last_attempts(), 0);
    assert_eq!(r.inner().calls, 3, "an open breaker must not call through");
}

#[test]
fn half_open_success_closes_and_failure_reopens() {
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
    // 3 failures open it; the first trial fails; the second trial succeeds.
    let answers = vec![
        unavailable(),
        unavailable(),
        unavailable(),
        unavailable(),
        ok(),
        ok(),
    ];
    let mut r = wrap(Scripted::new(answers), &clock);
    assert!(r.apply(&request(2)).is_err());
    assert!(matches!(r.state(), BreakerState::Open { .. }));

    clock.advance(Duration::from_secs(30));
    assert_eq!(r.state(), BreakerState::HalfOpen);
    assert!(r.apply(&request(2)).is_err());
    assert_eq!(r.last_attempts(), 1, "half-open allows a single trial");
    assert!(matches!(r.state(), BreakerState::Open { .. }));

    clock.advance(Duration::from_secs(30));
    assert_eq!(r.state(), BreakerState::HalfOpen);
    assert!(r.apply(&request(2)).is_ok());
    assert_eq!(
        r.state(),
        BreakerState::Closed {
            consecutive_failures: 0
        }
    );
    assert!(r.apply(&request(2)).is_ok());
    assert_eq!(r.inner().calls, 6);
}

#[test]
fn non_retryable_errors_are_not_retried() {
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
    let rejected = Err(ActuateError::Rejected {
        target: "t".into(),
        status: 409,
        body: "conflict".into(),
    });
    let mut r = wrap(Scripted::new(vec![rejected]), &clock);
    let err = r.apply(&request(2)).unwrap_err();
    assert!(matches!(err, ActuateError::Rejected { status: 409, .. }));
    assert_eq!(r.last_attempts(), 1);
    assert!(clock.sleeps().is_empty());
    assert_eq!(
        r.state(),
        BreakerState::Closed {
            consecutive_failures: 0
        }
    );
    assert!(r.current(&workload()).unwrap().is_none());
}

#[test]
fn wraps_a_real_exec_actuator() {
    // A command that fails with EX_TEMPFAIL twice, then succeeds (state kept in a file).
    let dir = common::temp_dir("retry-exec");
    let script = format!(
        "n=$(cat {d}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/n; [ $n -ge 3 ] || exit 75; echo applied",
        d = dir.display()
    );
    let exec = prescale_actuate::Exec::new(
        "sh",
        prescale_actuate::ExecOptions {
            args: vec!["-c".into(), script],
            ..Default::default()
        },
    );
    let clock = Arc::new(ManualClock::new(Timestamp(1_700_000_000_000)));
    let mut r = Retrying::with_clock(
        exec,
        Backoff::default(),
        BreakerConfig::default(),
        clock.clone(),
    );
    assert_eq!(r.apply(&request(5)).unwrap().detail, "applied");
    assert_eq!(r.last_attempts(), 3);
    assert_eq!(clock.sleeps().len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

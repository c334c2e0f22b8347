//! Warm-up through the controller on a trace with one surge in the ticks watched (a daily-like
//! pattern learned over earlier periods): fired once, at the first tick within `before` of the
//! surge, recorded with that decision.

use prescale_control::warmup::WarmupSpec;
use prescale_control::{Controller, WorkloadSpec};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use std::time::Duration;

const STEP_MS: i64 = 60_000;
const PERIOD: i64 = 24;
const HIGH_FROM: i64 = 16;

/// Demand at step k: 20 for 16 steps, then 80 for 8 steps, with a small deterministic wiggle.
fn demand(k: i64) -> f64 {
    let base = if k.rem_euclid(PERIOD) >= HIGH_FROM {
        80.0
    } else {
        20.0
    };
    base + ((k * 7919) % 13) as f64 * 0.1
}

fn spec(warmup: Option<WarmupSpec>) -> WorkloadSpec {
    let mut s = WorkloadSpec::new(
        WorkloadId::new("web").unwrap(),
        MetricName::new("rps").unwrap(),
        10.0,
    );
    s.step = Duration::from_millis(STEP_MS as u64);
    s.lead = Duration::from_secs(120);
    s.season = Some(Duration::from_millis((PERIOD * STEP_MS) as u64));
    s.max = 20;
    s.warmup = warmup;
    s
}

/// Ticks 1 s into each step of one period after `warm` periods; returns the steps (relative to
/// the period's start) whose decision fired a warm-up, with the surge start each named.
fn fired(warmup: WarmupSpec) -> Vec<(i64, i64)> {
    let mut c = Controller::new(spec(Some(warmup))).unwrap();
    let warm = 20 * PERIOD;
    let all: Vec<Sample> = (0..warm + PERIOD)
        .flat_map(|k| {
            (0..4).map(move |i| Sample {
                ts: Timestamp(k * STEP_MS + i * 15_000),
                value: demand(k),
            })
        })
        .collect();
    let mut out = Vec::new();
    let mut current = None;
    for k in warm..warm + PERIOD {
        let window: Vec<Sample> = all
            .iter()
            .filter(|s| s.ts.0 < k * STEP_MS)
            .copied()
            .collect();
        let r = c.tick(&window, Timestamp(k * STEP_MS + 1_000), current);
        current = r.replicas_after;
        if let Some(w) = r.actions.warmup {
            assert!(w.rise > 0.5, "{w:?}");
            assert!(!w.late, "{w:?}");
            out.push((k - warm, (w.surge_at - warm * STEP_MS) / STEP_MS));
        }
    }
    out
}

#[test]
fn fires_once_at_the_step_before_the_surge() {
    // 2 minutes ahead: the tick 1 s into step 14 is 119 s before step 16 starts.
    let two = fired(WarmupSpec {
        before: Duration::from_secs(120),
        rise: 0.5,
    });
    assert_eq!(two, vec![(14, HIGH_FROM)]);
    // 3 minutes ahead: one step earlier.
    let three = fired(WarmupSpec {
        before: Duration::from_secs(180),
        rise: 0.5,
    });
    assert_eq!(three, vec![(13, HIGH_FROM)]);
    // A rise of 300 % is never predicted (80 against 20 is +300 % at most, less with the wiggle).
    let none = fired(WarmupSpec {
        before: Duration::from_secs(120),
        rise: 3.5,
    });
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn a_bad_warmup_is_refused_naming_the_field() {
    let e = Controller::new(spec(Some(WarmupSpec {
        before: Duration::from_secs(60),
        rise: -0.2,
    })))
    .err()
    .unwrap();
    assert!(e.to_string().contains("warmup.rise"), "{e}");
}

//! Gradual scaling through the controller: a demand jump the policy answers with a large change
//! goes in stages behind the health gate; a healthy ramp reaches the policy's count in the
//! expected number of stages, an unhealthy gate pauses and then rolls back, and each decision
//! records its stage.

use prescale_control::stages::{HealthGate, StageSpec, StageStep};
use prescale_control::{Controller, DecisionRecord, WorkloadSpec};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use std::time::Duration;

const STEP_MS: i64 = 60_000;
const JUMP: i64 = 30;

fn spec(stages: bool) -> WorkloadSpec {
    let mut s = WorkloadSpec::new(
        WorkloadId::new("web").unwrap(),
        MetricName::new("rps").unwrap(),
        10.0,
    );
    s.policy = "hpa".parse().unwrap();
    s.step = Duration::from_millis(STEP_MS as u64);
    s.max = 40;
    s.stages = stages.then(|| StageSpec {
        max_step: 4,
        interval: Duration::from_secs(60),
        gate: HealthGate {
            metric: MetricName::new("latency_p99").unwrap(),
            max: 0.3,
        },
        pause_limit: 2,
    });
    s
}

/// Demand 20 until step JUMP, then 150.
fn demand(k: i64) -> f64 {
    if k < JUMP {
        20.0
    } else {
        150.0
    }
}

/// Ticks once a step from step 20 for `steps` steps, the gate reading `gate(k)`; returns the
/// records from the jump on.
fn run(stages: bool, steps: i64, gate: impl Fn(i64) -> f64) -> Vec<DecisionRecord> {
    let mut c = Controller::new(spec(stages)).unwrap();
    let samples: Vec<Sample> = (0..20 + steps)
        .map(|k| Sample {
            ts: Timestamp(k * STEP_MS + 30_000),
            value: demand(k),
        })
        .collect();
    let mut current = None;
    let mut out = Vec::new();
    for k in 20..20 + steps {
        let now = k * STEP_MS + 1_000;
        c.observe_gate(Timestamp(now - 500), gate(k)).unwrap();
        let window: Vec<Sample> = samples
            .iter()
            .filter(|s| s.ts.0 < k * STEP_MS)
            .copied()
            .collect();
        let r = c.tick(&window, Timestamp(now), current);
        current = r.replicas_after;
        if k > JUMP {
            out.push(r);
        }
    }
    out
}

#[test]
fn a_healthy_ramp_reaches_the_policys_count_in_stages() {
    let plain = run(false, 20, |_| 0.1);
    let (from, target) = (
        plain[0].replicas_before.unwrap(),
        plain[0].replicas_after.unwrap(),
    );
    assert!(
        target >= from + 9,
        "the policy answers the jump at once: {from} → {target}"
    );
    let staged = run(true, 20, |_| 0.1);
    let stages: Vec<_> = staged
        .iter()
        .filter_map(|r| r.actions.stage.clone())
        .collect();
    let n = (target - from).div_ceil(4);
    assert_eq!(stages.len() as u32, n, "{stages:#?}");
    assert_eq!(stages[0].step, StageStep::Begin);
    assert_eq!(stages.last().unwrap().step, StageStep::Done);
    assert_eq!(stages.last().unwrap().replicas, target);
    for (i, s) in stages.iter().enumerate() {
        assert_eq!(s.stage, i as u32 + 1);
        assert_eq!(s.stages, n);
        assert_eq!(s.replicas, (from + 4 * (i as u32 + 1)).min(target));
    }
    // Each staged decision says so in its reason; after the ramp the count stays.
    assert!(
        staged[1].reason.contains("staged: gate healthy"),
        "{}",
        staged[1].reason
    );
    assert_eq!(staged.last().unwrap().replicas_after, Some(target));
}

#[test]
fn an_unhealthy_gate_pauses_then_rolls_back() {
    // A scale-down after a long high phase: the demand falls at JUMP instead.
    let mut c = Controller::new(spec(true)).unwrap();
    let high = |k: i64| if k < JUMP { 150.0 } else { 20.0 };
    let samples: Vec<Sample> = (0..40)
        .map(|k| Sample {
            ts: Timestamp(k * STEP_MS + 30_000),
            value: high(k),
        })
        .collect();
    let mut current = None;
    let mut steps = Vec::new();
    for k in 20..40 {
        let now = k * STEP_MS + 1_000;
        // Healthy until the first stage down is made, then latency breaks the ceiling.
        let gate = if k <= JUMP + 1 { 0.1 } else { 0.9 };
        c.observe_gate(Timestamp(now), gate).unwrap();
        let window: Vec<Sample> = samples
            .iter()
            .filter(|s| s.ts.0 < k * STEP_MS)
            .copied()
            .collect();
        let r = c.tick(&window, Timestamp(now), current);
        current = r.replicas_after;
        if let Some(s) = r.actions.stage {
            steps.push((s.step, s.replicas, s.from));
        }
    }
    let kinds: Vec<StageStep> = steps.iter().map(|s| s.0).collect();
    assert_eq!(
        &kinds[..4],
        &[
            StageStep::Begin,
            StageStep::Pause,
            StageStep::RollBack,
            StageStep::HeldBack
        ],
        "{steps:?}"
    );
    let (_, rolled_to, from) = steps[2];
    assert_eq!(
        rolled_to, from,
        "rolled back to the count before the change"
    );
    assert_eq!(steps[1].1, steps[0].1, "paused at the first stage");
    // A NaN gate reading is refused.
    assert!(c.observe_gate(Timestamp(0), f64::NAN).is_err());
}

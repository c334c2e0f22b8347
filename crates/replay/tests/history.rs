//! Replaying a workload's recorded samples (`replay_history`): raw samples several per step replay
//! like the trace of their step means, gaps hold as live, and extra policies decide beside the
//! acting one.

use prescale_core::{Sample, Timestamp};
use prescale_replay::{replay_history, simulate, PolicyKind, SimConfig};

fn demand() -> Vec<f64> {
    (0..200)
        .map(|t| {
            let phase = (t % 24) as f64 / 24.0 * std::f64::consts::TAU;
            50.0 + 25.0 * phase.sin() + ((t * 31) % 7) as f64
        })
        .collect()
}

fn config() -> SimConfig {
    SimConfig {
        capacity_per_replica: Some(10.0),
        delay_steps: 2,
        max: 40,
        forecast: prescale_forecast::RollingConfig {
            season: Some(24),
            min_history: 24,
            history_window: 2016,
            guard_refits: true,
            ..Default::default()
        },
        ..SimConfig::default()
    }
}

/// Four samples per step around the step's value (mean exactly the value), from `base` ms.
fn raw(demand: &[f64], step_ms: i64, base: i64) -> Vec<Sample> {
    demand
        .iter()
        .enumerate()
        .flat_map(|(t, &v)| {
            [-1.5, 0.5, -0.5, 1.5]
                .into_iter()
                .enumerate()
                .map(move |(k, d)| Sample {
                    ts: Timestamp(base + t as i64 * step_ms + k as i64 * step_ms / 4),
                    value: v + d,
                })
        })
        .collect()
}

#[test]
fn raw_samples_replay_like_the_trace_of_their_step_means() {
    let d = demand();
    let cfg = config();
    let kind: PolicyKind = "predictive".parse().unwrap();
    let trace = simulate(&d, std::slice::from_ref(&kind), &cfg).unwrap();
    let spec = cfg.workload_spec(10.0, &kind).unwrap();
    let step_ms = cfg.step_ms();
    // Steps start at the epoch in both, so the workload's refit schedule is the same.
    let history = replay_history(&raw(&d, step_ms, 0), spec, &[], (None, None), false).unwrap();
    assert_eq!(history.steps, d.len());
    assert_eq!(
        history.policies[0].trace.requested,
        trace.policies[0].trace.requested
    );
    assert_eq!(history.policies[0].metrics, trace.policies[0].metrics);
    assert!(history.fits > 5);
}

#[test]
fn a_gap_in_the_history_holds_and_extra_policies_decide_beside_the_acting_one() {
    let d = demand();
    let cfg = config();
    let kind: PolicyKind = "predictive".parse().unwrap();
    let spec = cfg.workload_spec(10.0, &kind).unwrap();
    let step_ms = cfg.step_ms();
    let base = 1_700_000_000_000 / step_ms * step_ms;
    // Steps 120..140 are missing (100 minutes: past the five-minute staleness limit).
    let samples: Vec<Sample> = raw(&d, step_ms, base)
        .into_iter()
        .filter(|s| !(base + 120 * step_ms..base + 140 * step_ms).contains(&s.ts.0))
        .collect();
    let from = Timestamp(base + 24 * step_ms);
    let r = replay_history(
        &samples,
        spec,
        &["hpa".parse().unwrap(), PolicyKind::Oracle],
        (Some(from), None),
        true,
    )
    .unwrap();
    assert_eq!(r.steps, d.len() - 24, "from the step holding `from` on");
    let names: Vec<&str> = r.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["predictive", "hpa", "oracle"]);
    let acting = &r.policies[0];
    assert_eq!(acting.records.len(), r.steps);
    assert!(
        r.policies[2].records.is_empty(),
        "the oracle decides directly"
    );
    let rules = |range: std::ops::Range<usize>| -> Vec<String> {
        acting.records[range]
            .iter()
            .map(|rec| rec.reason_json["rule"].as_str().unwrap_or("").to_string())
            .collect()
    };
    // Inside the gap (steps 96..116 of the replay) the stale telemetry holds, as live.
    assert!(
        rules(98..116)
            .iter()
            .all(|r| r == "stale-telemetry" || r == "no-telemetry"),
        "{:?}",
        rules(96..118)
    );
    assert!(rules(0..95)
        .iter()
        .all(|r| r != "stale-telemetry" && r != "no-telemetry"));
    // The HPA lane decided on its own replica counts.
    assert_ne!(r.policies[1].trace.requested, acting.trace.requested);
}

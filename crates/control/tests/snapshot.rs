//! A controller's snapshot (what a workload's next owner resumes from): the predictive policy's
//! learned headroom survives encode, decode and restore into a fresh controller; a corrupt
//! snapshot, a newer format, another workload's or another policy's, and an out-of-bounds
//! headroom are refused with nothing changed.

use prescale_control::{
    Controller, ControllerSnapshot, SnapshotError, WorkloadSpec, SNAPSHOT_VERSION,
};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use prescale_policy::HeadroomState;
use std::time::Duration;

const STEP_MS: i64 = 60_000;

fn spec(workload: &str, policy: &str) -> WorkloadSpec {
    let mut s = WorkloadSpec::new(
        WorkloadId::new(workload).unwrap(),
        MetricName::new("rps").unwrap(),
        10.0,
    );
    s.policy = policy.parse().unwrap();
    s.step = Duration::from_millis(STEP_MS as u64);
    s.min = 1;
    s.max = 50;
    s
}

/// Demand at step k: about 40 with a burst to 120 every 7th step (the forecast's upper bound
/// misses the bursts, so the headroom learns to rise).
fn demand(k: i64) -> f64 {
    if k % 7 == 6 {
        120.0
    } else {
        40.0 + ((k * 7919) % 11) as f64
    }
}

/// A predictive controller after `steps` decisions on `demand`.
fn learned(workload: &str, steps: i64) -> Controller {
    let mut c = Controller::new(spec(workload, "predictive")).unwrap();
    let all: Vec<Sample> = (0..steps + 1)
        .map(|k| Sample {
            ts: Timestamp(k * STEP_MS),
            value: demand(k),
        })
        .collect();
    let mut current = None;
    for k in 1..=steps {
        let window: Vec<Sample> = all
            .iter()
            .filter(|s| s.ts.0 < k * STEP_MS)
            .copied()
            .collect();
        let r = c.tick(&window, Timestamp(k * STEP_MS + 1_000), current);
        current = r.replicas_after.or(current);
    }
    c
}

#[test]
fn the_learned_headroom_carries_over_to_a_fresh_controller() {
    let a = learned("web", 120);
    let h = a.learned_headroom(0).unwrap();
    assert!(
        (h - 1.0).abs() > 0.01,
        "the policy learned nothing: headroom {h}"
    );
    let bytes = a.snapshot("instance-a").encode();
    // What one snapshot costs on the bus (the README's traffic model): the default Hedge grid.
    eprintln!("snapshot bytes: {}", bytes.len());
    assert!(bytes.len() < 1024, "{} bytes", bytes.len());
    let snap = ControllerSnapshot::decode("web", &bytes).unwrap();
    assert_eq!(snap.version, SNAPSHOT_VERSION);
    assert_eq!(snap.written_by, "instance-a");
    assert_eq!(snap.policy, "predictive");
    let mut b = Controller::new(spec("web", "predictive")).unwrap();
    assert_eq!(b.learned_headroom(0), Some(1.0));
    assert!(b.restore(&snap).unwrap());
    let carried = b.learned_headroom(0).unwrap();
    assert!((carried - h).abs() < 1e-12, "{carried} != {h}");
    // The whole learned state (Hedge's weights and price, not only the headroom) carried.
    assert_eq!(b.snapshot("b").headroom, snap.headroom);
    assert!(matches!(snap.headroom, Some(HeadroomState::Hedge { .. })));
}

#[test]
fn bad_snapshots_are_refused_and_change_nothing() {
    let a = learned("web", 60);
    let good = a.snapshot("instance-a");
    let mut b = Controller::new(spec("web", "predictive")).unwrap();
    let fresh = b.learned_headroom(0);

    let e = ControllerSnapshot::decode("web", b"{\"version\":1,\"workload\":").unwrap_err();
    assert!(matches!(e, SnapshotError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("snapshot of web"), "{e}");
    let e = ControllerSnapshot::decode("web", b"\xff\x00garbage").unwrap_err();
    assert!(matches!(e, SnapshotError::Corrupt { .. }), "{e}");

    let mut newer = serde_json::to_value(&good).unwrap();
    newer["version"] = (SNAPSHOT_VERSION + 1).into();
    newer["headroom"] = "a field this build does not know".into();
    let e = ControllerSnapshot::decode("web", newer.to_string().as_bytes()).unwrap_err();
    assert!(
        matches!(e, SnapshotError::NewerVersion { found, supported, .. } if found == SNAPSHOT_VERSION + 1 && supported == SNAPSHOT_VERSION),
        "{e}"
    );

    let e = ControllerSnapshot::decode("api", &good.encode()).unwrap_err();
    assert!(matches!(e, SnapshotError::OtherWorkload { .. }), "{e}");

    let mut hpa = Controller::new(spec("web", "hpa")).unwrap();
    let e = hpa.restore(&good).unwrap_err();
    assert!(matches!(e, SnapshotError::OtherPolicy { .. }), "{e}");

    let mut wild = good.clone();
    if let Some(HeadroomState::Hedge { lambda, .. }) = wild.headroom.as_mut() {
        *lambda = 1e9;
    }
    let e = b.restore(&wild).unwrap_err();
    assert!(matches!(e, SnapshotError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("lambda"), "{e}");
    let mut short = good.clone();
    if let Some(HeadroomState::Hedge { log_weights, .. }) = short.headroom.as_mut() {
        log_weights.pop();
    }
    let e = b.restore(&short).unwrap_err();
    assert!(e.to_string().contains("log_weights"), "{e}");
    assert_eq!(b.learned_headroom(0), fresh);
}

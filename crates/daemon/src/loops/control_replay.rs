//! The live control loop and the replay make the same decisions: one trace is fed through the
//! daemon's control pass (store window loading, slot, dry-run actuator behind the kill switch and
//! retries, decisions saved) at injected times, and through `prescale_replay::simulate`.

use super::control::{make_slot, pass, Io, PassContext, Slots};
use crate::controls::Controls;
use crate::insight::Insight;
use prescale_actuate::{DesiredState, DryRun, RetryConfig};
use prescale_control::{DecisionRecord, Mode};
use prescale_core::{Labels, Point, Sample, SeriesKey, Timestamp};
use prescale_policy::PolicyKind;
use prescale_replay::{simulate, SimConfig};
use prescale_store::Store;
use std::sync::{Arc, Mutex};

/// Ten days of a daily cycle (24 five-minute steps a "day" keeps the test short), a level shift
/// and two spikes the feedback keeps out of training.
fn trace() -> Vec<f64> {
    (0..240)
        .map(|t| {
            let phase = (t % 24) as f64 / 24.0 * std::f64::consts::TAU;
            let noise = ((t * 7919) % 13) as f64 / 13.0 - 0.5;
            let level = if t >= 150 { 70.0 } else { 50.0 };
            let spike = if t == 100 || t == 190 { 120.0 } else { 0.0 };
            level + 25.0 * phase.sin() + 3.0 * noise + spike
        })
        .collect()
}

fn config() -> SimConfig {
    SimConfig {
        capacity_per_replica: Some(10.0),
        delay_steps: 2,
        min: 1,
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

/// What a decision decided, without the fields that only live telemetry fills (freshness,
/// sample counts, the actuator's outcome).
fn decided(r: &DecisionRecord) -> (Option<u32>, Option<u32>, serde_json::Value, String) {
    let forecast = r
        .forecast
        .as_ref()
        .map(|f| format!("{:.9} {:.9} {:.9}", f.point, f.lower, f.upper))
        .unwrap_or_default();
    let model = r.model.clone().unwrap_or_default();
    (
        r.replicas_before,
        r.replicas_after,
        r.reason_json.clone(),
        format!("{forecast} | {model} | {}", r.feedback.join("; ")),
    )
}

fn live_decisions(kind: &PolicyKind, demand: &[f64], cfg: &SimConfig) -> Vec<DecisionRecord> {
    let c = cfg.capacity_per_replica.unwrap();
    let spec = cfg.workload_spec(c, kind).unwrap();
    assert_eq!(
        spec.rolling(),
        prescale_forecast::RollingConfig {
            lead: spec.decision_lead_steps(),
            ..cfg.rolling()
        },
        "the replay's forecaster settings are the live ones"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("equivalence.db");
    let key = SeriesKey::new(spec.workload.clone(), spec.metric.clone());
    let step_ms = cfg.step_ms();
    let points: Vec<Point> = demand
        .iter()
        .enumerate()
        .map(|(t, &v)| Point {
            key: key.clone(),
            labels: Labels::new(),
            sample: Sample {
                ts: Timestamp(t as i64 * step_ms),
                value: v,
            },
        })
        .collect();
    Store::open(&db).unwrap().append_points(&points).unwrap();
    // The replay starts every lane from the oracle's first count; so does the dry run's state.
    let initial = prescale_replay::simulate(demand, &[PolicyKind::Oracle], cfg)
        .unwrap()
        .oracle_requested[0];
    let mut state = DesiredState::unchanged(spec.workload.clone());
    state.replicas = Some(initial);
    let controls = Controls::new(Mode::Act);
    let slot = make_slot(
        spec.clone(),
        Some(Mode::Act),
        Box::new(DryRun::new(10).with_state(state)),
        &RetryConfig::default(),
        None,
        &controls,
    )
    .unwrap();
    let ctx = PassContext {
        io: Arc::new(Mutex::new(Io {
            windows: Box::new(Store::open(&db).unwrap()),
            decisions: Store::open(&db).unwrap(),
        })),
        desired: Default::default(),
        insight: Insight::default(),
        controls,
        cluster: None,
    };
    let mut slots = Slots(vec![slot]);
    let (mut scalers, mut observe) = (None, None);
    for t in 0..demand.len() {
        // Each pass at the end of step t, as the replay ticks.
        let now = Timestamp((t as i64 + 1) * step_ms);
        pass(
            &ctx,
            &mut slots,
            (&mut scalers, &mut observe),
            Mode::Act,
            now,
        );
    }
    let io = ctx.io.lock().unwrap();
    let mut rows = io
        .decisions
        .decisions(10_000, Some(&spec.workload))
        .unwrap();
    rows.reverse();
    rows.iter()
        .map(|(_, r)| serde_json::from_str(&r.record_json).unwrap())
        .collect()
}

fn assert_equivalent(kind: PolicyKind) {
    let demand = trace();
    let cfg = config();
    let live = live_decisions(&kind, &demand, &cfg);
    let replay = simulate(
        &demand,
        std::slice::from_ref(&kind),
        &SimConfig {
            keep_records: true,
            ..cfg.clone()
        },
    )
    .unwrap();
    let run = &replay.policies[0];
    assert_eq!(live.len(), demand.len(), "one live decision per step");
    // The live loop's requests are the replay's, step by step.
    let live_after: Vec<u32> = live.iter().map(|r| r.replicas_after.unwrap()).collect();
    assert_eq!(live_after, run.trace.requested, "{}", kind.label());
    // And so are the explained decisions: reason, forecast at the lead, model and feedback notes.
    assert_eq!(run.records.len(), demand.len());
    for (t, (l, r)) in live.iter().zip(&run.records).enumerate() {
        assert_eq!(decided(l), decided(r), "{} step {t}", kind.label());
    }
    // The trace exercised what the live step adds: forecasts, anomalous steps noticed,
    // changes of the request.
    assert!(live.iter().filter(|r| r.forecast.is_some()).count() > 150);
    assert!(
        live.iter()
            .any(|r| r.feedback.iter().any(|n| n.contains("anomalous"))),
        "no anomalous step was noticed"
    );
    assert!(run.metrics.actions > 10, "{:?}", run.metrics);
}

#[test]
fn the_live_loop_and_the_replay_decide_alike_under_the_predictive_policy() {
    assert_equivalent("predictive".parse().unwrap());
}

#[test]
fn the_live_loop_and_the_replay_decide_alike_under_the_threshold_policy() {
    assert_equivalent("threshold".parse().unwrap());
}

//! Controller behaviour end to end (window → decision record → actuator): acting ahead of a
//! repeating step, holding on stale data, and the forecast-only / act split.

use prescale_actuate::{
    ActuateError, ActuationRequest, Actuator, Applied, Backoff, BreakerConfig, DesiredState,
    Retrying,
};
use prescale_control::{actuate, Actuation, Controller, Mode, WorkloadSpec};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use std::time::Duration;

const STEP_MS: i64 = 60_000;
const PERIOD: i64 = 24;
const HIGH_FROM: i64 = 16;

fn spec(policy: &str) -> WorkloadSpec {
    let mut s = WorkloadSpec::new(
        WorkloadId::new("web").unwrap(),
        MetricName::new("rps").unwrap(),
        10.0,
    );
    s.policy = policy.parse().unwrap();
    s.step = Duration::from_millis(STEP_MS as u64);
    s.lead = Duration::from_secs(120);
    s.season = Some(Duration::from_millis((PERIOD * STEP_MS) as u64));
    s.min = 1;
    s.max = 20;
    s
}

/// Demand at step k: 20 for 16 steps, then 80 for 8 steps, with a small deterministic wiggle.
fn demand(k: i64) -> f64 {
    let base = if k.rem_euclid(PERIOD) >= HIGH_FROM {
        80.0
    } else {
        20.0
    };
    base + ((k * 7919) % 13) as f64 * 0.1
}

/// Four samples per step (every 15 s) for steps `0..steps`.
fn samples(steps: i64) -> Vec<Sample> {
    (0..steps)
        .flat_map(|k| {
            (0..4).map(move |i| Sample {
                ts: Timestamp(k * STEP_MS + i * 15_000),
                value: demand(k),
            })
        })
        .collect()
}

/// Ticks once a step after `warm` seeded steps; returns (tick time, replicas after) per tick.
fn run(policy: &str, warm: i64, steps: i64) -> Vec<(i64, u32)> {
    let mut c = Controller::new(spec(policy)).unwrap();
    let all = samples(warm + steps);
    let mut current = None;
    let mut out = Vec::new();
    for k in warm..warm + steps {
        // Tick 1 s after step k-1 completed: samples up to (not including) step k.
        let now = k * STEP_MS + 1_000;
        let window: Vec<Sample> = all
            .iter()
            .filter(|s| s.ts.0 < k * STEP_MS)
            .copied()
            .collect();
        let r = c.tick(&window, Timestamp(now), current);
        let after = r.replicas_after.unwrap();
        assert!((1..=20).contains(&after));
        current = Some(after);
        out.push((now, after));
    }
    out
}

#[test]
fn scales_up_before_a_repeating_step_at_least_lead_earlier_than_hpa() {
    let warm = 20 * PERIOD;
    // Start mid low phase of the next period and run through its high phase.
    let start = warm + 6;
    let predictive = run("predictive", start, 14);
    let hpa = run("hpa", start, 14);
    // A scale-up: the first tick above the highest count of the low phase's first four ticks.
    let first = |trace: &[(i64, u32)]| {
        let low = trace[..4].iter().map(|(_, r)| *r).max().unwrap_or(0);
        trace.iter().find(|(_, r)| *r > low + 2).copied()
    };
    let (p_at, _) = first(&predictive).expect("predictive scaled up");
    let (h_at, _) = first(&hpa).expect("hpa scaled up");
    // In the low phase the predictive policy ran below the high need of 9 (it did scale in).
    assert!(
        predictive[..4].iter().all(|(_, r)| *r < 9),
        "{predictive:?}"
    );
    let step_at = (warm + HIGH_FROM) * STEP_MS;
    // Ticks run 1 s after each step completes: the decision uses data up to `p_at - 1 s`.
    assert!(
        p_at - 1_000 + 120_000 <= step_at,
        "predictive scaled at {p_at}, the step is at {step_at}: {predictive:?}"
    );
    assert!(
        p_at + 120_000 <= h_at,
        "predictive at {p_at}, hpa at {h_at}: {predictive:?} / {hpa:?}"
    );
}

#[test]
fn stale_or_missing_telemetry_holds_and_never_scales_in() {
    let mut c = Controller::new(spec("predictive")).unwrap();
    let window = samples(60);
    let last = window.last().unwrap().ts.0;
    let fresh = c.tick(&window, Timestamp(60 * STEP_MS + 1_000), Some(12));
    assert!(fresh.replicas_after.unwrap() < 12, "{fresh:#?}");
    // Ten minutes later with no new samples: hold at the current count, say why.
    let r = c.tick(&window, Timestamp(last + 600_000), Some(12));
    assert_eq!(r.replicas_after, Some(12));
    assert_eq!(r.replicas_before, Some(12));
    assert!(
        r.reason
            .starts_with("stale telemetry (last sample 600 s ago"),
        "{}",
        r.reason
    );
    assert_eq!(r.reason_json["rule"], "stale-telemetry");
    assert_eq!(r.inputs.freshness_s, Some(600.0));
    // No samples at all: hold as well; with nothing known there is nothing to set.
    let r = c.tick(&[], Timestamp(last + 600_000), Some(12));
    assert_eq!(r.replicas_after, Some(12));
    assert_eq!(r.reason_json["rule"], "no-telemetry");
    let mut cold = Controller::new(spec("predictive")).unwrap();
    let r = cold.tick(&[], Timestamp(0), None);
    assert_eq!(r.replicas_after, None);
    assert!(r.reason.starts_with("stale telemetry"));
}

#[test]
fn ticks_inside_a_step_wait_for_it() {
    let mut c = Controller::new(spec("predictive")).unwrap();
    let window = samples(60);
    let a = c.tick(&window, Timestamp(60 * STEP_MS + 1_000), None);
    assert!(a.replicas_after.is_some());
    let b = c.tick(&window, Timestamp(60 * STEP_MS + 16_000), a.replicas_after);
    assert_eq!(b.reason_json["rule"], "waiting-for-step");
    assert_eq!(b.replicas_after, a.replicas_after);
}

/// Counts calls; fails with a server error when `fail` is set.
struct Counting {
    calls: usize,
    fail: bool,
}

impl Actuator for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        self.calls += 1;
        if self.fail {
            return Err(ActuateError::ServerError {
                target: "test".into(),
                status: 503,
                body: "busy".into(),
            });
        }
        Ok(Applied {
            changed: true,
            detail: format!("set {:?}", req.desired.replicas),
        })
    }
    fn current(&mut self, _: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        Ok(None)
    }
}

fn decisions(mode: Mode, actuator: &mut dyn Actuator) -> Vec<Actuation> {
    let mut s = spec("hpa");
    s.mode = mode;
    let mut c = Controller::new(s).unwrap();
    let all = samples(40);
    let mut out = Vec::new();
    for k in 10..40 {
        let window: Vec<Sample> = all
            .iter()
            .filter(|s| s.ts.0 < k * STEP_MS)
            .copied()
            .collect();
        let mut r = c.tick(&window, Timestamp(k * STEP_MS + 1_000), None);
        assert_eq!(r.mode, mode);
        actuate(&mut r, actuator);
        out.push(r.actuation.unwrap());
    }
    out
}

#[test]
fn forecast_only_never_calls_the_actuator() {
    let mut a = Counting {
        calls: 0,
        fail: false,
    };
    let outcomes = decisions(Mode::ForecastOnly, &mut a);
    assert_eq!(a.calls, 0);
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Actuation::Skipped { why } if why == "forecast-only mode")));
}

#[test]
fn act_calls_the_actuator_and_records_errors() {
    let mut ok = Counting {
        calls: 0,
        fail: false,
    };
    let outcomes = decisions(Mode::Act, &mut ok);
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, Actuation::Applied { changed: true, .. }))
        .count();
    assert!(applied >= 2, "{outcomes:?}");
    assert_eq!(ok.calls, applied);

    let mut bad = Counting {
        calls: 0,
        fail: true,
    };
    let outcomes = decisions(Mode::Act, &mut bad);
    assert!(bad.calls >= 1);
    assert!(outcomes.iter().any(|o| matches!(
        o,
        Actuation::Failed { error, retryable: true, .. } if error.contains("HTTP 503")
    )));

    // Behind the retrying wrapper the breaker opens and the record says so.
    let mut wrapped = Retrying::new(
        Counting {
            calls: 0,
            fail: true,
        },
        Backoff {
            base: Duration::ZERO,
            max: Duration::ZERO,
            max_attempts: 1,
        },
        BreakerConfig {
            failure_threshold: 1,
            open_for: Duration::from_secs(3600),
        },
    );
    let outcomes = decisions(Mode::Act, &mut wrapped);
    assert!(matches!(outcomes[0], Actuation::Failed { .. }));
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Actuation::CircuitOpen { .. })));
    assert_eq!(wrapped.inner().calls, 1);
}

#[test]
fn records_round_trip_as_json() {
    let mut c = Controller::new(spec("predictive")).unwrap();
    let r = c.tick(&samples(100), Timestamp(100 * STEP_MS + 1_000), Some(3));
    let text = serde_json::to_string(&r).unwrap();
    let back: prescale_control::DecisionRecord = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
    assert!(text.contains("\"mode\":\"forecast-only\""));
}

/// CPU use of the demand at step k: 0.2 cores of base plus 0.01 per unit, with a wiggle.
fn cpu_use(k: i64) -> f64 {
    0.2 + 0.01 * demand(k) + ((k * 31) % 7) as f64 * 0.002
}

#[test]
fn sizes_cpu_per_replica_ahead_of_a_repeating_step_and_sends_it_in_act_mode() {
    use prescale_actuate::{DryRun, Resources};
    use prescale_control::{Current, ResourceKind, ResourceSpec, ResourceTarget, Usage};
    // Vertical only: two replicas, CPU per replica sized from the forecast.
    let mut s = spec("predictive");
    s.min = 2;
    s.max = 2;
    s.mode = Mode::Act;
    s.resources = Some(ResourceSpec {
        cpu: Some(ResourceTarget::new(
            MetricName::new("cpu_cores").unwrap(),
            0.05,
            8.0,
        )),
        headroom: 0.1,
        ..ResourceSpec::default()
    });
    let mut c = Controller::new(s).unwrap();
    assert_eq!(c.usage_keys()[0].1.metric.as_str(), "cpu_cores");
    let warm = 20 * PERIOD;
    let demand_all = samples(warm + PERIOD);
    let cpu_all: Vec<Sample> = (0..warm + PERIOD)
        .map(|k| Sample {
            ts: Timestamp(k * STEP_MS + 30_000),
            value: cpu_use(k),
        })
        .collect();
    let mut dry = DryRun::new(100);
    let mut requests = Vec::new();
    let mut current = Current::default();
    for k in warm..warm + PERIOD {
        let cut = |v: &[Sample]| -> Vec<Sample> {
            v.iter().filter(|s| s.ts.0 < k * STEP_MS).copied().collect()
        };
        let (d, u) = (cut(&demand_all), cut(&cpu_all));
        let usage = [Usage {
            kind: ResourceKind::Cpu,
            window: &u,
        }];
        let mut r = c.tick_full(&d, &usage, Timestamp(k * STEP_MS + 1_000), &current);
        let cpu = r.resources.as_ref().unwrap().cpu.clone().unwrap();
        let after = cpu.after.unwrap();
        assert!((0.05..=8.0).contains(&after), "{cpu:?}");
        actuate(&mut r, &mut dry);
        if r.is_resize() {
            assert!(
                matches!(r.actuation, Some(Actuation::Applied { .. })),
                "{:?}",
                r.actuation
            );
        }
        current = Current {
            replicas: r.replicas_after,
            resources: Some(Resources {
                cpu_millis: Some((after * 1000.0).round() as u64),
                memory_bytes: None,
            }),
            instance_type: None,
            ready: None,
        };
        requests.push((k, after, cpu));
    }
    // The high phase needs (0.2 + 0.8) / 2 = 0.5 cores per replica. The request covers it by the
    // tick one lead (2 steps) before the phase starts, while low-phase requests stay below it.
    let need_high = (0.2 + 0.01 * 81.3) / 2.0;
    let at = |k: i64| requests.iter().find(|(i, ..)| *i == k).unwrap();
    let (_, before_step, why) = at(warm + HIGH_FROM - 2);
    assert!(
        *before_step >= need_high,
        "request {before_step} < {need_high} before the step: {why:?}"
    );
    assert!(why.model.as_ref().unwrap().per_unit > 0.005, "{why:?}");
    // Late in the low phase, past the 10 min stabilization after the previous high phase.
    let (_, low, _) = at(warm + 12);
    let trace: Vec<(i64, f64)> = requests.iter().map(|(k, a, _)| (k - warm, *a)).collect();
    assert!(*low < need_high, "low-phase request {low}: {trace:?}");
    // The dry-run actuator was handed the CPU requests (as millicores).
    let sent: Vec<u64> = dry
        .records()
        .filter_map(|r| r.request.desired.resources.as_ref()?.cpu_millis)
        .collect();
    assert!(sent.len() >= 2, "{sent:?}");
    assert!(sent.iter().any(|m| *m as f64 >= need_high * 1000.0));
    // Demand goes on but the use series stops: after `stale_after` the request is held.
    let k = warm + PERIOD + 10;
    let stale = c.tick_full(&samples(k), &[], Timestamp(k * STEP_MS + 1_000), &current);
    assert!(stale.replicas_after.is_some());
    let cpu = stale.resources.unwrap().cpu.unwrap();
    assert_eq!(cpu.after, cpu.before);
    assert!(cpu.reason.starts_with("hold"), "{}", cpu.reason);
}

//! SLO in the workload's own terms: a latency series is estimated under each policy's replicas
//! from the response curve the history shows, a backlog is simulated from unserved demand, and bad
//! or missing history is a clear error.

use prescale_control::{SloKind, SloObjective};
use prescale_core::{MetricName, Sample, Timestamp};
use prescale_replay::slo::{estimate, SloError, SloHistory};
use prescale_replay::{replay_history, PolicyKind, SimConfig};

const STEP_MS: i64 = 300_000;
const CAPACITY: f64 = 10.0;

/// A daily-like wave with a surge every 48 steps.
fn demand() -> Vec<f64> {
    (0..240)
        .map(|t| {
            let phase = (t % 48) as f64 / 48.0 * std::f64::consts::TAU;
            60.0 + 40.0 * phase.sin()
        })
        .collect()
}

fn samples(values: &[f64]) -> Vec<Sample> {
    values
        .iter()
        .enumerate()
        .map(|(t, &value)| Sample {
            ts: Timestamp(t as i64 * STEP_MS),
            value,
        })
        .collect()
}

/// The workload's true latency at a load per replica: flat to 8, then steeply rising.
fn latency(load_per_replica: f64) -> f64 {
    0.1 + 0.05 * (load_per_replica - 8.0).max(0.0)
}

fn replay(policies: &[&str]) -> prescale_replay::SimResult {
    let cfg = SimConfig {
        capacity_per_replica: Some(CAPACITY),
        delay_steps: 2,
        max: 40,
        forecast: prescale_forecast::RollingConfig {
            season: Some(48),
            min_history: 48,
            history_window: 2016,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let kinds: Vec<PolicyKind> = policies.iter().map(|p| p.parse().unwrap()).collect();
    let spec = cfg.workload_spec(CAPACITY, &kinds[0]).unwrap();
    replay_history(&samples(&demand()), spec, &kinds[1..], (None, None), false).unwrap()
}

fn objective(kind: SloKind, max: f64) -> SloObjective {
    SloObjective {
        metric: MetricName::new("latency_p99_seconds").unwrap(),
        max,
        kind,
        replicas_metric: None,
    }
}

#[test]
fn latency_under_each_policy_follows_the_response_curve_of_the_history() {
    let d = demand();
    // As it happened: a fixed 7 replicas, too few at the peaks (load per replica up to ~14).
    let history = SloHistory {
        values: samples(&d.iter().map(|&x| latency(x / 7.0)).collect::<Vec<_>>()),
        replicas: samples(&[7.0]),
    };
    let result = replay(&["predictive", "oracle", "hpa@1.0"]);
    let report = estimate(&result, &objective(SloKind::Latency, 0.2), &history).unwrap();
    assert_eq!(report.fitted_pairs, d.len());
    assert!(
        report.observed.violation_pct > 20.0,
        "{:?}",
        report.observed
    );
    let by = |name: &str| {
        &report
            .policies
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .figures
    };
    let oracle = by("oracle");
    // The oracle keeps load per replica at or under the capacity of 10: latency ≤ 0.2.
    assert!(oracle.violation_pct < 2.0, "{oracle:?}");
    assert!(oracle.violation_pct < report.observed.violation_pct);
    // The predictive policy provisions ahead of the wave: far fewer slow steps than history.
    let predictive = by("predictive");
    assert!(
        predictive.violation_pct < report.observed.violation_pct / 2.0,
        "{predictive:?} vs {:?}",
        report.observed
    );
    for p in &report.policies {
        let (name, f) = (&p.name, &p.figures);
        assert!(f.p95 >= 0.1 - 1e-9 && f.worst.is_finite(), "{name}: {f:?}");
    }
}

#[test]
fn a_backlog_grows_by_unserved_demand_and_drains_with_spare_capacity() {
    let result = replay(&["predictive", "oracle", "hpa@1.0"]);
    let history = SloHistory {
        values: samples(&[0.0]),
        replicas: vec![],
    };
    let report = estimate(&result, &objective(SloKind::Queue, 100.0), &history).unwrap();
    let oracle = &report.policies[1].figures;
    // The oracle serves every step once its first replicas are ready (the replay starts at min).
    assert!(oracle.violation_pct <= 2.0, "{oracle:?}");
    assert!(oracle.violation_pct < report.policies[2].figures.violation_pct);
    // Recompute the static policy's backlog by hand from its trace.
    let stat = &result.policies[2];
    let mut b: f64 = 0.0;
    let mut worst: f64 = 0.0;
    for t in 0..result.steps {
        b = (b + (result.demand[t] - f64::from(stat.trace.ready[t]) * CAPACITY) * 300.0).max(0.0);
        worst = worst.max(b);
    }
    assert_eq!(report.policies[2].figures.worst, worst);
    assert!(
        worst > 100.0,
        "a static plan leaves a backlog at the peaks: {worst}"
    );
}

#[test]
fn too_little_or_bad_history_is_a_clear_error() {
    let result = replay(&["predictive"]);
    let few = SloHistory {
        values: samples(&[0.1; 5]),
        replicas: samples(&[3.0]),
    };
    let err = estimate(&result, &objective(SloKind::Latency, 0.2), &few).unwrap_err();
    assert_eq!(
        err,
        SloError::TooLittleHistory {
            metric: "latency_p99_seconds".into(),
            pairs: 5
        }
    );
    assert!(err.to_string().contains("at least 10"), "{err}");
    let no_replicas = SloHistory {
        values: samples(&[0.1; 50]),
        replicas: vec![],
    };
    assert!(matches!(
        estimate(&result, &objective(SloKind::Latency, 0.2), &no_replicas),
        Err(SloError::TooLittleHistory { pairs: 0, .. })
    ));
    let nan = SloHistory {
        values: samples(&[0.1, f64::NAN]),
        replicas: vec![],
    };
    let err = estimate(&result, &objective(SloKind::Queue, 5.0), &nan).unwrap_err();
    assert_eq!(
        err.to_string(),
        "latency_p99_seconds: sample at 300000 is NaN, not a finite value >= 0"
    );
    let empty = SloHistory::default();
    assert!(matches!(
        estimate(&result, &objective(SloKind::Queue, 5.0), &empty),
        Err(SloError::NoSamples { .. })
    ));
}

//! Known-answer and property tests of the feedback loop: ledger bounds, coverage, anomalies and
//! drift on synthetic series.

use prescale_core::{Forecast, Level, Timestamp};
use prescale_feedback::{
    DriftReason, EventChange, EventState, FeedbackConfig, FeedbackError, LedgerConfig,
    WorkloadFeedback,
};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

const STEP_MS: i64 = 300_000;

fn level() -> Level {
    Level::new(90.0).unwrap()
}

/// A one-step forecast `point ± half`.
fn one_step(point: f64, half: f64) -> Forecast {
    Forecast {
        point: vec![point],
        lower: vec![point - half],
        upper: vec![point + half],
        level: level(),
    }
}

fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.gen_range(1e-12..1.0);
    let v: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Drives `fb` with forecasts `predicted[t]` for step t (made at t − 1) and actuals `actual[t]`;
/// returns the observations.
fn drive(
    fb: &mut WorkloadFeedback,
    predicted: &[f64],
    half: f64,
    actual: &[f64],
) -> Vec<prescale_feedback::Observation> {
    let mut out = Vec::new();
    for t in 0..actual.len() {
        if t + 1 < predicted.len() {
            fb.record(
                t as u64,
                Timestamp(t as i64 * STEP_MS),
                "m",
                &one_step(predicted[t + 1], half),
                &[1],
            )
            .unwrap();
        }
        out.push(
            fb.observe(t as u64, Timestamp(t as i64 * STEP_MS), actual[t])
                .unwrap(),
        );
    }
    out
}

fn noisy(n: usize, seed: u64, sigma: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| 100.0 + sigma * normal(&mut rng)).collect()
}

#[test]
fn injected_spike_is_one_event_kept_out_of_training() {
    let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
    let n = 400;
    let predicted = vec![100.0; n + 1];
    let mut actual = noisy(n, 1, 2.0);
    for a in &mut actual[300..303] {
        *a = 160.0;
    }
    let obs = drive(&mut fb, &predicted, 2.0 * 1.645, &actual);
    let flagged: Vec<usize> = (0..n)
        .filter(|&t| obs[t].verdict.as_ref().is_some_and(|v| v.anomalous))
        .collect();
    assert_eq!(flagged, vec![300, 301, 302]);
    assert!((300..303).all(|s| fb.is_excluded(s)));
    assert!(!fb.is_excluded(299) && !fb.is_excluded(303));
    match &obs[300].changes[..] {
        [EventChange::Opened(ev)] => assert_eq!(ev.start_step, 300),
        other => panic!("{other:?}"),
    }
    match &obs[303].changes[..] {
        [EventChange::Closed(ev)] => {
            assert_eq!((ev.start_step, ev.last_step, ev.steps), (300, 302, 3));
            assert_eq!(ev.state, EventState::Closed);
            assert_eq!(ev.peak_actual, 160.0);
            assert_eq!(ev.expected, 100.0);
            assert!(ev.score > 20.0, "score {}", ev.score);
            assert_eq!(ev.started_at, Timestamp(300 * STEP_MS));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fb.anomaly().event_count(), 1);
    // A three-step spike is no drift.
    assert!(obs.iter().all(|o| o.drift.is_none()));
}

#[test]
fn a_spike_inside_a_wide_band_is_not_an_anomaly() {
    let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
    let predicted = vec![100.0; 201];
    let mut actual = noisy(200, 2, 2.0);
    actual[150] = 140.0;
    let obs = drive(&mut fb, &predicted, 50.0, &actual);
    assert!(obs[150]
        .verdict
        .as_ref()
        .is_some_and(|v| v.score > Some(10.0)));
    assert!(obs.iter().all(|o| o.changes.is_empty()));
}

#[test]
fn long_deviations_stop_being_excluded() {
    let cfg = FeedbackConfig::default();
    let mut fb = WorkloadFeedback::new(&cfg).unwrap();
    let predicted = vec![100.0; 301];
    let mut actual = noisy(300, 3, 1.0);
    for a in &mut actual[100..150] {
        *a = 200.0;
    }
    drive(&mut fb, &predicted, 1.645, &actual);
    let excluded = (100..150).filter(|&s| fb.is_excluded(s)).count();
    assert_eq!(excluded, cfg.anomaly.max_excluded_steps);
}

#[test]
fn drift_fires_on_a_level_shift_once_and_rearms_after_reset() {
    let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
    let predicted = vec![100.0; 601];
    let mut actual = noisy(600, 4, 2.0);
    for a in &mut actual[300..] {
        *a += 12.0; // a 6σ shift the forecast does not follow
    }
    let obs = drive(&mut fb, &predicted, 2.0 * 1.645, &actual);
    let fired: Vec<_> = obs.iter().filter_map(|o| o.drift.clone()).collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    let d = &fired[0];
    assert!(
        (300..330).contains(&d.at_step),
        "fired at step {}",
        d.at_step
    );
    // The first steps of the shift are anomalies kept out; drift comes from the rest.
    assert!(matches!(
        d.reason,
        DriftReason::MeanShift { .. } | DriftReason::Coverage { .. }
    ));
    assert!(!fb.drift().armed());
    let status = fb.status();
    assert!(!status.drift_armed && status.drift.is_some());
    fb.refitted();
    assert!(fb.drift().armed());
    // Still unfollowed after the "refit": fires again once the scale is re-learned.
    let more = noisy(200, 5, 2.0);
    let mut again = 0;
    for (i, a) in more.iter().enumerate() {
        let t = 600 + i as u64;
        fb.record(t - 1, Timestamp(0), "m", &one_step(100.0, 3.3), &[1])
            .unwrap();
        if fb
            .observe(t, Timestamp(0), a + 12.0)
            .unwrap()
            .drift
            .is_some()
        {
            again += 1;
        }
    }
    assert_eq!(again, 1);
}

#[test]
fn coverage_drift_when_the_band_is_too_narrow() {
    let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
    let predicted = vec![100.0; 601];
    let actual = noisy(600, 6, 2.0);
    // A band of ±0.5σ covers about 38%, far below 90%.
    let obs = drive(&mut fb, &predicted, 1.0, &actual);
    let fired: Vec<_> = obs.iter().filter_map(|o| o.drift.clone()).collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    match fired[0].reason {
        DriftReason::Coverage {
            observed,
            nominal,
            window,
        } => {
            assert!(observed < 0.7 && (nominal - 0.9).abs() < 1e-12);
            assert_eq!(window, 288);
            assert_eq!(fired[0].at_step, 288);
        }
        ref r => panic!("{r:?}"),
    }
}

#[test]
fn stationary_noise_never_drifts_or_alerts_much() {
    for seed in [10, 11] {
        let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
        let predicted = vec![100.0; 3001];
        let actual = noisy(3000, seed, 2.0);
        let obs = drive(&mut fb, &predicted, 2.0 * 1.645, &actual);
        assert!(obs.iter().all(|o| o.drift.is_none()), "seed {seed}");
        // 4.5σ and outside the band: a normal tail of ~7e-6 per step.
        assert!(fb.anomaly().event_count() <= 1, "seed {seed}");
        let all = &fb.model_stats()[1].all_time;
        assert_eq!(all.count, 2999);
        assert!((all.coverage.unwrap() - 0.9).abs() < 0.02);
        assert!((all.mae.unwrap() - 2.0 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 0.1);
    }
}

#[test]
fn non_finite_actuals_are_refused_without_losing_state() {
    let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
    fb.record(0, Timestamp(0), "m", &one_step(1.0, 0.5), &[1])
        .unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(
            fb.observe(1, Timestamp(0), bad),
            Err(FeedbackError::NonFinite { step: 1, .. })
        ));
    }
    assert_eq!(fb.ledger().pending(), 1);
    assert_eq!(fb.observe(1, Timestamp(0), 1.0).unwrap().outcomes.len(), 1);
}

#[test]
fn invalid_config_is_refused() {
    let cfg = FeedbackConfig {
        ledger: LedgerConfig { max_pending: 0 },
        ..FeedbackConfig::default()
    };
    assert!(matches!(
        WorkloadFeedback::new(&cfg),
        Err(FeedbackError::InvalidConfig {
            field: "ledger.max_pending",
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn coverage_and_smape_stay_in_range(
        steps in prop::collection::vec((0.0f64..1e4, -1e3f64..1e3, 0.0f64..1e3), 1..200)
    ) {
        let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
        for (t, &(actual, err, half)) in steps.iter().enumerate() {
            let t = t as u64 + 1;
            fb.record(t - 1, Timestamp(0), "m", &one_step(actual - err, half), &[1]).unwrap();
            fb.observe(t, Timestamp(0), actual).unwrap();
        }
        for row in fb.model_stats() {
            for s in [&row.all_time, &row.recent] {
                let c = s.coverage.unwrap();
                prop_assert!((0.0..=1.0).contains(&c));
                let sm = s.smape.unwrap();
                prop_assert!((0.0..=2.0).contains(&sm));
                prop_assert!(s.rmse.unwrap() + 1e-9 >= s.mae.unwrap());
            }
        }
    }

    #[test]
    fn ledger_memory_is_bounded(
        max_pending in 1usize..64,
        records in prop::collection::vec((0u64..500, 1usize..30), 1..300),
    ) {
        let cfg = FeedbackConfig {
            ledger: LedgerConfig { max_pending },
            ..FeedbackConfig::default()
        };
        let mut fb = WorkloadFeedback::new(&cfg).unwrap();
        let f = Forecast {
            point: vec![1.0; 30],
            lower: vec![0.0; 30],
            upper: vec![2.0; 30],
            level: level(),
        };
        let horizons: Vec<usize> = (1..=30).collect();
        for (i, &(origin, k)) in records.iter().enumerate() {
            fb.record(origin, Timestamp(0), "m", &f, &horizons[..k]).unwrap();
            prop_assert!(fb.ledger().pending() <= max_pending);
            if i % 3 == 0 {
                fb.observe(origin, Timestamp(0), 1.0).unwrap();
                prop_assert!(fb.ledger().pending() <= max_pending);
            }
        }
    }

    #[test]
    fn perfect_forecasts_never_alert_or_drift(
        demand in prop::collection::vec(0.0f64..1e6, 1..400),
        half in 0.0f64..10.0,
    ) {
        let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
        let mut predicted = demand.clone();
        predicted.push(0.0);
        let obs = drive(&mut fb, &predicted, half, &demand);
        prop_assert!(obs.iter().all(|o| o.changes.is_empty() && o.drift.is_none()));
        prop_assert!(obs.iter().all(|o| o.verdict.as_ref().is_none_or(|v| !v.anomalous)));
    }
}

/// AR(1) residuals (ρ = 0.8) with unit marginal variance around a perfect mean.
fn ar1(n: usize, seed: u64, rho: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let innov = (1.0 - rho * rho).sqrt();
    let mut e = 0.0;
    (0..n)
        .map(|_| {
            e = rho * e + innov * normal(&mut rng);
            e
        })
        .collect()
}

#[test]
fn autocorrelated_noise_does_not_drift_but_a_shift_in_it_does() {
    let half = 1.645; // a calibrated 90% band for unit marginal variance
    for seed in [20, 21] {
        let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
        let predicted = vec![100.0; 6001];
        let actual: Vec<f64> = ar1(6000, seed, 0.8).iter().map(|e| 100.0 + e).collect();
        let obs = drive(&mut fb, &predicted, half, &actual);
        let fired: Vec<_> = obs.iter().filter_map(|o| o.drift.clone()).collect();
        assert!(fired.is_empty(), "seed {seed}: {fired:?}");
    }
    let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
    let predicted = vec![100.0; 1001];
    let actual: Vec<f64> = ar1(1000, 22, 0.8)
        .iter()
        .enumerate()
        .map(|(t, e)| 100.0 + e + if t >= 500 { 3.0 } else { 0.0 })
        .collect();
    let obs = drive(&mut fb, &predicted, half, &actual);
    let fired: Vec<_> = obs.iter().filter_map(|o| o.drift.clone()).collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!((500..600).contains(&fired[0].at_step), "{fired:?}");
}

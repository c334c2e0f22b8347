//! Fingerprints comparable over time: runs reuse the stored basis until a refit is asked for or
//! needed, a workload's history stays within one basis, and the drift report around an annotated
//! release tells a workload that changed from one that did not, naming the features that moved.

use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_fingerprint::Reducer;
use prescale_learn::*;
use prescale_store::{AnnotationRow, Store};
use std::f64::consts::PI;

const START: i64 = 1_767_571_200_000; // 2026-01-05
const STEP: i64 = 300_000; // 5 minutes
const DAY: i64 = 86_400_000;
/// The release of `changed`.
const RELEASE: i64 = START + 4 * DAY;

fn w(s: &str) -> WorkloadId {
    WorkloadId::new(s).unwrap()
}

fn series(workload: &str, metric: &str, days: i64, value: impl Fn(i64, f64) -> f64) -> Series {
    let mut seed = workload.bytes().fold(metric.len() as u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let samples = (0..days * DAY / STEP)
        .map(|i| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            let ts = START + i * STEP;
            Sample {
                ts: Timestamp(ts),
                value: value(ts, noise),
            }
        })
        .collect();
    Series::new(
        SeriesKey::new(w(workload), MetricName::new(metric).unwrap()),
        Labels::new(),
        samples,
    )
    .unwrap()
}

fn daily(ts: i64) -> f64 {
    (2.0 * PI * ((ts - START) % DAY) as f64 / DAY as f64).sin()
}

/// Six days of eight workloads at 5-minute steps: `changed` triples its level and daily swing at
/// `RELEASE`; `control` is its twin that does not; three web-like and three batch-like others;
/// every workload's memory with a level, swing and noise of its own.
fn store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let days = 6;
    let web = |level: f64, amp: f64| move |ts: i64, n: f64| level + amp * daily(ts) + 2.0 * n;
    let mut all = vec![
        series("changed", "cpu", days, |ts, n| {
            let k = if ts > RELEASE { 3.0 } else { 1.0 };
            k * (50.0 + 10.0 * daily(ts)) + 2.0 * n
        }),
        series("control", "cpu", days, web(50.0, 10.0)),
    ];
    for (i, (level, amp)) in [(40.0, 8.0), (70.0, 20.0), (90.0, 12.0)].iter().enumerate() {
        all.push(series(&format!("web-{i}"), "cpu", days, web(*level, *amp)));
    }
    for (i, level) in [5.0, 12.0, 20.0].iter().enumerate() {
        let hourly = move |ts: i64, n: f64| {
            level * (1.0 + 0.5 * (2.0 * PI * (ts % 3_600_000) as f64 / 3_600_000.0).sin())
                + level * 0.3 * n
        };
        all.push(series(&format!("batch-{i}"), "cpu", days, hourly));
    }
    for (i, s) in all.iter().enumerate() {
        // Memory at a level, daily swing and noise of its own.
        let (level, swing, noise) = (20.0 + 15.0 * i as f64, 0.04 * i as f64, 0.3 * i as f64);
        let mem = series(s.key.workload.as_str(), "mem", days, |ts, n| {
            level * (1.0 + swing * daily(ts)) + noise * n
        });
        store.upsert_series(s).unwrap();
        store.upsert_series(&mem).unwrap();
    }
    store
}

fn opts(at: i64) -> FingerprintOptions {
    let hours = |h: i64| prescale_core::Interval::from_secs(h * 3600).unwrap();
    FingerprintOptions {
        at: Some(Timestamp(at)),
        windows: vec![hours(1), hours(24)],
        created: Timestamp(at + 1),
        ..FingerprintOptions::default()
    }
}

fn release(store: &mut Store, workload: Option<&str>, at: i64, tag: &str) -> i64 {
    store
        .save_annotation(&AnnotationRow {
            at: Timestamp(at),
            workload: workload.map(w),
            text: "v2".into(),
            tags: vec!["team-a".into(), tag.into()],
        })
        .unwrap()
}

#[test]
fn runs_reuse_the_basis_until_a_refit() {
    let mut store = store();
    let first = fingerprint_store(&mut store, &opts(RELEASE - DAY)).unwrap();
    assert_eq!(first.basis.refit, Some(RefitReason::NoBasis));
    assert_eq!(first.basis.fitted_at, Some(Timestamp(RELEASE - DAY)));
    // The same data again: the same basis, the same vectors, the same stored model text.
    let again = fingerprint_store(&mut store, &opts(RELEASE - DAY)).unwrap();
    assert_eq!(again.basis.refit, None);
    assert_eq!(again.basis.id, first.basis.id);
    assert_eq!(again.run.vectors, first.run.vectors);
    assert_eq!(again.run.model_json, first.run.model_json);
    assert_eq!(again.run.basis_id(), first.basis.id);
    // Later data: still the basis fitted first, so the vectors are comparable.
    let later = fingerprint_store(&mut store, &opts(RELEASE + DAY)).unwrap();
    assert_eq!(
        (later.basis.id.as_str(), later.basis.refit.as_ref()),
        (first.basis.id.as_str(), None)
    );
    assert_eq!(later.fleet.model, first.fleet.model);
    // A refit on the later data is a new basis; so is a change of settings.
    let refit = fingerprint_store(
        &mut store,
        &FingerprintOptions {
            basis: BasisPolicy {
                refit: true,
                ..BasisPolicy::default()
            },
            ..opts(RELEASE + DAY)
        },
    )
    .unwrap();
    assert_eq!(refit.basis.refit, Some(RefitReason::Requested));
    assert_ne!(refit.basis.id, first.basis.id);
    assert_eq!(refit.basis.fitted_at, Some(Timestamp(RELEASE + DAY)));
    let ae = fingerprint_store(
        &mut store,
        &FingerprintOptions {
            reducer: Reducer::Autoencoder,
            ..opts(RELEASE + DAY)
        },
    )
    .unwrap();
    assert_eq!(ae.basis.refit, Some(RefitReason::SettingsChanged));
    // A basis older than the policy allows is refit.
    let expired = fingerprint_store(
        &mut store,
        &FingerprintOptions {
            reducer: Reducer::Autoencoder,
            basis: BasisPolicy {
                refit: false,
                max_age: prescale_core::Interval::from_secs(3600),
            },
            ..opts(RELEASE + 2 * DAY)
        },
    )
    .unwrap();
    assert!(
        matches!(expired.basis.refit, Some(RefitReason::Expired { age_ms, .. }) if age_ms == DAY),
        "{:?}",
        expired.basis
    );

    // The history of a workload is the current basis' fingerprints only.
    let hist = fingerprint_history(&store, &w("changed"), None).unwrap();
    assert_eq!(hist.basis, expired.basis.id);
    assert_eq!(hist.reducer, Reducer::Autoencoder);
    assert_eq!(hist.points.len(), 1);
    assert_eq!(hist.other_bases, 5);
    let old = fingerprint_history(&store, &w("changed"), Some(&first.basis.id)).unwrap();
    let ats: Vec<i64> = old.points.iter().map(|p| p.at.0).collect();
    assert_eq!(ats, [RELEASE - DAY, RELEASE - DAY, RELEASE + DAY]);
    assert_eq!(old.points[0].moved, None);
    assert_eq!(old.points[1].moved, Some(0.0));
    assert!(old.points[2].moved.unwrap() > 0.0);
    assert!(matches!(
        fingerprint_history(&store, &w("changed"), Some("0123456789abcdef")),
        Err(LearnError::UnknownBasis { .. })
    ));
    assert!(matches!(
        fingerprint_history(&store, &w("ghost"), None),
        Err(LearnError::UnknownWorkload { .. })
    ));
}

#[test]
fn drift_around_a_release_sets_the_changed_workload_apart() {
    let mut store = store();
    for at in [RELEASE - DAY, RELEASE, RELEASE + DAY] {
        fingerprint_store(&mut store, &opts(at)).unwrap();
    }
    release(&mut store, Some("changed"), RELEASE, "Release");
    let changed = drift_report(&store, &w("changed"), &DriftOptions::default()).unwrap();
    let release = changed.release.as_ref().unwrap();
    assert_eq!(
        (release.at, release.workload.as_ref()),
        (Timestamp(RELEASE), Some(&w("changed")))
    );
    assert_eq!(
        (changed.before.at.0, changed.after.at.0),
        (RELEASE, RELEASE + DAY)
    );
    assert_eq!(changed.after_window_share, Some(1.0));
    let control = drift_report(
        &store,
        &w("control"),
        &DriftOptions {
            at: Some(Timestamp(RELEASE)),
            ..DriftOptions::default()
        },
    )
    .unwrap();
    assert!(control.release.is_none());
    println!(
        "changed: distance {:.3}, fleet {:?}, previous {:?}\ncontrol: distance {:.3}, fleet {:?}, previous {:?}",
        changed.distance, changed.fleet, changed.previous, control.distance, control.fleet, control.previous
    );
    // Measured: 6.38 against 0.88; 11.0 and 1.5 times the fleet's median; 15.0 and 2.1 times their
    // own movement over the day before.
    assert!(
        changed.distance > 5.0 * control.distance,
        "changed {} vs control {}",
        changed.distance,
        control.distance
    );
    // Against the fleet between the same two runs: it moved more than every other workload.
    let fleet = changed.fleet.as_ref().unwrap();
    assert_eq!(fleet.workloads, 7);
    assert_eq!(fleet.rank, 1.0);
    assert!(fleet.relative.unwrap() > 5.0, "{fleet:?}");
    assert!(
        control.fleet.as_ref().unwrap().relative.unwrap() < 3.0,
        "{control:?}"
    );
    // Against its own day before the release.
    let previous = changed.previous.as_ref().unwrap();
    assert_eq!(previous.at.0, RELEASE - DAY);
    assert!(previous.relative.unwrap() > 5.0, "{previous:?}");
    assert!(control.previous.as_ref().unwrap().relative.unwrap() < 3.0);
    // The features that moved: its cpu level and spread, tripled.
    assert_eq!(changed.features.len(), DEFAULT_TOP);
    for f in &changed.features {
        let stat = f.feature.rsplit('.').next().unwrap();
        assert!(f.feature.starts_with("cpu.w"), "{f:?}");
        assert!(
            ["mean", "std", "min", "max", "p50", "p90", "p99"].contains(&stat),
            "{f:?}"
        );
        assert!(f.scaled_change > 0.0, "{f:?}");
        let (b, a) = (f.before.unwrap(), f.after.unwrap());
        assert!(a > 2.0 * b, "{f:?}");
    }
    let mean = changed
        .features
        .iter()
        .find(|f| f.feature == "cpu.w288.mean")
        .map(|f| (f.before.unwrap(), f.after.unwrap()));
    if let Some((b, a)) = mean {
        assert!(
            (b - 50.0).abs() < 1.0 && (a - 150.0).abs() < 1.0,
            "{b} → {a}"
        );
    }
    // The report is JSON for the API.
    let json = serde_json::to_value(&changed).unwrap();
    assert_eq!(json["before"]["run"], changed.before.run);
    assert_eq!(json["release"]["tags"][1], "Release");
}

#[test]
fn drift_without_what_it_needs_says_what_is_missing() {
    let mut store = store();
    let changed = w("changed");
    assert!(matches!(
        drift_report(&store, &w("ghost"), &DriftOptions::default()),
        Err(LearnError::UnknownWorkload { .. })
    ));
    // No release annotation: a fleet-wide note that is not a release does not count.
    release(&mut store, None, RELEASE, "sale");
    let err = drift_report(&store, &changed, &DriftOptions::default()).unwrap_err();
    assert!(matches!(err, LearnError::NoRelease { .. }), "{err}");
    assert!(
        err.to_string().contains("tagged release or deploy"),
        "{err}"
    );
    // A fleet-wide deploy counts, but nothing is fingerprinted yet.
    release(&mut store, None, RELEASE, "deploy");
    assert!(matches!(
        drift_report(&store, &changed, &DriftOptions::default()),
        Err(LearnError::NoFingerprints)
    ));
    fingerprint_store(&mut store, &opts(RELEASE + DAY)).unwrap();
    // The only fingerprint is after the release: none before it to compare with.
    let err = drift_report(&store, &changed, &DriftOptions::default()).unwrap_err();
    assert!(matches!(err, LearnError::NoRunBefore { .. }), "{err}");
    assert!(
        err.to_string().contains("prescale fingerprint --at"),
        "{err}"
    );
    // One fingerprinted before it, in the same basis: now it compares.
    fingerprint_store(&mut store, &opts(RELEASE - DAY)).unwrap();
    let report = drift_report(&store, &changed, &DriftOptions::default()).unwrap();
    assert_eq!(report.before.at.0, RELEASE - DAY);
    assert_eq!(report.release.unwrap().workload, None);
    // Nothing after a later time.
    let late = DriftOptions {
        at: Some(Timestamp(RELEASE + DAY)),
        ..DriftOptions::default()
    };
    assert!(matches!(
        drift_report(&store, &changed, &late),
        Err(LearnError::NoRunAfter { .. })
    ));
    // A refit starts a new basis: the older fingerprints are not compared across it.
    fingerprint_store(
        &mut store,
        &FingerprintOptions {
            basis: BasisPolicy {
                refit: true,
                ..BasisPolicy::default()
            },
            ..opts(RELEASE + DAY + DAY / 2)
        },
    )
    .unwrap();
    assert!(matches!(
        drift_report(&store, &changed, &DriftOptions::default()),
        Err(LearnError::NoRunBefore { .. })
    ));
    let none = DriftOptions {
        top: 0,
        ..DriftOptions::default()
    };
    assert!(matches!(
        drift_report(&store, &changed, &none),
        Err(LearnError::Invalid { .. })
    ));
}

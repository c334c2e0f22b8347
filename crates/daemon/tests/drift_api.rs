//! `GET /api/v1/workloads/{id}/drift` on a daemon whose store holds a synthetic fleet fingerprinted
//! three times in one basis and a release annotation: the report, and the answer for every input it
//! cannot use (unknown workload 404, no release 422, no fingerprint before or after 409, bad query
//! 400).

mod common;

use common::*;
use prescale_core::{Interval, Timestamp, WorkloadId};
use prescale_daemon::{Daemon, DaemonConfig};
use prescale_learn::{fingerprint_store, FingerprintOptions};
use prescale_store::{AnnotationRow, Store};
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};
use serde_json::Value;

/// Monday 2026-01-05 00:00 UTC.
const START: i64 = 1_767_571_200_000;
const DAY: i64 = 86_400_000;
/// The release of web-daily-1.
const RELEASE: i64 = START + 2 * DAY;

/// Three days of six synthetic workloads, fingerprinted as of day 1, day 2 and the end (one basis,
/// fitted by the first run), and a release of web-daily-1 at day 2.
fn prefill(db: &std::path::Path) -> Vec<i64> {
    let fleet = demo_fleet(&DemoConfig {
        workloads: 6,
        days: 3,
        interval: Interval::from_secs(300).unwrap(),
        start: Timestamp(START),
        seed: 5,
    })
    .unwrap();
    let mut store = Store::open(db).unwrap();
    for s in &fleet {
        store.upsert_series(s).unwrap();
    }
    let hours = |h: i64| Interval::from_secs(h * 3600).unwrap();
    let mut runs = Vec::new();
    for at in [Some(START + DAY), Some(RELEASE), None] {
        let r = fingerprint_store(
            &mut store,
            &FingerprintOptions {
                at: at.map(Timestamp),
                windows: vec![hours(1), hours(6)],
                ..FingerprintOptions::default()
            },
        )
        .unwrap();
        runs.push(r.run_id);
    }
    store
        .save_annotation(&AnnotationRow {
            at: Timestamp(RELEASE),
            workload: Some(WorkloadId::new("web-daily-1").unwrap()),
            text: "web 2.0".into(),
            tags: vec!["release".into()],
        })
        .unwrap();
    runs
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_report_and_its_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prescale.db");
    let runs = prefill(&db);
    // The learn loop is off: the runs above are the only ones.
    let cfg = DaemonConfig::from_toml(&format!(
        "listen = \"127.0.0.1:0\"\ndb = {:?}\n[agent]\nenabled = false\n[learn]\nenabled = false\n",
        db.display().to_string()
    ))
    .unwrap();
    let daemon = Daemon::start(cfg).await.unwrap();
    let base = format!("http://{}", daemon.local_addr());

    // Around the release annotation: the run at the release against the latest.
    let (s, text) = get(&base, "/api/v1/workloads/web-daily-1/drift").await;
    assert_eq!(s, 200, "{text}");
    let r = json(&text);
    assert_eq!(r["workload"], "web-daily-1");
    assert_eq!(r["at"], RELEASE);
    assert_eq!(r["release"]["text"], "web 2.0");
    assert_eq!(r["before"]["run"], runs[1]);
    assert_eq!(r["after"]["run"], runs[2]);
    assert_eq!(r["before"]["at"], RELEASE);
    assert_eq!(r["basis"].as_str().unwrap().len(), 16);
    assert_eq!(r["reducer"], "pca");
    assert_eq!(r["fitted_at"], START + DAY);
    assert!(r["distance"].as_f64().unwrap() >= 0.0, "{r}");
    assert_eq!(r["fleet"]["workloads"], 5, "{r}");
    assert_eq!(r["previous"]["run"], runs[0], "{r}");
    assert_eq!(r["features"].as_array().unwrap().len(), 5, "{r}");
    // A time and a number of features given.
    let path = format!(
        "/api/v1/workloads/nightly-batch-1/drift?at={}&top=2",
        START + DAY + 1
    );
    let (s, text) = get(&base, &path).await;
    assert_eq!(s, 200, "{text}");
    let r = json(&text);
    assert!(r["release"].is_null());
    assert_eq!(r["before"]["run"], runs[0]);
    assert_eq!(r["features"].as_array().unwrap().len(), 2, "{r}");

    // What it cannot answer, each with its reason.
    for (w, q, code, says) in [
        ("ghost", "", 404, "not in the store"),
        ("nightly-batch-1", "", 422, "no release annotation"),
        (
            "web-daily-1",
            &format!("?at={START}") as &str,
            409,
            "at or before",
        ),
        ("web-daily-1", "?at=99999999999999", 409, "after"),
        ("web-daily-1", "?top=0", 400, "top"),
        ("web-daily-1", "?at=yesterday", 400, "at"),
        ("web-daily-1", "?since=1", 400, "since"),
    ] {
        let (s, text) = get(&base, &format!("/api/v1/workloads/{w}/drift{q}")).await;
        assert_eq!(s, code, "{w}{q}: {text}");
        assert!(text.contains(says), "{w}{q}: {text}");
    }
    daemon.shutdown().await.unwrap();
}

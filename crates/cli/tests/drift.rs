//! `prescale fingerprint` keeps one basis across runs (until `--refit`), `--history` shows a
//! workload's fingerprints in it, and `prescale drift` compares a workload before and after a time.

mod common;
use common::{fails, ok};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn basis_history_and_drift_on_the_demo_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let csv = dir.path().join("fleet.csv");
    let csv_s = csv.to_str().unwrap();
    ok(
        &db,
        &[
            "demo-data",
            "--out",
            csv_s,
            "--workloads",
            "6",
            "--days",
            "9",
        ],
    );
    ok(&db, &["import", csv_s]);

    let first = json(&ok(
        &db,
        &["fingerprint", "--at", "2026-01-08T00:00:00Z", "--json"],
    ));
    let basis = first["basis"]["id"].as_str().unwrap().to_string();
    assert_eq!(basis.len(), 16, "{first}");
    assert_eq!(first["basis"]["refit"]["reason"], "no_basis");
    let text = ok(&db, &["fingerprint", "--at", "2026-01-10T00:00:00Z"]);
    assert!(text.contains(&format!("basis {basis} reused")), "{text}");
    let latest = json(&ok(&db, &["fingerprint", "--json"]));
    assert_eq!(latest["basis"]["id"], basis.as_str());

    // The history: three fingerprints in the one basis, each with how far it moved.
    let hist = json(&ok(
        &db,
        &["fingerprint", "--history", "web-daily-1", "--json"],
    ));
    assert_eq!(hist["basis"], basis.as_str());
    let points = hist["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{hist}");
    assert!(points[0]["moved"].is_null());
    assert!(points[2]["moved"].as_f64().unwrap() >= 0.0);
    let table = ok(&db, &["fingerprint", "--history", "web-daily-1"]);
    assert!(
        table.contains(&format!("web-daily-1 in basis {basis}")),
        "{table}"
    );

    // Drift around 2026-01-10: the fingerprint then against the latest.
    let report = json(&ok(
        &db,
        &[
            "drift",
            "--workload",
            "web-daily-1",
            "--at",
            "2026-01-10T00:00:00Z",
            "--top",
            "3",
            "--json",
        ],
    ));
    assert_eq!(report["basis"], basis.as_str());
    assert_eq!(report["before"]["run"], points[1]["run"]);
    assert_eq!(report["after"]["run"], points[2]["run"]);
    assert!(report["distance"].as_f64().unwrap() >= 0.0);
    assert_eq!(report["fleet"]["workloads"], 5, "{report}");
    assert_eq!(report["features"].as_array().unwrap().len(), 3, "{report}");
    assert!(report["release"].is_null());
    let text = ok(
        &db,
        &[
            "drift",
            "--workload",
            "web-daily-1",
            "--at",
            "2026-01-10T00:00:00Z",
        ],
    );
    assert!(
        text.contains("distance:") && text.contains("scaled change"),
        "{text}"
    );

    // What it cannot answer, in one line each.
    let err = fails(&db, &["drift", "--workload", "web-daily-1"]);
    assert!(err.contains("no release annotation"), "{err}");
    let err = fails(&db, &["drift", "--workload", "ghost", "--at", "2026-01-10"]);
    assert!(err.contains("not in the store"), "{err}");
    let err = fails(
        &db,
        &["drift", "--workload", "web-daily-1", "--at", "2026-01-02"],
    );
    assert!(err.contains("at or before"), "{err}");

    // A refit is a new basis: the earlier fingerprints are not compared across it.
    let refit = json(&ok(&db, &["fingerprint", "--refit", "--json"]));
    assert_eq!(refit["basis"]["refit"]["reason"], "requested");
    assert_ne!(refit["basis"]["id"], basis.as_str());
    let err = fails(
        &db,
        &["drift", "--workload", "web-daily-1", "--at", "2026-01-10"],
    );
    assert!(err.contains("prescale fingerprint --at"), "{err}");
}

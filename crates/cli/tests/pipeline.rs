//! End-to-end runs of the binary on the synthetic fleet: import → fingerprint → cluster → forecast → backtest.

mod common;
use common::{fails, ok, prescale};
use serde_json::Value;

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    for sub in [
        "demo",
        "demo-pipeline",
        "demo-data",
        "import",
        "series",
        "fingerprint",
        "drift",
        "cluster",
        "forecast",
        "backtest",
        "recommend",
        "simulate",
        "run",
        "agent",
    ] {
        let out = ok(&db, &[sub, "--help"]);
        assert!(out.contains("Usage:"), "{sub}: {out}");
    }
}

#[test]
fn pipeline_on_demo_fleet() {
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

    let imported: Value = serde_json::from_str(&ok(&db, &["import", csv_s, "--json"])).unwrap();
    assert_eq!(imported[0]["series"], 18);
    assert_eq!(imported[0]["samples"], 18 * 9 * 288);

    let listed: Value = serde_json::from_str(&ok(&db, &["series", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 18);
    assert!(listed[0]["first_ts"].is_i64() && listed[0]["first_ts_rfc3339"].is_string());

    // A fingerprint as of an earlier time, then now: a history exists, in the basis the first fitted.
    let early: Value = serde_json::from_str(&ok(
        &db,
        &["fingerprint", "--at", "2026-01-10T00:00:00Z", "--json"],
    ))
    .unwrap();
    assert_eq!(early["basis"]["refit"]["reason"], "no_basis");
    let svg = dir.path().join("map.svg");
    let map = dir.path().join("map.json");
    let fp: Value = serde_json::from_str(&ok(
        &db,
        &[
            "fingerprint",
            "--json",
            "--svg",
            svg.to_str().unwrap(),
            "--map-json",
            map.to_str().unwrap(),
        ],
    ))
    .unwrap();
    assert_eq!(fp["workloads"], 6);
    assert_eq!(fp["reducer"], "pca");
    assert_eq!(
        fp["basis"]["id"], early["basis"]["id"],
        "the basis is reused"
    );
    assert!(fp["basis"]["refit"].is_null(), "{}", fp["basis"]);
    let scores = fp["reconstruction_error"].as_object().unwrap();
    assert_eq!(scores.len(), 6);
    assert!(scores.values().all(|e| e.as_f64().unwrap() >= 0.0));
    let ev: Vec<f64> = fp["explained_variance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let kept = fp["kept"].as_u64().unwrap() as usize;
    assert!(kept >= 1 && kept <= ev.len());
    assert!(ev[..kept].iter().sum::<f64>() >= 0.95 - 1e-9);
    assert!(
        std::fs::read_to_string(&svg).unwrap().starts_with("<svg")
            || std::fs::read_to_string(&svg).unwrap().starts_with("<?xml")
    );
    let map: Value = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert_eq!(map["points"].as_array().unwrap().len(), 6);
    // The autoencoder reducer: vectors are its code (as long as `kept`).
    let ae: Value =
        serde_json::from_str(&ok(&db, &["fingerprint", "--reducer", "ae", "--json"])).unwrap();
    assert_eq!(ae["reducer"], "ae");
    let code = ae["kept"].as_u64().unwrap() as usize;
    assert!(ae["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["vector"].as_array().unwrap().len() == code));
    assert!(ok(&db, &["fingerprint", "--reducer", "ae"]).contains("autoencoder code of"));
    assert!(!prescale(&db, &["fingerprint", "--reducer", "svd"])
        .status
        .success());
    ok(&db, &["fingerprint"]); // PCA again for the steps below
    let hist: Value = serde_json::from_str(&ok(
        &db,
        &["fingerprint", "--history", "web-daily-1", "--json"],
    ))
    .unwrap();
    // Each change of reducer fitted a new basis: the current one (PCA again) has one fingerprint,
    // the first one two, oldest first.
    assert_eq!(hist["points"].as_array().unwrap().len(), 1, "{hist}");
    assert_eq!(hist["other_bases"], 4, "{hist}");
    let first_basis = early["basis"]["id"].as_str().unwrap();
    let hist: Value = serde_json::from_str(&ok(
        &db,
        &[
            "fingerprint",
            "--history",
            "web-daily-1",
            "--basis",
            first_basis,
            "--json",
        ],
    ))
    .unwrap();
    let points = hist["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{hist}");
    assert!(points[0]["at"].as_i64().unwrap() < points[1]["at"].as_i64().unwrap());

    // Clustering twice on the same fingerprints keeps the same ids for the same members.
    let first: Value =
        serde_json::from_str(&ok(&db, &["cluster", "--algorithm", "kmeans", "--json"])).unwrap();
    let second: Value =
        serde_json::from_str(&ok(&db, &["cluster", "--algorithm", "kmeans", "--json"])).unwrap();
    assert_eq!(first["kmeans"]["clusters"], second["kmeans"]["clusters"]);
    let k = first["kmeans"]["k"].as_u64().unwrap();
    assert!((2..=5).contains(&k), "k = {k}");

    let assigned: Value =
        serde_json::from_str(&ok(&db, &["cluster", "--assign", "web-daily-1", "--json"])).unwrap();
    let cluster = assigned["cluster"].as_u64().unwrap().to_string();
    let members = &first["kmeans"]["clusters"][format!("c{cluster}")];
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "web-daily-1"),
        "{assigned} vs {first}"
    );

    let fc: Value = serde_json::from_str(&ok(
        &db,
        &[
            "forecast",
            "--workload",
            "web-daily-1",
            "--metric",
            "requests",
            "--horizon",
            "1h",
            "--json",
        ],
    ))
    .unwrap();
    let points = fc["points"].as_array().unwrap();
    assert_eq!(points.len(), 12);
    // --json times: Unix ms with their RFC 3339 text beside them, as in every command and the API.
    let issued = fc["issued_at"].as_i64().unwrap();
    assert!(
        fc["issued_at_rfc3339"].as_str().unwrap().ends_with('Z'),
        "{fc}"
    );
    assert_eq!(points[0]["at"].as_i64().unwrap(), issued + 300_000, "{fc}");
    assert!(points[0]["at_rfc3339"].is_string(), "{fc}");
    for p in points {
        let (l, m, u) = (
            p["lower"].as_f64().unwrap(),
            p["point"].as_f64().unwrap(),
            p["upper"].as_f64().unwrap(),
        );
        assert!(l <= m && m <= u, "{p}");
    }

    let bt = dir.path().join("bt.json");
    ok(
        &db,
        &[
            "backtest",
            csv_s,
            "--column",
            "requests",
            "--history",
            "1500",
            "--windows",
            "3",
            "--models",
            "naive,seasonal_naive,auto",
            "--json",
            bt.to_str().unwrap(),
        ],
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&bt).unwrap()).unwrap();
    assert_eq!(doc["series_count"], 6);
    for m in ["naive", "seasonal_naive", "auto"] {
        let mase = doc["models"][m]["mase"].as_f64().unwrap();
        assert!(mase.is_finite() && mase > 0.0);
        assert_eq!(doc["models"][m]["fits"], 18);
    }
    // a fleet-trained gbm beside the local models, and the cold start from 1 hour and 6 hours
    let bt = dir.path().join("bt_fleet.json");
    let out = ok(
        &db,
        &[
            "backtest",
            csv_s,
            "--column",
            "requests",
            "--history",
            "1500",
            "--windows",
            "3",
            "--models",
            "naive,gbm,auto",
            "--cold-start",
            "1h,6h",
            "--json",
            bt.to_str().unwrap(),
        ],
    );
    assert!(out.contains("fleet: gbm trained on 6 series"), "{out}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&bt).unwrap()).unwrap();
    assert_eq!(doc["fleet"]["series"], 6);
    assert_eq!(doc["models"]["gbm"]["fits"], 18);
    for age in ["1h", "6h"] {
        for m in ["gbm", "auto"] {
            let c = &doc["cold_start"][age][m];
            assert_eq!(c["series"], 6, "{age} {m}: {c}");
            let (mase, cov) = (c["mase"].as_f64().unwrap(), c["coverage"].as_f64().unwrap());
            assert!(
                mase.is_finite() && mase > 0.0 && (0.0..=1.0).contains(&cov),
                "{c}"
            );
        }
    }
    // twelve 5-minute points are too few for naive's calibration: left out, not substituted
    assert_eq!(doc["cold_start"]["1h"]["naive"]["series"], 0);
    // one series cannot train a fleet: gbm alone is refused with the reason
    let one = dir.path().join("one.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    let first_workload = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();
    let mut lines = vec![header.to_string()];
    lines.extend(
        text.lines()
            .skip(1)
            .filter(|l| l.split(',').nth(1) == Some(first_workload.as_str()))
            .map(String::from),
    );
    std::fs::write(&one, lines.join("\n")).unwrap();
    let err = fails(
        &db,
        &[
            "backtest",
            one.to_str().unwrap(),
            "--column",
            "requests",
            "--models",
            "gbm",
        ],
    );
    assert!(err.contains("fleet"), "{err}");
}

#[test]
fn bad_input_fails_cleanly_and_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,2\n",
    )
    .unwrap();
    ok(&db, &["import", good.to_str().unwrap()]);

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "timestamp,value\n2024-01-01 00:10:00,3\n2024-01-01 00:15:00,abc\n",
    )
    .unwrap();
    let err = fails(&db, &["import", bad.to_str().unwrap()]);
    assert!(err.contains("bad.csv:3"), "{err}");

    let nan = dir.path().join("nan.csv");
    std::fs::write(&nan, "timestamp,value\n2024-01-01 00:10:00,NaN\n").unwrap();
    let err = fails(&db, &["import", nan.to_str().unwrap()]);
    assert!(err.contains("nan.csv:2"), "{err}");

    // Nothing from the failed imports landed, and what was accepted before is intact.
    let listed: Value = serde_json::from_str(&ok(&db, &["series", "--json"])).unwrap();
    assert_eq!(listed[0]["samples"], 2);

    // --skip-bad imports the good row and counts the bad one.
    let out: Value = serde_json::from_str(&ok(
        &db,
        &["import", bad.to_str().unwrap(), "--skip-bad", "--json"],
    ))
    .unwrap();
    assert_eq!(out[0]["skipped_bad"], 1);

    fails(
        &db,
        &[
            "forecast",
            "--workload",
            "good",
            "--metric",
            "value",
            "--level",
            "150",
        ],
    );
    fails(
        &db,
        &["forecast", "--workload", "nope", "--metric", "value"],
    );
    fails(
        &db,
        &["backtest", good.to_str().unwrap(), "--models", "prophet"],
    );
    fails(&db, &["cluster"]);
    let missing = dir.path().join("missing.csv");
    fails(&db, &["import", missing.to_str().unwrap()]);
    assert!(!prescale(&db, &["fingerprint", "--windows", "5 parsecs"])
        .status
        .success());
}

#[test]
fn simulate_compares_policies_against_the_oracle() {
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
            "2",
            "--days",
            "3",
        ],
    );
    let js = dir.path().join("sim.json");
    let html = dir.path().join("sim.html");
    ok(
        &db,
        &[
            "simulate",
            csv_s,
            "--column",
            "requests",
            "--policies",
            "hpa,oracle,static,predictive",
            "--json",
            js.to_str().unwrap(),
            "--report",
            html.to_str().unwrap(),
        ],
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(doc["series_count"], 2);
    let oracle = &doc["policies"]["oracle"];
    assert_eq!(oracle["under_pct"].as_f64().unwrap(), 0.0);
    assert!((oracle["cost_vs_oracle"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert!(
        doc["policies"]["static"]["cost"].as_f64().unwrap() >= oracle["cost"].as_f64().unwrap()
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>")
            && page.contains("<svg")
            && page.contains("learned headroom")
    );
    fails(&db, &["simulate", csv_s, "--policies", "bogus"]);
}

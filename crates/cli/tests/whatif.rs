//! `prescale simulate --workload W`: what-if on the store's own history of a workload, through the
//! controller its daemon config gives it or one built from the flags.

mod common;

use common::{fails, ok};
use serde_json::Value;

/// A store holding two demo workloads' three days at 5-minute steps; returns (dir, db, workload,
/// its first sample's Unix seconds).
fn store() -> (tempfile::TempDir, std::path::PathBuf, String, i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
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
    ok(&db, &["import", csv_s]);
    let listed: Value = serde_json::from_str(&ok(&db, &["series", "--json"])).unwrap();
    let workload = listed[0]["workload"].as_str().unwrap().to_string();
    let first = listed[0]["first_ts"].as_i64().unwrap() / 1000;
    (dir, db, workload, first)
}

#[test]
fn a_workloads_history_replays_through_its_configured_controller_and_policies_beside_it() {
    let (dir, db, w, first) = store();
    let from = (first + 86_400).to_string();
    let config = dir.path().join("prescale.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[workload]]
workload = "{w}"
metric = "requests"
capacity_per_replica = 20.0
step = "5m"
lead = "5m"
season = "1d"
max = 60
policy = "predictive@0.02"
"#
        ),
    )
    .unwrap();
    let js = dir.path().join("whatif.json");
    let out = ok(
        &db,
        &[
            "simulate",
            "--workload",
            &w,
            "--config",
            config.to_str().unwrap(),
            "--policies",
            "hpa,predictive@0.02,oracle",
            "--from",
            &from,
            "--json",
            js.to_str().unwrap(),
        ],
    );
    assert!(out.contains(&w), "{out}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(doc["series_count"], 1);
    let series = &doc["series"][0];
    assert_eq!(series["series"], w.as_str());
    assert_eq!(series["capacity_per_replica"], 20.0);
    // The configured policy acts (first); the one named again is not run twice.
    let names: Vec<&String> = series["policies"].as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(series["fits"].as_u64().unwrap() > 0);
    assert_eq!(
        doc["policies"]["oracle"]["under_pct"].as_f64().unwrap(),
        0.0
    );
    // Replaying from a day after the first sample leaves the first day out.
    let steps = series["steps"].as_u64().unwrap();
    assert!((2 * 288 - 2..=2 * 288).contains(&(steps as i64)), "{steps}");
}

#[test]
fn without_a_config_the_first_policy_acts_and_mistakes_are_named() {
    let (_dir, db, w, _) = store();
    let out = ok(
        &db,
        &[
            "simulate",
            "--workload",
            &w,
            "--metric",
            "requests",
            "--step",
            "5m",
            "--policies",
            "predictive,hpa",
        ],
    );
    assert!(out.contains("predictive") && out.contains("hpa"), "{out}");
    // A workload with several metrics needs --metric; an unknown one has no samples.
    assert!(fails(&db, &["simulate", "--workload", &w]).contains("--metric"));
    assert!(fails(
        &db,
        &["simulate", "--workload", "nobody", "--metric", "requests"]
    )
    .contains("no stored samples"));
    assert!(fails(&db, &["simulate"]).contains("no inputs"));
    assert!(fails(
        &db,
        &[
            "simulate",
            "--workload",
            &w,
            "--metric",
            "requests",
            "--policies",
            "oracle"
        ]
    )
    .contains("at least one policy that can act"));
}

/// Adds to the store a latency series that rises past the median load per replica at a fixed 8
/// replicas, and that replica count; returns (the latency ceiling the history breaks a tenth of
/// the time, the load per replica where latency starts to rise).
fn add_latency_history(dir: &std::path::Path, db: &std::path::Path, w: &str) -> (f64, f64) {
    let demo = dir.join("fleet.csv");
    let rows: Vec<(String, f64)> = std::fs::read_to_string(&demo)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[1] == w && f[2] == "requests")
                .then(|| (f[0].to_string(), f[3].parse::<f64>().unwrap() / 8.0))
        })
        .collect();
    let mut loads: Vec<f64> = rows.iter().map(|r| r.1).collect();
    loads.sort_by(f64::total_cmp);
    let knee = loads[loads.len() / 2];
    let latency = |load: f64| 0.05 + 0.01 * (load - knee).max(0.0);
    let mut csv = String::from("timestamp,app,metric,value\n");
    for (ts, load) in &rows {
        csv.push_str(&format!("{ts},{w},latency_p99,{}\n", latency(*load)));
        csv.push_str(&format!("{ts},{w},replicas,8\n"));
    }
    let path = dir.join("latency.csv");
    std::fs::write(&path, csv).unwrap();
    ok(db, &["import", path.to_str().unwrap()]);
    (latency(loads[loads.len() * 9 / 10]), knee)
}

#[test]
fn a_configured_slo_is_reported_in_the_workloads_own_terms() {
    let (dir, db, w, _) = store();
    let (ceiling, knee) = add_latency_history(dir.path(), &db, &w);
    assert!(ceiling > 0.05, "the demo's load must vary: {ceiling}");
    let config = dir.path().join("prescale.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[workload]]
workload = "{w}"
metric = "requests"
capacity_per_replica = {knee}
step = "5m"
lead = "5m"
season = "1d"
max = 60

[workload.slo]
metric = "latency_p99"
max = {ceiling}
replicas_metric = "replicas"
"#
        ),
    )
    .unwrap();
    let js = dir.path().join("slo.json");
    let out = ok(
        &db,
        &[
            "simulate",
            "--workload",
            &w,
            "--config",
            config.to_str().unwrap(),
            "--policies",
            "oracle",
            "--json",
            js.to_str().unwrap(),
        ],
    );
    assert!(out.contains("SLO (latency objective latency_p99"), "{out}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    let slo = &doc["series"][0]["slo"];
    assert!(slo["fitted_pairs"].as_u64().unwrap() > 500, "{slo}");
    let observed = slo["observed"]["violation_pct"].as_f64().unwrap();
    assert!((5.0..=15.0).contains(&observed), "{slo}");
    // The oracle sizes every step for the knee's load per replica: its latency stays at the floor.
    let oracle = slo["policies"]["oracle"]["violation_pct"].as_f64().unwrap();
    assert!(oracle < 1.0, "{slo}");
    assert!(
        slo["policies"]["predictive"]["violation_pct"]
            .as_f64()
            .unwrap()
            < observed
    );

    // A series the store lacks is said, and the replay is still reported.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("metric = \"latency_p99\"", "metric = \"latency_p50\"");
    std::fs::write(&bad, text).unwrap();
    let out = ok(
        &db,
        &[
            "simulate",
            "--workload",
            &w,
            "--config",
            bad.to_str().unwrap(),
            "--json",
            js.to_str().unwrap(),
        ],
    );
    assert!(out.contains("predictive"), "{out}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    assert_eq!(
        doc["series"][0]["slo"]["error"],
        "latency_p50: no stored samples in the replayed range"
    );
}

#[test]
fn a_workloads_history_is_priced_with_the_purchase_mix() {
    let (dir, db, w, _) = store();
    let pricing =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pricing.example.toml");
    let pricing = pricing.to_str().unwrap();
    let run = |name: &str, extra: &[&str]| -> Value {
        let js = dir.path().join(format!("{name}.json"));
        let mut args = vec![
            "simulate",
            "--workload",
            &w,
            "--metric",
            "requests",
            "--step",
            "5m",
            "--policies",
            "predictive,hpa",
            "--json",
            js.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ok(&db, &args);
        serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap()
    };
    let plain = run("plain", &[]);
    assert!(plain["policies"]["predictive"].get("dollars").is_none());
    let priced = run("priced", &["--pricing", pricing]);
    for policy in ["predictive", "hpa"] {
        let p = &priced["policies"][policy];
        let (d, od) = (
            p["dollars"].as_f64().unwrap(),
            p["dollars_on_demand"].as_f64().unwrap(),
        );
        // All on demand: the policy's replica-hours at m5.large's $0.096/h (the first entry).
        let hours = p["cost"].as_f64().unwrap();
        assert!((od - hours * 0.096).abs() < 1e-6, "{policy}: {p}");
        assert!(
            d > 0.0 && d < od,
            "a committed base is cheaper: {policy}: {p}"
        );
        // Not interruptible: no spot, the same service as without prices.
        assert_eq!(p["spot_hours"], 0.0);
        assert_eq!(p["under_pct"], plain["policies"][policy]["under_pct"]);
    }
    let spot = run(
        "spot",
        &[
            "--pricing",
            pricing,
            "--instance-type",
            "c5.large",
            "--interruptible",
        ],
    );
    let s = &spot["policies"]["predictive"];
    assert!(s["spot_hours"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["dollars_vs_on_demand"].as_f64().unwrap() < 0.7, "{s}");
    // A bad purchase flag is refused naming it.
    let e = fails(
        &db,
        &[
            "simulate",
            "--workload",
            &w,
            "--metric",
            "requests",
            "--pricing",
            pricing,
            "--instance-type",
            "m9.huge",
        ],
    );
    assert!(
        e.contains("--instance-type") && e.contains("m9.huge"),
        "{e}"
    );
}

//! `prescale simulate --pricing`: dollars of the purchase mix against all on-demand, and every
//! bad catalogue or purchase flag refused in one line naming what and where.

mod common;
use common::{fails, ok};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pricing.example.toml")
}

/// A two-workload, three-day synthetic trace (CSV path) in `dir`.
fn trace(dir: &Path) -> String {
    let db = dir.join("p.db");
    let csv = dir.join("fleet.csv");
    let csv_s = csv.to_str().unwrap().to_string();
    ok(
        &db,
        &[
            "demo-data",
            "--out",
            &csv_s,
            "--workloads",
            "1",
            "--days",
            "3",
        ],
    );
    csv_s
}

fn simulate(dir: &Path, csv: &str, extra: &[&str]) -> Value {
    let js = dir.join("sim.json");
    let mut args = vec![
        "simulate",
        csv,
        "--column",
        "requests",
        "--policies",
        "predictive,oracle",
        "--json",
        js.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&dir.join("p.db"), &args);
    serde_json::from_str(&std::fs::read_to_string(js).unwrap()).unwrap()
}

#[test]
fn dollars_of_the_mix_against_all_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let csv = trace(dir.path());
    let pricing = example();
    let pricing = pricing.to_str().unwrap();
    let plain = simulate(dir.path(), &csv, &[]);
    assert!(plain["policies"]["predictive"].get("dollars").is_none());

    let mixed = simulate(dir.path(), &csv, &["--pricing", pricing]);
    let p = &mixed["policies"]["predictive"];
    let (d, od) = (
        p["dollars"].as_f64().unwrap(),
        p["dollars_on_demand"].as_f64().unwrap(),
    );
    // The first catalogue entry, m5.large at $0.096/h on demand.
    let hours = p["cost"].as_f64().unwrap();
    assert!((od - hours * 0.096).abs() < 1e-6, "{p}");
    assert!(d < od, "committed base after the first day: {p}");
    assert_eq!(p["interruptions"], 0);
    assert_eq!(p["spot_hours"], 0.0);
    // Not interruptible: the same service as without prices.
    assert_eq!(p["under_pct"], plain["policies"]["predictive"]["under_pct"]);

    let spot = simulate(
        dir.path(),
        &csv,
        &[
            "--pricing",
            pricing,
            "--instance-type",
            "c5.large",
            "--interruptible",
        ],
    );
    let s = &spot["policies"]["predictive"];
    let ratio = s["dollars_vs_on_demand"].as_f64().unwrap();
    assert!(ratio < 0.5, "spot at 0.037 of 0.085: {s}");
    assert!(s["spot_hours"].as_f64().unwrap() > 0.0);
    assert_eq!(
        s["dollars"], spot["series"][0]["policies"]["predictive"]["dollars"],
        "one series: its figures are the total"
    );
    // Seeded: the same command, the same figures.
    let again = simulate(
        dir.path(),
        &csv,
        &[
            "--pricing",
            pricing,
            "--instance-type",
            "c5.large",
            "--interruptible",
        ],
    );
    assert_eq!(spot, again);
}

#[test]
fn a_spot_price_history_beside_the_catalogue_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let csv = trace(dir.path());
    let cat = dir.path().join("prices.toml");
    std::fs::write(
        &cat,
        "[[instance]]\nname = \"x\"\nvcpu = 2\nmemory_gib = 8\non_demand = 0.1\n\
         spot = { price_history = \"x.csv\", interruption_rate = 0.0 }\n",
    )
    .unwrap();
    // Spot costs more than on demand for the first half of each day: only on demand then.
    std::fs::write(
        dir.path().join("x.csv"),
        "time,price\n0,0.2\n43200,0.02\n86400,0.2\n",
    )
    .unwrap();
    let out = simulate(
        dir.path(),
        &csv,
        &["--pricing", cat.to_str().unwrap(), "--interruptible"],
    );
    let p = &out["policies"]["predictive"];
    let (spot, od) = (
        p["spot_hours"].as_f64().unwrap(),
        p["on_demand_hours"].as_f64().unwrap(),
    );
    assert!(spot > 0.0 && od > 0.0, "{p}");
    let ratio = spot / (spot + od);
    assert!((0.3..0.7).contains(&ratio), "about half on spot: {p}");
}

#[test]
fn bad_catalogues_and_flags_are_one_line_errors_naming_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let csv = trace(dir.path());
    let good = std::fs::read_to_string(example()).unwrap();
    let run = |text: &str, extra: &[&str]| {
        let cat = dir.path().join("bad.toml");
        std::fs::write(&cat, text).unwrap();
        let cat = cat.to_str().unwrap().to_string();
        let mut args = vec!["simulate", &csv, "--column", "requests", "--pricing", &cat];
        args.extend_from_slice(extra);
        fails(&db, &args)
    };
    let line_of = |needle: &str| good.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let m5 = line_of("name = \"m5.large\"") - 1; // its [[instance]] header

    let e = run(
        &good.replace("on_demand = 0.096", "on_demand = -0.096"),
        &[],
    );
    assert!(
        e.contains(&format!(
            "line {m5}: instance \"m5.large\": on_demand = -0.096: a price must be finite and >= 0"
        )),
        "{e}"
    );
    assert!(e.contains("bad.toml"), "names the file: {e}");

    let e = run(
        &good.replace(
            "price = 0.040, interruption_rate = 0.10",
            "price = 0.040, interruption_rate = 1.2",
        ),
        &[],
    );
    assert!(
        e.contains("instance \"m5.large\": spot.interruption_rate = 1.2"),
        "{e}"
    );

    let e = run(&good, &["--instance-type", "m9.huge"]);
    assert!(
        e.contains("--instance-type: instance type \"m9.huge\" is not in the pricing catalogue"),
        "{e}"
    );

    let e = run(&good.replace("vcpu = 4\n", "vcpu = = 4\n"), &[]);
    let at = line_of("vcpu = 4");
    assert!(e.contains(&format!("line {at} (\"vcpu = = 4\")")), "{e}");

    let e = run(&good.replace("reserved = 0.062", "reserve = 0.062"), &[]);
    assert!(e.contains("reserve"), "{e}");

    let e = run(
        &good.replace("price = 0.040,", "price_history = \"missing.csv\","),
        &[],
    );
    assert!(
        e.contains("spot.price_history \"missing.csv\": reading"),
        "{e}"
    );

    let e = run(
        "[[instance]]\nname = \"x\"\nvcpu = 1\nmemory_gib = 1\non_demand = 0.1\n",
        &["--interruptible"],
    );
    assert!(e.contains("has no spot terms"), "{e}");

    let e = run(&good, &["--max-spot-share", "2"]);
    assert!(e.contains("max_spot_share = 2"), "{e}");

    // A usage error (clap's, with its usage lines): one price source at a time.
    let cat = example();
    let out = common::prescale(
        &db,
        &[
            "simulate",
            &csv,
            "--pricing",
            cat.to_str().unwrap(),
            "--price",
            "0.1",
        ],
    );
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("'--pricing <PRICING>' cannot be used with '--price <PRICE>'"),
        "{e}"
    );

    let e = fails(
        &db,
        &["simulate", &csv, "--pricing", "/nonexistent/prices.toml"],
    );
    assert!(e.contains("/nonexistent/prices.toml"), "{e}");
}

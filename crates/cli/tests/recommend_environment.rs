//! `prescale recommend` by measured cost per unit of work: a fleet whose workloads carry an
//! `instance_type` label, half on a type whose cores do 1.6× the work, learned and costed end to end
//! (store → fingerprint → cluster → recommend, text and --json).

mod common;
use common::{fails, ok};
use prescale_core::{Labels, Sample, Series};
use prescale_math::SplitMix64;
use prescale_store::Store;
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;

const PER_REQUEST: f64 = 0.006;
const SPEED: f64 = 1.6;

/// The demo fleet with each workload's `cpu` rewritten as `(0.05 + requests × PER_REQUEST) / speed`
/// (3 % noise) and its series labelled with its instance type; the last workload has no label.
/// Returns each workload's type.
fn write_fleet(db: &std::path::Path) -> BTreeMap<String, Option<&'static str>> {
    let fleet = demo_fleet(&DemoConfig {
        workloads: 10,
        days: 9,
        ..DemoConfig::default()
    })
    .unwrap();
    let names: Vec<String> = {
        let mut n: Vec<String> = fleet.iter().map(|s| s.key.workload.to_string()).collect();
        n.dedup();
        n.sort();
        n.dedup();
        n
    };
    let types: BTreeMap<String, Option<&'static str>> = names
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let t = match i {
                _ if i + 1 == names.len() => None,
                _ if i % 2 == 0 => Some("slow.large"),
                _ => Some("Fast.Large"),
            };
            (w.clone(), t)
        })
        .collect();
    let mut store = Store::open(db).unwrap();
    let mut rng = SplitMix64(11);
    for s in &fleet {
        let w = s.key.workload.to_string();
        let t = types[&w];
        let mut labels: Labels = s.labels.clone();
        if let Some(t) = t {
            labels.insert("instance_type".into(), t.into());
        }
        let samples: Vec<Sample> = if s.key.metric.as_str() == "cpu" {
            let requests = fleet
                .iter()
                .find(|r| r.key.workload == s.key.workload && r.key.metric.as_str() == "requests")
                .unwrap();
            let speed = if t == Some("Fast.Large") { SPEED } else { 1.0 };
            requests
                .samples()
                .iter()
                .map(|r| Sample {
                    ts: r.ts,
                    value: (0.05 + r.value * PER_REQUEST) / speed * (1.0 + 0.03 * rng.normal()),
                })
                .collect()
        } else {
            s.samples().to_vec()
        };
        store
            .upsert_series(&Series::new(s.key.clone(), labels, samples).unwrap())
            .unwrap();
    }
    types
}

fn candidate<'a>(choice: &'a Value, name: &str) -> &'a Value {
    choice["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["instance"]["name"] == name)
        .unwrap_or_else(|| panic!("no candidate {name}: {choice}"))
}

#[test]
fn recommend_costs_instance_types_by_measured_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let types = write_fleet(&db);
    ok(&db, &["fingerprint"]);
    ok(&db, &["cluster", "--algorithm", "kmeans", "--k", "1"]);
    let cat = dir.path().join("types.toml");
    fs::write(
        &cat,
        "[[instance]]\nname = \"slow.large\"\nvcpu = 2\nmemory_gib = 64\nhourly_price = 0.10\n\
         [[instance]]\nname = \"fast.large\"\nvcpu = 2\nmemory_gib = 64\nhourly_price = 0.14\n\
         [[instance]]\nname = \"slow.xlarge\"\nvcpu = 4\nmemory_gib = 128\nhourly_price = 0.20\n",
    )
    .unwrap();
    let like = types
        .iter()
        .find(|(_, t)| **t == Some("slow.large"))
        .map(|(w, _)| w.clone())
        .unwrap();
    let args = [
        "recommend",
        "--like",
        like.as_str(),
        "--instance-types",
        cat.to_str().unwrap(),
    ];
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let rec: Value = serde_json::from_str(&ok(&db, &json_args)).unwrap();
    let env = &rec["environment"];

    // Every labelled workload is measured in its type: 1/0.006 per core, 1.6× that on fast.large.
    let measured = env["measurements"].as_array().unwrap();
    assert_eq!(measured.len(), types.len() - 1, "{env}");
    for m in measured {
        let w = m["workload"].as_str().unwrap();
        let (name, speed) = match types[w] {
            Some("slow.large") => ("slow.large", 1.0),
            _ => ("fast.large", SPEED),
        };
        assert_eq!(m["environment"]["kind"], "instance_type");
        assert_eq!(m["environment"]["name"], name);
        let per_unit = m["fit"]["cores_per_unit"].as_f64().unwrap();
        let want = PER_REQUEST / speed;
        assert!(
            (per_unit - want).abs() < 0.05 * want,
            "{w}: {per_unit} vs {want}"
        );
        assert!(m["replicas_metric"].is_null());
    }
    let unlabelled = types.iter().find(|(_, t)| t.is_none()).unwrap().0;
    let skipped = env["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{env}");
    assert_eq!(skipped[0]["workload"], unlabelled.as_str());
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("no environment labels"));

    // The workload's own type is measured, the faster one borrowed at ~1.6× per core, the larger
    // one carried by catalogue size; the cheapest in hourly cost is chosen.
    let choice = &env["choice"];
    let slow = candidate(choice, "slow.large");
    let fast = candidate(choice, "fast.large");
    let xl = candidate(choice, "slow.xlarge");
    assert_eq!(
        (&slow["source"], &fast["source"], &xl["source"]),
        (
            &Value::from("measured"),
            &Value::from("borrowed"),
            &Value::from("catalogue")
        )
    );
    let ratio =
        fast["demand_per_core"].as_f64().unwrap() / slow["demand_per_core"].as_f64().unwrap();
    assert!((ratio - SPEED).abs() < 0.05 * SPEED, "ratio {ratio}");
    assert!(
        fast["cost_per_unit"].as_f64().unwrap() < slow["cost_per_unit"].as_f64().unwrap(),
        "{choice}"
    );
    let need = choice["need"]["demand"].as_f64().unwrap();
    let demand_p95 = rec["demand"]["p95_of_p95s"].as_f64().unwrap();
    assert!((need - demand_p95 * 1.2).abs() < 1e-6 * need);
    for c in choice["candidates"].as_array().unwrap() {
        let cap = c["capacity_per_replica"].as_f64().unwrap();
        assert!(
            c["replicas"].as_f64().unwrap() >= (need / cap).ceil(),
            "{c}"
        );
    }
    let cheapest = choice["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["hourly_cost"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(choice["chosen"]["hourly_cost"].as_f64().unwrap(), cheapest);

    // The table says the same.
    let text = ok(&db, &args);
    assert!(text.contains("capacity learned per environment"), "{text}");
    assert!(
        text.contains(&format!(
            "instance type by measured cost per unit: {} × {}",
            choice["chosen"]["replicas"],
            choice["chosen"]["instance"]["name"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(
        text.contains("borrowed") && text.contains("measured"),
        "{text}"
    );

    // A utilisation target outside (0, 1]: one line naming it.
    let mut bad = args.to_vec();
    bad.extend(["--target-utilization", "1.5"]);
    let err = fails(&db, &bad);
    assert!(err.contains("utilization target"), "{err}");
}

//! Scenario tests: small TOML traces under tests/scenarios/ with expected ranges of cost,
//! under-provisioning and actions for every policy.

use prescale_replay::{simulate, PolicyKind, SimConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[allow(dead_code)]
    description: String,
    season: Option<usize>,
    min_history: usize,
    capacity_per_replica: Option<f64>,
    #[serde(default = "one")]
    delay_steps: usize,
    demand: Vec<f64>,
    expect: BTreeMap<String, Expect>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    cost_vs_oracle: [f64; 2],
    under_pct: [f64; 2],
    actions: [usize; 2],
}

fn run(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let sc: Scenario = toml::from_str(&text).unwrap();
    let cfg = SimConfig {
        forecast: prescale_forecast::RollingConfig {
            season: sc.season,
            min_history: sc.min_history,
            guard_refits: true,
            ..Default::default()
        },
        capacity_per_replica: sc.capacity_per_replica,
        delay_steps: sc.delay_steps,
        ..SimConfig::default()
    };
    let kinds = PolicyKind::all_defaults();
    let r = simulate(&sc.demand, &kinds, &cfg).unwrap();
    let mut report = String::new();
    for p in &r.policies {
        let m = &p.metrics;
        report += &format!(
            "{name}/{}: cost_vs_oracle {:.3} under_pct {:.2} actions {}\n",
            p.name,
            m.cost_vs_oracle.unwrap_or(f64::NAN),
            m.under_pct,
            m.actions
        );
    }
    print!("{report}");
    for k in &kinds {
        let label = k.label();
        let e = sc
            .expect
            .get(&label)
            .unwrap_or_else(|| panic!("{name}: no expectation for {label}"));
        let m = &r.policy(&label).unwrap().metrics;
        let c = m.cost_vs_oracle.unwrap();
        assert!(
            (e.cost_vs_oracle[0]..=e.cost_vs_oracle[1]).contains(&c),
            "{name}/{label} cost_vs_oracle {c}\n{report}"
        );
        assert!(
            (e.under_pct[0]..=e.under_pct[1]).contains(&m.under_pct),
            "{name}/{label} under_pct {}\n{report}",
            m.under_pct
        );
        assert!(
            (e.actions[0]..=e.actions[1]).contains(&m.actions),
            "{name}/{label} actions {}\n{report}",
            m.actions
        );
    }
}

#[test]
fn daily_sine() {
    run("daily_sine");
}

#[test]
fn spike() {
    run("spike");
}

#[test]
fn ramp() {
    run("ramp");
}

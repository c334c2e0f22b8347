//! End to end: `prescale demo` runs the daemon with the agent, the embedded store and the
//! process-pool actuator against the bundled load generator, whose demand steps up at the same
//! phase of every cycle. Once it has seen the cycle, the daemon must scale the workers up *before*
//! the step arrives, not after; the workers must really run and serve the work. Bursts are off
//! here (they are random; the demo has them), the noise stays.

mod common;

use prescale_telemetry::cycle::CyclePattern;
use serde_json::Value;

const PERIOD_S: f64 = 40.0;
const STEP_S: f64 = 2.0;
const LEAD_S: f64 = 4.0;

#[test]
fn the_demo_scales_real_workers_ahead_of_a_repeating_step() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = dir.path().join("out");
    let stdout = common::ok(
        &db,
        &[
            "demo",
            "--for",
            "210s",
            "--period",
            "40s",
            "--step",
            "2s",
            "--lead",
            "4s",
            "--listen",
            "127.0.0.1:0",
            "--out",
            out.to_str().unwrap(),
            "--burst-chance",
            "0",
            "--json",
        ],
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let decisions: Vec<&Value> = lines.iter().filter_map(|v| v.get("decision")).collect();
    let summary = lines
        .iter()
        .rev()
        .find_map(|v| v.get("summary"))
        .expect("a final summary");
    assert!(decisions.len() > 40, "{} decisions", decisions.len());
    // The workers really ran: work was offered and served, and the pool was scaled both ways.
    assert!(
        summary["served_total"].as_f64().unwrap() > 1000.0,
        "{summary}"
    );
    assert!(summary["scale_ups"].as_u64().unwrap() >= 2, "{summary}");
    // Every decision acted through the process pool (or had nothing to change).
    for d in &decisions {
        let outcome = d["actuation"]["outcome"].as_str();
        assert!(matches!(outcome, Some("applied" | "skipped")), "{d}");
    }

    // The demo's pattern (period from the flags; the rest is the generator's default).
    let pattern = CyclePattern {
        period_s: PERIOD_S,
        burst_chance: 0.0,
        ..CyclePattern::default()
    };
    // Steps after the daemon had three cycles to learn from (the seasonal model can be fitted
    // from the second; the third lets its calibration settle).
    let first_at = decisions[0]["at"].as_i64().unwrap() as f64 / 1000.0;
    let learned_by = first_at + 3.0 * PERIOD_S;
    let at = |d: &Value| d["at"].as_i64().unwrap() as f64 / 1000.0;
    let replicas = |d: &Value| d["replicas_after"].as_u64();
    let mut checked = 0;
    let mut cycle = (first_at / PERIOD_S).floor() as u64;
    loop {
        let step = pattern.step_start(cycle);
        cycle += 1;
        if step < learned_by {
            continue;
        }
        if decisions.iter().all(|d| at(d) < step + 3.0 * STEP_S) {
            break;
        }
        // Low phase well before the step: what the workers were then.
        let low: Vec<u64> = decisions
            .iter()
            .filter(|d| at(d) >= step - 0.45 * PERIOD_S && at(d) < step - 0.3 * PERIOD_S)
            .filter_map(|d| replicas(d))
            .collect();
        // Decided in the lead time (two steps) before the step: the count the step is met with.
        let before: Vec<&Value> = decisions
            .iter()
            .copied()
            .filter(|d| at(d) >= step - LEAD_S - 0.5 && at(d) < step)
            .collect();
        let ready = before.iter().filter_map(|d| replicas(d)).max();
        let (Some(&low_max), Some(ready)) = (low.iter().max(), ready) else {
            continue;
        };
        // A reactive policy meets the step with the low phase's count; this one scaled up before
        // it, on the forecast (not on demand it had already seen).
        let on_forecast = before.iter().any(|d| {
            replicas(d) == Some(ready) && d["reason_json"]["rule"].as_str() == Some("forecast-need")
        });
        assert!(
            ready > low_max && on_forecast,
            "cycle step at {step}: {ready} workers decided before it, {low_max} in the low phase; \
             decisions: {:#?}",
            decisions
                .iter()
                .filter(|d| at(d) >= step - 0.3 * PERIOD_S && at(d) < step + 3.0 * STEP_S)
                .map(|d| (
                    at(d),
                    replicas(d),
                    d["reason"].as_str().unwrap_or("").to_string()
                ))
                .collect::<Vec<_>>()
        );
        checked += 1;
    }
    assert!(
        checked >= 1,
        "no step fell inside the learned part of the run"
    );
    assert!(
        summary["scale_ups_ahead_of_step"].as_u64().unwrap() >= 1,
        "{summary}"
    );
}

//! End to end: `prescale demo` runs the daemon with the agent, the embedded store and the
//! process-pool actuator against the bundled load generator, whose demand steps up at the same
//! phase of every cycle. Once it has seen the cycle, the daemon must scale the workers up *before*
//! the step arrives, not after; the workers must really run and serve the work. Bursts are off
//! here (they are random; the demo has them), the noise stays. A short test checks what a user
//! meets around it: the demo's own store, emptied at every start, the closing summary taken before
//! shutdown (on a signal too), and the config it prints running again with `prescale run`.

mod common;

use prescale_telemetry::cycle::CyclePattern;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The demo's JSON Lines, each parsed.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A short, quick demo in `out` (one-second steps, an eight-second cycle).
fn short_demo(out: &Path, seconds: u32) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_prescale"));
    c.args([
        "demo",
        "--for",
        &format!("{seconds}s"),
        "--period",
        "8s",
        "--step",
        "1s",
    ])
    .args([
        "--lead",
        "1s",
        "--listen",
        "127.0.0.1:0",
        "--burst-chance",
        "0",
        "--json",
    ])
    .arg("--out")
    .arg(out)
    .env_remove("PRESCALE_DB");
    c
}

fn run_ok(mut c: Command) -> (String, String) {
    let o = c.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "{c:?} failed: {stderr}\n{stdout}");
    (stdout, stderr)
}

#[test]
fn the_demo_owns_its_folder_starts_clean_and_its_config_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prescale-demo");
    let elsewhere = dir.path().join("not-used.db");

    // First run, with --db given: the demo keeps its own store anyway, and says so.
    let mut first = short_demo(&out, 6);
    first.arg("--db").arg(&elsewhere);
    let (stdout, stderr) = run_ok(first);
    assert!(
        stderr.contains("--db") && stderr.contains("not used"),
        "{stderr}"
    );
    assert!(!elsewhere.exists(), "the demo wrote to --db");
    let lines = json_lines(&stdout);
    let demo = &lines[0]["demo"];
    let store = demo["store"].as_str().unwrap();
    assert!(Path::new(store).starts_with(&out), "{demo}");
    assert!(Path::new(store).exists());
    assert!(demo["first_step"]["at_rfc3339"].is_string(), "{demo}");
    let closing = &lines.last().unwrap()["closing_summary"];
    // Taken before shutdown: the workers were still there and work was being served.
    assert!(closing["workers"].as_f64().unwrap() >= 1.0, "{closing}");
    assert!(closing["served_total"].as_f64().unwrap() > 0.0, "{closing}");
    assert!(closing["decisions"].as_u64().unwrap() >= 2, "{closing}");

    // Second run in the same folder: a clean store, so nothing of the first run shows.
    let started = unix_ms();
    let (stdout, _) = run_ok(short_demo(&out, 5));
    let lines = json_lines(&stdout);
    let decisions: Vec<&Value> = lines.iter().filter_map(|v| v.get("decision")).collect();
    assert!(!decisions.is_empty());
    for d in &decisions {
        assert!(
            d["at"].as_i64().unwrap() >= started,
            "a decision of the first run: {d}"
        );
    }
    let first_history = decisions[0]["inputs"]["history_steps"]
        .as_u64()
        .unwrap_or(0);
    assert!(first_history < 4, "history carried over: {}", decisions[0]);

    // Stopped by a signal (SIGTERM, as Ctrl-C's SIGINT): the closing summary is still taken
    // before the daemon stops the workers.
    let child = short_demo(&out, 60)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let kill = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = json_lines(&stdout);
    let closing = &lines.last().unwrap()["closing_summary"];
    assert!(closing["workers"].as_f64().unwrap() >= 1.0, "{closing}");
    assert!(closing["ran_s"].as_f64().unwrap() < 20.0, "{closing}");

    // The config the demo printed runs again: the generator it names, then `prescale run`.
    let demo = &lines[0]["demo"];
    let rerun: Vec<&str> = demo["rerun"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(rerun.len(), 2, "{demo}");
    let load: Vec<&str> = rerun[0].trim_end_matches('&').split_whitespace().collect();
    let mut generator = Command::new(load[0])
        .args(&load[1..])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let again = unix_ms();
    let daemon: Vec<&str> = rerun[1].split_whitespace().collect();
    assert_eq!(&daemon[1..3], ["run", "--config"], "{demo}");
    let ran = Command::new(daemon[0])
        .args(&daemon[1..])
        .args(["--for", "6s"])
        .env_remove("PRESCALE_DB")
        .output()
        .unwrap();
    let _ = generator.kill();
    let _ = generator.wait();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let listed: Value = serde_json::from_str(&common::ok(
        Path::new(demo["store"].as_str().unwrap()),
        &["series", "--json"],
    ))
    .unwrap();
    let last = |metric: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["workload"] == "demo-worker" && s["metric"] == metric)
            .and_then(|s| s["last_ts"].as_i64())
            .unwrap_or(0)
    };
    // The generator was scraped and the workers the daemon started were seen by the agent.
    assert!(last("demo_workers") > again, "{listed}");
    assert!(last("cpu_cores") > again, "{listed}");
}

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
            "175s",
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
    let lines = json_lines(&stdout);
    let decisions: Vec<&Value> = lines.iter().filter_map(|v| v.get("decision")).collect();
    let summary = lines
        .last()
        .and_then(|v| v.get("closing_summary"))
        .expect("a closing summary");
    // The pattern's time is Unix time less the origin the demo chose.
    let origin_s = lines[0]["demo"]["origin_ms"].as_f64().unwrap() / 1000.0;
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
    let at = |d: &Value| d["at"].as_i64().unwrap() as f64 / 1000.0 - origin_s;
    let first_at = at(decisions[0]);
    let learned_by = first_at + 3.0 * PERIOD_S;
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

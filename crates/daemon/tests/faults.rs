//! Fault tests of the closed loop: telemetry that stops makes the workload hold (never scale in)
//! and say why; an actuator that keeps failing is retried with back-off, then circuit-broken, and
//! every decision stays in the log with its outcome.

mod common;

use common::*;
use prescale_ingest::remote_write::{encode, from_points};
use serde_json::Value;
use std::time::Duration;

async fn decisions(base: &str, workload: &str) -> Vec<Value> {
    let (s, text) = get(
        base,
        &format!("/api/v1/decisions?workload={workload}&limit=1000"),
    )
    .await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["decisions"].as_array().cloned().unwrap_or_default()
}

/// Posts `value` for `workload`'s `cpu` at `ts`.
async fn feed(base: &str, workload: &'static str, points: &[(i64, f64)]) {
    let pts: Vec<_> = points
        .iter()
        .map(|&(ts, v)| ("cpu", vec![("job", workload)], ts, v))
        .collect();
    let (s, b) = post_write(base, encode(&from_points(pts))).await;
    assert_eq!(s, 204, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_that_stops_holds_and_never_scales_in() {
    let d = start(
        r#"
tick = "200ms"
mode = "act"
[[workload]]
workload = "api"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
stale_after = "3s"
policy = "threshold"
max = 20
actuator = { type = "dry-run" }
"#,
    )
    .await;
    // Half a minute of history at 80 (8 replicas at capacity 10), then live samples for a while.
    let t0 = now_ms() - 30_000;
    let history: Vec<(i64, f64)> = (0..120).map(|i| (t0 + i * 250, 80.0)).collect();
    feed(&d.base, "api", &history).await;
    let mut live_until = 0;
    for _ in 0..40 {
        live_until = now_ms();
        feed(&d.base, "api", &[(live_until, 80.0)]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Telemetry stops: within a few seconds the workload holds on stale data.
    let base = d.base.clone();
    let mut all = Vec::new();
    for _ in 0..200 {
        all = decisions(&base, "api").await;
        if all
            .first()
            .is_some_and(|r| r["reason_json"]["rule"] == "stale-telemetry")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let newest = all.first().expect("decisions");
    assert_eq!(newest["reason_json"]["rule"], "stale-telemetry", "{newest}");
    assert!(
        newest["reason"]
            .as_str()
            .unwrap()
            .starts_with("stale telemetry"),
        "{newest}"
    );
    // Oldest first: the count before the data went stale, then only holds at that count.
    let chronological: Vec<&Value> = all.iter().rev().collect();
    let fresh: Vec<&&Value> = chronological
        .iter()
        .filter(|r| r["reason_json"]["rule"] != "stale-telemetry")
        .collect();
    let last_fresh = fresh.last().expect("fresh decisions")["replicas_after"]
        .as_u64()
        .unwrap();
    assert!(last_fresh >= 8, "{last_fresh}");
    let stale: Vec<&&Value> = chronological
        .iter()
        .filter(|r| r["reason_json"]["rule"] == "stale-telemetry")
        .collect();
    assert!(!stale.is_empty());
    for r in &stale {
        assert_eq!(r["replicas_after"].as_u64(), Some(last_fresh), "{r}");
        assert!(r["at"].as_i64().unwrap() > live_until, "{r}");
        assert!(r["inputs"]["freshness_s"].as_f64().unwrap() > 3.0, "{r}");
    }
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_actuator_is_retried_then_circuit_broken_and_every_decision_is_logged() {
    let calls = tempfile::NamedTempFile::new().unwrap();
    let log = calls.path().display().to_string();
    let d = start(&format!(
        r#"
tick = "200ms"
mode = "act"
[[workload]]
workload = "api"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
stale_after = "1h"
policy = "threshold"
max = 20
actuator = {{ type = "exec", program = "sh", args = ["-c", "echo $PRESCALE_REPLICAS >> {log}; exit 75"], timeout = "5s" }}
retry = {{ base = "10ms", max = "20ms", max_attempts = 3, failure_threshold = 6, open_for = "1h" }}
"#
    ))
    .await;
    let t0 = now_ms() - 30_000;
    let history: Vec<(i64, f64)> = (0..120).map(|i| (t0 + i * 250, 80.0)).collect();
    feed(&d.base, "api", &history).await;
    let base = d.base.clone();
    let mut all = Vec::new();
    for _ in 0..300 {
        feed(&d.base, "api", &[(now_ms(), 80.0)]).await;
        all = decisions(&base, "api").await;
        if all
            .iter()
            .any(|r| r["actuation"]["outcome"] == "circuit-open")
            && all.len() >= 4
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Decisions with something to set (a first tick before any complete step has nothing).
    let all: Vec<Value> = all
        .into_iter()
        .filter(|r| !r["replicas_after"].is_null())
        .collect();
    let outcomes: Vec<String> = all
        .iter()
        .rev()
        .map(|r| r["actuation"]["outcome"].as_str().unwrap_or("").to_string())
        .collect();
    // Two requests failed (each after three attempts: retryable exit 75; six consecutive failures
    // open the breaker), then later decisions were refused without calling the command.
    let failed = outcomes.iter().filter(|o| *o == "failed").count();
    assert_eq!(failed, 2, "{outcomes:?}");
    let first_open = outcomes
        .iter()
        .position(|o| o == "circuit-open")
        .expect("open");
    assert!(
        outcomes[..first_open].iter().all(|o| o == "failed"),
        "{outcomes:?}"
    );
    let invoked = std::fs::read_to_string(calls.path())
        .unwrap()
        .lines()
        .count();
    assert_eq!(invoked, 6, "2 requests × 3 attempts");
    // Every decision is in the log with its explanation, newest first, one per step.
    // A failed actuation is not taken as applied: each decision asks for the same count again.
    let want = all[0]["replicas_after"].as_u64().unwrap();
    assert!(want >= 8, "{want}");
    for r in &all {
        assert!(!r["reason"].as_str().unwrap().is_empty(), "{r}");
        assert_eq!(r["replicas_after"].as_u64(), Some(want), "{r}");
        assert_eq!(r["replicas_before"], Value::Null, "{r}");
    }
    let times: Vec<i64> = all.iter().map(|r| r["at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    d.daemon.shutdown().await.unwrap();
}

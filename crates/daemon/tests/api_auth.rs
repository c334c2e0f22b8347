//! The mutating control endpoints: bearer-token auth (401/403), `POST /api/v1/mode` switching a
//! workload's dry-run actuator on, and the kill switch stopping and restoring actuation; config
//! validation of the token.

mod common;

use common::*;
use prescale_daemon::DaemonConfig;
use prescale_ingest::remote_write::{encode, from_points};
use std::time::Duration;

const TOKEN: &str = "test-token-0123456789";

fn config(with_token: bool) -> String {
    let token = if with_token {
        format!("api_token = \"{TOKEN}\"\n")
    } else {
        String::new()
    };
    format!(
        r#"{token}tick = "100ms"

[[workload]]
workload = "web"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
policy = "hpa"
max = 20
actuator = {{ type = "dry-run" }}
retry = {{ base = "10ms", max = "50ms", max_attempts = 2 }}

[[workload]]
workload = "pinned"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
stale_after = "1h"
mode = "forecast-only"
"#
    )
}

/// POSTs JSON with an optional `Authorization` header; returns status, `WWW-Authenticate` and body.
async fn post_json(
    base: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, Option<String>, String) {
    let url = format!("{base}{path}");
    let (auth, body) = (auth.map(str::to_string), body.to_string());
    tokio::task::spawn_blocking(move || {
        let mut req = http().post(&url).header("Content-Type", "application/json");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let mut r = req.send(body.as_bytes()).unwrap();
        let www = r
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let status = r.status().as_u16();
        (
            status,
            www,
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    })
    .await
    .unwrap()
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The workload's decisions, oldest first.
async fn decisions(base: &str, workload: &str) -> Vec<serde_json::Value> {
    let (s, text) = get(
        base,
        &format!("/api/v1/decisions?workload={workload}&limit=10000"),
    )
    .await;
    assert_eq!(s, 200, "{text}");
    let mut d = json(&text)["decisions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    d.reverse();
    d
}

async fn feed(base: &str, ts: i64, demand: f64) {
    let points = vec![
        ("cpu", vec![("job", "web")], ts, demand),
        ("cpu", vec![("job", "pinned")], ts, demand),
    ];
    let (s, b) = post_write(base, encode(&from_points(points))).await;
    assert_eq!(s, 204, "{b}");
}

/// Feeds fresh samples at `demand` every 100 ms until `done` holds for the decisions of `web`
/// (bounded: at most 60 s); returns them, oldest first.
async fn until(
    base: &str,
    demand: f64,
    what: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    for _ in 0..600 {
        feed(base, now_ms(), demand).await;
        let d = decisions(base, "web").await;
        if done(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting for {what}: {:#?}",
        decisions(base, "web").await
    );
}

fn outcome(r: &serde_json::Value) -> &str {
    r["actuation"]["outcome"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutating_endpoints_need_the_bearer_token() {
    let d = start(&config(true)).await;
    let base = d.base.clone();
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("Basic abc"),
    ] {
        let (s, www, body) = post_json(&base, "/api/v1/mode", auth, r#"{"mode":"act"}"#).await;
        assert_eq!(s, 401, "{auth:?}: {body}");
        assert_eq!(www.as_deref(), Some("Bearer"));
        let (s, www, _) =
            post_json(&base, "/api/v1/kill-switch", auth, r#"{"engaged":true}"#).await;
        assert_eq!(s, 401);
        assert_eq!(www.as_deref(), Some("Bearer"));
    }
    let (_, mode) = get(&base, "/api/v1/mode").await;
    assert_eq!(json(&mode)["mode"], "forecast-only", "401s change nothing");
    let (_, kill) = get(&base, "/api/v1/kill-switch").await;
    assert_eq!(json(&kill)["global"], false);

    for bad in [
        r#"{"mode":"sometimes"}"#,
        "{}",
        "act",
        r#"{"mode":"act","x":1}"#,
    ] {
        let (s, _, body) = post_json(&base, "/api/v1/mode", Some(&bearer()), bad).await;
        assert_eq!(s, 400, "{bad}: {body}");
    }
    let (s, _, body) = post_json(
        &base,
        "/api/v1/kill-switch",
        Some(&bearer()),
        r#"{"engaged":true,"workload":"nosuch"}"#,
    )
    .await;
    assert_eq!(s, 404, "{body}");
    let (s, _, body) = post_json(
        &base,
        "/api/v1/kill-switch",
        Some(&bearer()),
        r#"{"engaged":true,"workload":"web"}"#,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json(&body)["workloads"], serde_json::json!(["web"]));
    let (_, metrics) = get(&base, "/metrics").await;
    assert!(metrics.contains("prescale_mode_act 0\n"), "{metrics}");
    assert!(metrics.contains("prescale_kill_switch_engaged{scope=\"global\"} 0\n"));
    assert!(
        metrics.contains("prescale_kill_switch_engaged{scope=\"workload\",workload=\"web\"} 1\n")
    );
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_mutating_endpoints_are_forbidden() {
    let d = start(&config(false)).await;
    for (path, body) in [
        ("/api/v1/mode", r#"{"mode":"act"}"#),
        ("/api/v1/kill-switch", r#"{"engaged":true}"#),
    ] {
        let (s, _, text) = post_json(&d.base, path, Some(&bearer()), body).await;
        assert_eq!(s, 403, "{text}");
        assert!(text.contains("disabled"), "{text}");
    }
    let (s, mode) = get(&d.base, "/api/v1/mode").await;
    assert_eq!(s, 200);
    assert_eq!(json(&mode)["mode"], "forecast-only");
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_switch_and_kill_switch_drive_the_actuator() {
    let d = start(&config(true)).await;
    let base = d.base.clone();
    let t0 = now_ms() - 30_000;
    for i in 0..120 {
        feed(&base, t0 + i * 250, 55.0).await;
    }

    // Global forecast-only: decisions are made, the actuator is not called.
    let fo = until(&base, 55.0, "a forecast-only decision", |d| {
        d.iter().any(|r| r["replicas_after"].is_u64())
    })
    .await;
    for r in &fo {
        assert_eq!(r["mode"], "forecast-only", "{r}");
        assert_eq!(outcome(r), "skipped", "{r}");
        assert_eq!(r["actuation"]["why"], "global mode forecast-only", "{r}");
    }

    let (s, _, body) = post_json(&base, "/api/v1/mode", Some(&bearer()), r#"{"mode":"act"}"#).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json(&body)["mode"], "act");
    assert_eq!(json(&body)["previous"], "forecast-only");
    let (_, metrics) = get(&base, "/metrics").await;
    assert!(metrics.contains("prescale_mode_act 1\n"), "{metrics}");

    // Higher demand: the HPA scales up, now through the dry-run actuator.
    let acted = until(&base, 100.0, "an applied decision", |d| {
        d.iter().any(|r| outcome(r) == "applied")
    })
    .await;
    let applied = acted.iter().find(|r| outcome(r) == "applied").unwrap();
    assert_eq!(applied["mode"], "act");
    assert_eq!(applied["actuation"]["actuator"], "dry-run");
    assert_eq!(applied["actuation"]["changed"], true, "{applied}");

    // A pinned forecast-only workload never acts, whatever the global mode.
    let pinned = decisions(&base, "pinned").await;
    assert!(!pinned.is_empty());
    assert!(pinned
        .iter()
        .all(|r| outcome(r) == "skipped" && r["mode"] == "forecast-only"));

    // Kill switch on: scale-ups are decided but stopped before the actuator.
    let (s, _, body) = post_json(
        &base,
        "/api/v1/kill-switch",
        Some(&bearer()),
        r#"{"engaged":true}"#,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json(&body)["global"], true);
    let killed = until(&base, 190.0, "two kill-switch decisions", |d| {
        d.iter().filter(|r| outcome(r) == "kill-switch").count() >= 2
    })
    .await;
    let stopped: Vec<_> = killed
        .iter()
        .filter(|r| outcome(r) == "kill-switch")
        .collect();
    assert_eq!(stopped[0]["actuation"]["scope"], "global");
    let held = &stopped[0]["replicas_before"];
    assert!(held.is_u64(), "{:?}", stopped[0]);
    for r in &stopped {
        assert_eq!(
            &r["replicas_before"], held,
            "the actuator's state did not change: {r}"
        );
        assert_ne!(&r["replicas_after"], held, "{r}");
    }
    let first_stop = stopped[0]["at"].as_i64().unwrap();
    assert!(
        killed
            .iter()
            .filter(|r| r["at"].as_i64().unwrap() > first_stop)
            .all(|r| outcome(r) != "applied"),
        "nothing applied while the switch is engaged"
    );
    let (_, metrics) = get(&base, "/metrics").await;
    assert!(metrics.contains("prescale_kill_switch_engaged{scope=\"global\"} 1\n"));

    // Off again: the next scale-up reaches the actuator.
    let (s, _, body) = post_json(
        &base,
        "/api/v1/kill-switch",
        Some(&bearer()),
        r#"{"engaged":false}"#,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json(&body)["global"], false);
    let last_stop = stopped.last().unwrap()["at"].as_i64().unwrap();
    let restored = until(&base, 190.0, "an applied decision after release", |d| {
        d.iter()
            .any(|r| outcome(r) == "applied" && r["at"].as_i64().unwrap() > last_stop)
    })
    .await;
    let after = restored
        .iter()
        .find(|r| outcome(r) == "applied" && r["at"].as_i64().unwrap() > last_stop)
        .unwrap();
    assert_eq!(&after["replicas_before"], held, "{after}");
    assert_eq!(after["actuation"]["changed"], true, "{after}");
    d.daemon.shutdown().await.unwrap();
}

#[test]
fn a_short_or_doubled_token_is_a_config_problem() {
    let base = "[agent]\nenabled = false\n";
    let err = DaemonConfig::from_toml(&format!("api_token = \"short\"\n{base}")).unwrap_err();
    let p = err.problems();
    assert_eq!(p.len(), 1, "{err}");
    assert_eq!(p[0].path, "api_token");
    assert!(p[0].message.contains("at least 16"), "{}", p[0].message);
    assert!(
        !err.to_string().contains("short\""),
        "the token is not echoed: {err}"
    );

    let err = DaemonConfig::from_toml(&format!("api_token = \"\"\n{base}")).unwrap_err();
    assert_eq!(err.problems()[0].path, "api_token");

    let err = DaemonConfig::from_toml(&format!(
        "api_token = \"{TOKEN}\"\napi_token_file = \"/x\"\n{base}"
    ))
    .unwrap_err();
    assert_eq!(err.problems()[0].path, "api_token");

    let cfg = DaemonConfig::from_toml(&format!("api_token = \"{TOKEN}\"\n{base}")).unwrap();
    assert!(cfg.api_token.as_ref().is_some_and(|t| t.matches(TOKEN)));
    assert!(!format!("{cfg:?}").contains(TOKEN), "Debug hides the token");

    let err = DaemonConfig::from_toml(
        r#"
[agent]
enabled = false
[[workload]]
workload = "web"
metric = "cpu"
capacity_per_replica = 1.0
retry = { max_attempts = 0, color = "red" }
"#,
    )
    .unwrap_err();
    assert!(
        err.problems()
            .iter()
            .all(|p| p.path.starts_with("workload[0].retry")),
        "{err}"
    );
}

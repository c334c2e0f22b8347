//! Exogenous inputs live: a workload whose demand is another's two steps later names it as its
//! predictor (`predictors = ["up"]`), an annotation tagged `campaign` an hour ahead is an event; the
//! learn loop trains the fleet gbm with the predictor and event features, and a young workload with
//! the predictor is forecast differently from the same workload without it. Config: predictors and
//! events are validated once.

mod common;

use common::*;
use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_daemon::{Daemon, DaemonConfig};
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::Store;
use serde_json::Value;
use std::time::{Duration, Instant};

const TOKEN: &str = "exog-inputs-token-0123456789";
const STEP_MS: i64 = 300_000;
/// Three days of 5-minute steps.
const STEPS: i64 = 864;

fn config(db: &std::path::Path) -> String {
    let mut text = format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
tick = "200ms"
api_token = "{TOKEN}"
[agent]
enabled = false
[learn]
fingerprint_every = "1h"
cluster_every = "1h"
fleet_every = "10s"
"#,
        db = db.display().to_string()
    );
    for (w, extra) in [
        ("up", ""),
        ("down", "predictors = [\"up\"]\n"),
        ("other", ""),
        ("young-a", "predictors = [\"up\"]\n"),
        ("young-b", ""),
    ] {
        text.push_str(&format!(
            r#"[[workload]]
workload = "{w}"
metric = "requests"
capacity_per_replica = 10.0
step = "5m"
lead = "5m"
season = "1d"
stale_after = "1h"
{extra}"#
        ));
    }
    text
}

/// Daily demand with persistent noise (deterministic).
fn upstream(n: usize) -> Vec<f64> {
    let mut state = 17u64;
    let mut ar = 0.0;
    (0..n)
        .map(|t| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            ar = 0.9 * ar + 12.0 * u;
            let day = (t % 288) as f64 / 288.0 * std::f64::consts::TAU;
            100.0 + 40.0 * day.sin() + ar
        })
        .collect()
}

fn series(workload: &str, values: &[f64], end: i64) -> Series {
    let start = end - values.len() as i64 * STEP_MS;
    let samples = values
        .iter()
        .enumerate()
        .map(|(k, &v)| Sample {
            ts: Timestamp(start + k as i64 * STEP_MS + 1),
            value: v,
        })
        .collect();
    Series::new(
        SeriesKey::new(
            WorkloadId::new(workload).unwrap(),
            MetricName::new("requests").unwrap(),
        ),
        Labels::new(),
        samples,
    )
    .unwrap()
}

async fn post_annotation(base: &str, body: String) -> (u16, String) {
    let url = format!("{base}/api/v1/annotations");
    tokio::task::spawn_blocking(move || {
        let mut r = http()
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .send(body.as_bytes())
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

/// The feature names of the newest saved fleet gbm.
fn saved_gbm_features(db: &std::path::Path) -> Vec<String> {
    let Ok(rows) = Store::open(db).and_then(|s| s.latest_fleet_models()) else {
        return Vec::new();
    };
    rows.iter()
        .filter(|r| r.kind == "gbm")
        .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
        .flat_map(|m| {
            m["features"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(str::to_string))
        })
        .collect()
}

/// The newest decision of `workload` with a forecast.
async fn forecast_of(base: &str, workload: &str) -> Option<Value> {
    let (s, text) = get(
        base,
        &format!("/api/v1/decisions?workload={workload}&limit=5"),
    )
    .await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["decisions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| !d["model"].is_null()).cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_predictor_and_an_annotated_campaign_reach_the_fleet_gbm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let end = now_ms() / STEP_MS * STEP_MS;
    let up = upstream(STEPS as usize + 2);
    // down is 0.7 times up two steps earlier
    let down: Vec<f64> = up[..STEPS as usize].iter().map(|v| 0.7 * v).collect();
    let other: Vec<f64> = (0..STEPS)
        .map(|t| 50.0 + 20.0 * ((t % 288) as f64 / 288.0 * std::f64::consts::TAU).cos())
        .collect();
    let mut store = Store::open(&db).unwrap();
    for (w, v) in [("up", &up[2..]), ("down", &down[..]), ("other", &other[..])] {
        store.upsert_series(&series(w, v, end)).unwrap();
    }
    drop(store);
    let d = Daemon::start(DaemonConfig::from_toml(&config(&db)).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", d.local_addr());

    // a campaign an hour ahead, for two hours, fleet-wide
    let body = format!(
        r#"{{"text":"spring sale","at":{},"tags":["campaign","for=2h"]}}"#,
        now_ms() + 3_600_000
    );
    let (s, text) = post_annotation(&base, body).await;
    assert_eq!(s, 201, "{text}");

    // the learn loop trains the gbm with the predictor's and the events' features
    let begin = Instant::now();
    let features = loop {
        let f = saved_gbm_features(&db);
        if f.iter().any(|n| n == "exog.0.lead.2") && f.iter().any(|n| n == "event.campaign.active")
        {
            break f;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(120),
            "no gbm with exogenous features: {f:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        features.iter().any(|n| n == "exog.0.change.1"),
        "{features:?}"
    );
    assert!(
        !features.iter().any(|n| n.starts_with("exog.1.")),
        "one predictor slot"
    );

    // both young workloads are handed the model (young-a with up as its predictor)
    let begin = Instant::now();
    loop {
        let (s, text) = get(&base, "/api/v1/models").await;
        assert_eq!(s, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let served = v["fleet"].as_array().is_some_and(|models| {
            models.iter().any(|m| {
                m["kind"] == "gbm"
                    && m["exogenous"] == serde_json::json!({"predictors": 1, "events": true})
                    && ["young-a", "young-b"].iter().all(|w| {
                        m["offered_to"]
                            .as_array()
                            .is_some_and(|o| o.iter().any(|x| x == w))
                    })
            })
        });
        if served {
            break;
        }
        assert!(begin.elapsed() < Duration::from_secs(20), "not served: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // the same ten steps for both: too few for a local model, so the fleet gbm forecasts them
    let mut pts = Vec::new();
    for w in ["young-a", "young-b"] {
        for k in 1..=10 {
            let v = 0.7 * up[STEPS as usize - k as usize];
            pts.push(("requests", vec![("job", w)], end - k * STEP_MS + 1, v));
        }
    }
    let (s, b) = post_write(&base, encode(&from_points(pts))).await;
    assert_eq!(s, 204, "{b}");
    let begin = Instant::now();
    let (a, b) = loop {
        if let (Some(a), Some(b)) = (
            forecast_of(&base, "young-a").await,
            forecast_of(&base, "young-b").await,
        ) {
            break (a, b);
        }
        assert!(
            begin.elapsed() < Duration::from_secs(20),
            "no forecasts for the young workloads"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for d in [&a, &b] {
        let label = d["model"].as_str().unwrap_or_default();
        assert!(label.starts_with("gbm-young"), "{d}");
    }
    let point = |d: &Value| d["forecast"]["point"].as_f64().unwrap();
    assert!(
        (point(&a) - point(&b)).abs() > 1e-6,
        "the predictor changes the forecast: {a} vs {b}"
    );
    d.shutdown().await.unwrap();
}

#[test]
fn predictors_and_events_are_validated_once() {
    let workload = |w: &str, extra: &str| {
        format!(
            "[[workload]]\nworkload = \"{w}\"\nmetric = \"rps\"\ncapacity_per_replica = 10.0\n{extra}\n"
        )
    };
    let problems = |text: String| match DaemonConfig::from_toml(&format!(
        "[agent]\nenabled = false\n{text}"
    )) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    // valid: another configured workload, a stored series, events with and without an end
    let ok = format!(
        "{}{}",
        workload("up", ""),
        workload(
            "down",
            "predictors = [\"up\", { workload = \"db\", metric = \"qps\" }]\nevents = [{ at = 2025-11-28T00:00:00Z, kind = \"campaign\", until = \"2025-11-30T00:00:00Z\" }, { at = \"2025-12-25T00:00:00Z\", kind = \"holiday\" }]"
        )
    );
    let cfg = DaemonConfig::from_toml(&format!("[agent]\nenabled = false\n{ok}")).unwrap();
    let down = &cfg.control.workloads[1].drivers;
    assert_eq!(down.predictors.len(), 2);
    assert_eq!(
        down.predictors[0].metric.as_ref().map(|m| m.as_str()),
        Some("rps"),
        "a configured workload's predictor reads its demand metric"
    );
    assert_eq!(down.events.len(), 2);
    // refused, each at its path
    let p = problems(workload("down", "predictors = [\"down\"]"));
    assert!(
        p.contains("workload[0].predictors[0]: a workload's demand cannot predict itself"),
        "{p}"
    );
    let p = problems(workload("down", "predictors = [\"nowhere\"]"));
    assert!(
        p.contains("workload[0].predictors[0]: \"nowhere\" is not a configured workload"),
        "{p}"
    );
    let p = problems(workload("down", "predictors = [\"a\", \"b\", \"c\"]"));
    assert!(p.contains("at most 2 predictors"), "{p}");
    let p = problems(workload(
        "down",
        "events = [{ at = \"2025-11-28T00:00:00Z\", kind = \"sale\" }]",
    ));
    assert!(
        p.contains("workload[0].events[0].kind: \"sale\" is not an event kind"),
        "{p}"
    );
    let p = problems(workload(
        "down",
        "events = [{ at = \"2025-11-28T00:00:00Z\", kind = \"campaign\", until = \"2025-11-27T00:00:00Z\" }]",
    ));
    assert!(
        p.contains("workload[0].events[0].until: must be after at"),
        "{p}"
    );
    // with PredictiveScalers on, an unconfigured workload may still come
    let scalers = format!(
        "[kubernetes]\npredictive_scalers = true\n{}",
        workload("down", "predictors = [\"shop/gateway\"]")
    );
    assert_eq!(problems(scalers), "");
}

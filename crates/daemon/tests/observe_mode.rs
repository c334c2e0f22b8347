//! Observe mode (issue 13 item 1): with no `[[workload]]`, the busiest discovered workloads get
//! forecast-only forecasts of their demand metric, capped by `max_workloads` — even under a global
//! `mode = "act"` they never act —; a configured `[[workload]]` turns it off by default.

mod common;

use common::*;
use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_daemon::DaemonConfig;
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::Store;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The three pushed workloads and their mean demand: the two busiest are observed.
const WORKLOADS: [(&str, f64); 3] = [("light", 10.0), ("heavy", 30.0), ("medium", 20.0)];

fn demand(level: f64, ts: i64) -> f64 {
    level + 2.0 * (ts as f64 / 7000.0).sin()
}

/// Five minutes of each workload's `requests` at 1 s, ending now: enough steps of 5 s to forecast.
fn prefill(db: &std::path::Path) {
    let end = now_ms() / 1000 * 1000;
    let mut store = Store::open(db).unwrap();
    for (w, level) in WORKLOADS {
        let samples: Vec<Sample> = (0..300)
            .map(|k| {
                let ts = end - (300 - k) * 1000;
                Sample {
                    ts: Timestamp(ts),
                    value: demand(level, ts),
                }
            })
            .collect();
        let key = SeriesKey::new(
            WorkloadId::new(w).unwrap(),
            MetricName::new("requests").unwrap(),
        );
        store
            .upsert_series(&Series::new(key, Labels::default(), samples).unwrap())
            .unwrap();
    }
}

async fn feed_forever(base: String) {
    loop {
        let ts = now_ms();
        let points: Vec<_> = WORKLOADS
            .iter()
            .map(|(w, level)| ("requests", vec![("job", *w)], ts, demand(*level, ts)))
            .collect();
        post_write(&base, encode(&from_points(points))).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_busiest_discovered_workloads_get_forecast_only_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    prefill(&db);
    // A global `act` does not make observed workloads act.
    let text = format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
tick = "200ms"
mode = "act"
[agent]
enabled = false
[learn]
enabled = false
[observe]
max_workloads = 2
"#,
        db = db.display().to_string(),
    );
    let cfg = DaemonConfig::from_toml(&text).unwrap();
    assert!(cfg.observe.is_some(), "on by default without [[workload]]");
    let d = prescale_daemon::Daemon::start(cfg).await.unwrap();
    let base = format!("http://{}", d.local_addr());
    let feeder = tokio::spawn(feed_forever(base.clone()));

    // The two busiest forecast within seconds of start (their history was prefilled).
    let begin = Instant::now();
    for w in ["heavy", "medium"] {
        loop {
            let (s, text) = get(&base, &format!("/api/v1/workloads/{w}/forecast")).await;
            if s == 200 && json(&text)["source"] == "control-loop" {
                let f = &json(&text)["forecasts"][0];
                assert_eq!(f["metric"], "requests", "{text}");
                let (point, upper) = (&f["point"][0], &f["upper"][0]);
                assert!(
                    point.as_f64().is_some() && upper.as_f64().is_some(),
                    "{text}"
                );
                break;
            }
            assert!(
                begin.elapsed() < Duration::from_secs(30),
                "no forecast of {w}: {s} {text}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!("forecasts of the two busiest after {:?}", begin.elapsed());

    // Their decisions are forecast-only and never handed to an actuator.
    for w in ["heavy", "medium"] {
        let (s, text) = get(&base, &format!("/api/v1/decisions?workload={w}&limit=100")).await;
        assert_eq!(s, 200, "{text}");
        let v = json(&text);
        let decisions = v["decisions"].as_array().unwrap();
        assert!(!decisions.is_empty(), "{text}");
        for r in decisions {
            assert_eq!(r["mode"], "forecast-only", "{r}");
            assert_eq!(r["actuation"]["outcome"], "skipped", "{r}");
            assert_eq!(r["actuation"]["why"], "forecast-only mode", "{r}");
        }
    }

    // The models, /metrics: the two observed ones, like controlled ones; never the third.
    let (_, text) = get(&base, "/api/v1/models").await;
    let models: Vec<String> = json(&text)["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["workload"].as_str().map(str::to_string))
        .collect();
    assert!(models.contains(&"heavy".to_string()), "{text}");
    assert!(models.contains(&"medium".to_string()), "{text}");
    assert!(!models.contains(&"light".to_string()), "{text}");
    let (_, metrics) = get(&base, "/metrics").await;
    for w in ["heavy", "medium"] {
        let line = format!(
            "prescale_control_forecast{{bound=\"upper\",level=\"0.9\",metric=\"requests\",workload=\"{w}\"}}"
        );
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    assert!(!metrics.contains("workload=\"light\"}"), "{metrics}");

    // The third: still no forecast and no decision a while later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (s, text) = get(&base, "/api/v1/workloads/light/forecast").await;
    assert_eq!(s, 404, "{text}");
    let (_, text) = get(&base, "/api/v1/decisions?workload=light").await;
    assert_eq!(
        json(&text)["decisions"].as_array().map(Vec::len),
        Some(0),
        "{text}"
    );

    feeder.abort();
    d.shutdown().await.unwrap();
}

#[test]
fn a_configured_workload_turns_observe_mode_off_unless_asked() {
    let workload = r#"
[[workload]]
workload = "api"
metric = "rps"
capacity_per_replica = 10.0
"#;
    let c = DaemonConfig::from_toml(workload).unwrap();
    assert!(c.observe.is_none(), "off beside a [[workload]]");
    let c = DaemonConfig::from_toml(&format!("{workload}\n[observe]\nenabled = true\n")).unwrap();
    assert!(c.observe.is_some(), "on when asked");
    let scalers = "[kubernetes]\npredictive_scalers = true\n";
    assert!(DaemonConfig::from_toml(scalers).unwrap().observe.is_none());

    // Without any, the defaults: cpu_cores else the most-sampled series, 200, 5 s steps.
    let o = DaemonConfig::from_toml("").unwrap().observe.unwrap();
    assert_eq!(
        o.metrics.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["cpu_cores"]
    );
    assert!(o.any_metric);
    assert_eq!(o.max_workloads, 200);
    assert_eq!(o.step, Duration::from_secs(5));
    assert_eq!(o.capacity_per_replica, 1.0);
    let off = DaemonConfig::from_toml("[observe]\nenabled = false\n").unwrap();
    assert!(off.observe.is_none());
}

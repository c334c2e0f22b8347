//! `/api/v1/workloads` JSON shape, `/metrics` in valid exposition text (parsed with prescale-ingest),
//! prescale's own forecast series on `/metrics`.

mod common;

use common::*;
use prescale_core::{Forecast, Interval, Level, MetricName, SeriesKey, Timestamp, WorkloadId};
use prescale_ingest::exposition::{parse, Format};
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::ForecastRecord;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_json_lists_series_counts_and_last_time() {
    let d = start("").await;
    let t = now_ms() - 30_000;
    let body = from_points(vec![
        ("cpu", vec![("job", "api")], t, 1.0),
        ("cpu", vec![("job", "api")], t + 1000, 2.0),
        ("mem", vec![("job", "api")], t + 2000, 3.0),
        ("cpu", vec![("job", "db")], t, 4.0),
    ]);
    let (s, b) = post_write(&d.base, encode(&body)).await;
    assert_eq!(s, 204, "{b}");
    let (s, text) = get(&d.base, "/api/v1/workloads").await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ws = v["workloads"].as_array().unwrap();
    let api = ws
        .iter()
        .find(|w| w["workload"] == "api")
        .expect("api listed");
    assert_eq!(api["samples"], 3);
    assert_eq!(api["last_ts"], t + 2000);
    let series = api["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    for s in series {
        assert!(s["metric"].is_string() && s["samples"].is_u64(), "{s}");
        assert!(s["first_ts"].is_i64() && s["last_ts"].is_i64(), "{s}");
    }
    assert!(ws.iter().any(|w| w["workload"] == "db"));
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_carry_forecasts() {
    let d = start("").await;
    let t = now_ms() - 10_000;
    let (s, _) = post_write(
        &d.base,
        encode(&from_points(vec![("cpu", vec![("job", "api")], t, 1.0)])),
    )
    .await;
    assert_eq!(s, 204);
    // A forecast saved by the (future) control loop, issued now: its first step covers the next minute.
    let key = SeriesKey::new(
        WorkloadId::new("api").unwrap(),
        MetricName::new("cpu").unwrap(),
    );
    let key = store(&d.db)
        .workload_summaries()
        .unwrap()
        .into_iter()
        .flat_map(|w| {
            let wid = w.workload.clone();
            w.series
                .into_iter()
                .map(move |s| SeriesKey::new(wid.clone(), s.metric))
        })
        .find(|k| k.workload == key.workload)
        .unwrap_or(key);
    let f = Forecast::new(
        vec![10.0, 11.0],
        vec![8.0, 9.0],
        vec![12.0, 13.5],
        Level::new(90.0).unwrap(),
    )
    .unwrap();
    store(&d.db)
        .save_forecast(&ForecastRecord {
            key: key.clone(),
            model_id: None,
            issued_at: Timestamp(now_ms()),
            step: Interval::from_secs(60).unwrap(),
            forecast: f,
        })
        .unwrap();

    let (s, text) = get(&d.base, "/metrics").await;
    assert_eq!(s, 200);
    let expo = parse(&text, Format::Text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    fn find<'a>(
        e: &'a prescale_ingest::exposition::Exposition,
        name: &'a str,
    ) -> impl Iterator<Item = &'a prescale_ingest::RawSample> + 'a {
        e.samples.iter().filter(move |s| s.name == name)
    }
    assert!(
        find(&expo, "prescale_samples_ingested_total").any(|s| s.value == 1.0),
        "{text}"
    );
    assert_eq!(
        find(&expo, "prescale_store_append_seconds_count")
            .next()
            .map(|s| s.value > 0.0),
        Some(true)
    );
    assert!(find(&expo, "prescale_series_tracked").any(|s| s.value >= 1.0));
    let upper: Vec<f64> = find(&expo, "prescale_forecast")
        .filter(|s| s.labels.iter().any(|(k, v)| k == "bound" && v == "upper"))
        .map(|s| s.value)
        .collect();
    assert_eq!(upper, vec![12.0], "{text}");
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_limits_follow_one_rule() {
    let d = start("").await;
    for route in [
        "/api/v1/decisions",
        "/api/v1/anomalies",
        "/api/v1/annotations",
    ] {
        for bad in ["0", "18446744073709551616", "-1", "many"] {
            let (s, body) = get(&d.base, &format!("{route}?limit={bad}")).await;
            assert_eq!(s, 400, "{route}?limit={bad}: {body}");
        }
        let (s, body) = get(&d.base, &format!("{route}?limit=1")).await;
        assert_eq!(s, 200, "{route}: {body}");
    }
    let (s, body) = get(&d.base, "/api/v1/decisions?limit=10001").await;
    assert_eq!(s, 400);
    assert!(body.contains("not within 1..=10000"), "{body}");
    let (s, _) = get(&d.base, "/api/v1/decisions?limit=10000&workload=api").await;
    assert_eq!(s, 200);
    d.daemon.shutdown().await.unwrap();
}

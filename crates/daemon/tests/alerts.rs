//! Anomalies end to end: a steady workload is forecast and scored step by step; a sudden spike far
//! outside the band opens an anomaly event, which is served on `/api/v1/anomalies`, counted on
//! `/metrics` and posted, signed, to the `[alerts]` webhook (a receiver in the test).

mod common;

use common::*;
use prescale_ingest::remote_write::{encode, from_points};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "alert-secret-for-the-test";

/// What the receiver got: (signature header, body) per POST.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A one-thread HTTP receiver: records each POST, answers 200.
fn receiver() -> (String, Received) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alerts", l.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let (mut len, mut sig) = (0usize, String::new());
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-prescale-signature:") {
                    sig = line.split_once(':').unwrap().1.trim().to_string();
                }
                line.clear();
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            sink.lock().unwrap().push((sig, body));
            let mut w = conn;
            let _ =
                w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_opens_an_anomaly_that_is_served_counted_and_posted() {
    let (url, got) = receiver();
    std::env::set_var("PRESCALE_TEST_ALERT_SECRET", SECRET);
    let d = start(&format!(
        r#"
tick = "100ms"
[learn]
enabled = false
[alerts]
webhook = "{url}"
secret_env = "PRESCALE_TEST_ALERT_SECRET"
[[workload]]
workload = "api"
metric = "rps"
capacity_per_replica = 10.0
step = "500ms"
lead = "500ms"
stale_after = "1h"
"#
    ))
    .await;
    // Steady demand with a small deterministic wiggle: a minute of history, then live.
    let value = |ts: i64| 100.0 + ((ts / 100) % 7) as f64;
    let t0 = now_ms() - 60_000;
    let pts: Vec<_> = (0..600)
        .map(|i| t0 + i * 100)
        .map(|ts| ("rps", vec![("job", "api")], ts, value(ts)))
        .collect();
    assert_eq!(post_write(&d.base, encode(&from_points(pts))).await.0, 204);
    let feed = |ts: i64, v: f64| {
        let base = d.base.clone();
        async move {
            let body = encode(&from_points(vec![("rps", vec![("job", "api")], ts, v)]));
            assert_eq!(post_write(&base, body).await.0, 204);
        }
    };
    // Enough scored steps for the detector (36 residuals), then a spike of 10× for two steps.
    let begin = Instant::now();
    loop {
        let ts = now_ms();
        feed(ts, value(ts)).await;
        let (_, text) = get(&d.base, "/api/v1/models").await;
        let v: Value = serde_json::from_str(&text).unwrap();
        let count = v["models"][0]["stats"]
            .as_array()
            .and_then(|rows| {
                rows.iter()
                    .find(|r| r["model"].is_null() && r["horizon"].is_null())
            })
            .and_then(|r| r["all_time"]["count"].as_u64())
            .unwrap_or(0);
        if count >= 100 {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(90),
            "never scored: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let spike_from = now_ms();
    while now_ms() < spike_from + 1_200 {
        feed(now_ms(), 1000.0).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let begin = Instant::now();
    let event = loop {
        let ts = now_ms();
        feed(ts, value(ts)).await;
        let (_, text) = get(&d.base, "/api/v1/anomalies?workload=api").await;
        let v: Value = serde_json::from_str(&text).unwrap();
        if let Some(e) = v["anomalies"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["change"] == "opened").cloned())
        {
            break e;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "no anomaly: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(event["event"]["direction"], "above", "{event}");
    assert!(
        event["event"]["peak_actual"].as_f64().unwrap() > 500.0,
        "{event}"
    );
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        metrics.contains("prescale_anomaly_events_total{workload=\"api\"} 1")
            || metrics.contains("prescale_anomaly_events_total{workload=\"api\"} 2"),
        "{metrics}"
    );
    // Posted to the webhook, signed with the secret.
    let begin = Instant::now();
    let (sig, body) = loop {
        if let Some(p) = got.lock().unwrap().first().cloned() {
            break p;
        }
        assert!(begin.elapsed() < Duration::from_secs(10), "nothing posted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        prescale_actuate::verify_signature(SECRET.as_bytes(), &body, &sig),
        "bad signature {sig}"
    );
    let posted: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(posted["kind"], "anomaly");
    assert_eq!(posted["change"], "opened");
    d.daemon.shutdown().await.unwrap();
}

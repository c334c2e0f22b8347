//! The remote-write receiver's limits over real HTTP (issue 12): the in-flight byte budget (429 +
//! `Retry-After`), the per-request sample cap and the decompressed size (413), unsupported
//! encodings and remote-write 2.0 (415), invalid metric names and the per-workload series cap
//! (counted rejections, the rest stored), and a request larger than one chunk stored whole.

mod common;

use common::*;
use prescale_ingest::remote_write::{
    encode, from_points, Label, PbSample, TimeSeries, WriteRequest,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One response: status, header block (lower-cased), body.
struct Reply {
    status: u16,
    headers: String,
    body: String,
}

fn addr(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

/// Sends a request with exactly these headers (plus Host, Content-Length, Connection: close).
async fn raw_post(base: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let addr = addr(base);
    let head: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST /api/v1/write HTTP/1.1\r\nHost: {addr}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(&body).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = headers
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Reply {
            status,
            headers: headers.to_ascii_lowercase(),
            body: body.to_string(),
        }
    })
    .await
    .unwrap()
}

const V1: [(&str, &str); 2] = [
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
];

fn gauge(job: &str, series: usize, per_series: usize, t0: i64) -> WriteRequest {
    from_points((0..series).flat_map(|s| {
        (0..per_series).map(move |i| {
            (
                "queue_depth",
                [("job", job.to_string()), ("queue", format!("q{s}"))],
                t0 + i as i64,
                i as f64,
            )
        })
    }))
}

fn stored_samples(db: &std::path::Path, workload: &str) -> usize {
    store(db)
        .workload_summaries()
        .unwrap()
        .iter()
        .filter(|w| w.workload.as_str() == workload)
        .flat_map(|w| &w.series)
        .map(|s| s.samples)
        .sum()
}

/// `prescale_remote_write_inflight_bytes` from `/metrics`.
async fn inflight_bytes(base: &str) -> f64 {
    let (s, text) = get(base, "/metrics").await;
    assert_eq!(s, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("prescale_remote_write_inflight_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the in-flight gauge on /metrics")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_in_flight_budget_requests_get_429_with_retry_after() {
    // Budget = exactly one body of each maximum: three held 64 KiB bodies fill it.
    let d = start(
        "[remote_write]\nmax_body_bytes = 65536\nmax_decompressed_bytes = 131072\nmax_inflight_bytes = 196608\n",
    )
    .await;
    let addr = addr(&d.base);
    // Three requests that announce a full-size body and send only part of it: each holds its
    // reservation while the server waits for the rest.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "POST /api/v1/write HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: 65536\r\n\r\n"
        )
        .unwrap();
        s.write_all(&[0u8; 100]).unwrap();
        held.push(s);
    }
    // Probe only once the three hold their reservations (the gauge on /metrics): a probe that
    // reaches the handler first is rightly accepted (and stored), which is not what this tests.
    let mut held_bytes = 0.0;
    for _ in 0..100 {
        held_bytes = inflight_bytes(&d.base).await;
        if held_bytes == 196_608.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(held_bytes, 196_608.0, "the three held requests reserve");
    let body = encode(&gauge("budget", 1, 3, now_ms() - 10_000));
    let r = raw_post(&d.base, &V1, body.clone()).await;
    assert_eq!(r.status, 429, "a request past the budget: {}", r.body);
    assert!(r.headers.contains("retry-after: 2"), "{}", r.headers);
    assert!(r.body.contains("max_inflight_bytes"), "{}", r.body);
    assert_eq!(stored_samples(&d.db, "budget"), 0);
    assert_eq!(d.daemon.metrics().rejected_total("in_flight_budget"), 1);
    // The budget comes back when the held requests go away.
    drop(held);
    for _ in 0..100 {
        if inflight_bytes(&d.base).await == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut status = 0;
    for _ in 0..50 {
        status = raw_post(&d.base, &V1, body.clone()).await.status;
        if status == 204 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 204);
    assert_eq!(stored_samples(&d.db, "budget"), 3);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_answer_413_and_store_nothing() {
    let d = start("[remote_write]\nmax_samples = 10\nmax_decompressed_bytes = 4096\n").await;
    let t0 = now_ms() - 60_000;
    // 11 samples: over the per-request cap, refused whole.
    let r = raw_post(&d.base, &V1, encode(&gauge("cap", 1, 11, t0))).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(
        r.body
            .contains("request has 11 samples, over the limit of 10 per request"),
        "{}",
        r.body
    );
    // A body whose snappy header declares more than max_decompressed_bytes (the README promises
    // 413 for size limits; it was 400).
    let big = snap::raw::Encoder::new()
        .compress_vec(&[0u8; 5000])
        .unwrap();
    let r = raw_post(&d.base, &V1, big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("decompressed_too_large"), "{}", r.body);
    assert_eq!(stored_samples(&d.db, "cap"), 0);
    // At the cap it goes in.
    let r = raw_post(&d.base, &V1, encode(&gauge("cap", 1, 10, t0))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(stored_samples(&d.db, "cap"), 10);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_encodings_and_remote_write_2_0_get_415() {
    let d = start("").await;
    let body = encode(&gauge("media", 1, 2, now_ms() - 10_000));
    let gzip = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "gzip"),
    ];
    let r = raw_post(&d.base, &gzip, body.clone()).await;
    assert_eq!(r.status, 415, "{}", r.body);
    assert!(r.body.contains("\"gzip\""), "{}", r.body);
    let v2 = [
        (
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        ),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "2.0.0"),
    ];
    let r = raw_post(&d.base, &v2, body.clone()).await;
    assert_eq!(r.status, 415, "{}", r.body);
    assert!(r.body.contains("remote-write 1.0"), "{}", r.body);
    let json = [("Content-Type", "application/json")];
    assert_eq!(raw_post(&d.base, &json, body.clone()).await.status, 415);
    assert_eq!(stored_samples(&d.db, "media"), 0);
    assert_eq!(
        d.daemon.metrics().rejected_total("unsupported_media_type"),
        3
    );
    // 1.0 as Prometheus sends it, with the 2.0-style name of the 1.0 message too.
    let v1_named = [
        (
            "Content-Type",
            "application/x-protobuf;proto=prometheus.WriteRequest",
        ),
        ("Content-Encoding", "snappy"),
    ];
    assert_eq!(raw_post(&d.base, &v1_named, body).await.status, 204);
    assert_eq!(stored_samples(&d.db, "media"), 2);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_metric_names_are_counted_rejections_and_the_rest_is_stored() {
    let d = start("").await;
    let t = now_ms() - 10_000;
    let series = |name: &str| TimeSeries {
        labels: vec![Label::new("__name__", name), Label::new("job", "names")],
        samples: vec![PbSample {
            value: 1.0,
            timestamp: t,
        }],
        exemplars: vec![],
    };
    let req = WriteRequest {
        timeseries: vec![
            series("good_name:sum"),
            series("bad-name"),
            series("9starts_with_digit"),
            series("dotted.name"),
        ],
        metadata: vec![],
    };
    let r = raw_post(&d.base, &V1, encode(&req)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("3 samples rejected (invalid_metric_name 3); 1 accepted and stored"),
        "{}",
        r.body
    );
    assert_eq!(stored_samples(&d.db, "names"), 1);
    assert_eq!(d.daemon.metrics().rejected_total("invalid_metric_name"), 3);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_workload_cannot_take_every_series_slot() {
    let d = start("[admission]\nmax_series = 10\nmax_series_per_workload = 4\n").await;
    let t0 = now_ms() - 60_000;
    // The noisy sender's 8 new series: 4 kept, 4 refused for its workload's cap.
    let r = raw_post(&d.base, &V1, encode(&gauge("noisy", 8, 2, t0))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("workload_series_limit 8"), "{}", r.body);
    assert_eq!(stored_samples(&d.db, "noisy"), 8);
    // Another workload still gets new series.
    let r = raw_post(&d.base, &V1, encode(&gauge("quiet", 3, 2, t0))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(stored_samples(&d.db, "quiet"), 6);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_series_give_their_slots_back_after_the_configured_expiry() {
    let d = start("[admission]\nmax_series_per_workload = 1\nseries_idle_expiry = \"6s\"\n").await;
    let now = now_ms();
    // A series whose newest sample is two minutes old is idle past the 6 s expiry by the time
    // the next request sweeps (sweeps run every expiry / 6 = 1 s, the first at once).
    let old = encode(&gauge("expiry", 1, 1, now - 120_000));
    assert_eq!(raw_post(&d.base, &V1, old).await.status, 204);
    let mut fresh = gauge("expiry", 1, 1, now - 1_000);
    fresh.timeseries[0].labels[2].value = "another".into();
    let mut status = 0;
    for _ in 0..150 {
        status = raw_post(&d.base, &V1, encode(&fresh)).await.status;
        if status == 204 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 204, "the idle series' slot was not given back");
    assert_eq!(stored_samples(&d.db, "expiry"), 2);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_many_chunks_is_stored_whole_before_204() {
    let d = start("").await;
    // 50 000 samples in one series: several chunks of the receiver.
    let r = raw_post(
        &d.base,
        &V1,
        encode(&gauge("chunky", 1, 50_000, now_ms() - 100_000)),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(stored_samples(&d.db, "chunky"), 50_000);
    assert_eq!(d.daemon.metrics().ingested_total("remote_write"), 50_000);
    d.daemon.shutdown().await.unwrap();
}

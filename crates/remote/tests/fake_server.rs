//! Client and writer behaviour against a scripted HTTP server: chunking, auth, errors, retries.

mod common;

use common::{HttpThread, Scripted};
use prescale_core::{Interval, Labels, Timestamp};
use prescale_ingest::remote_write::{decode, Limits};
use prescale_remote::naming::PromSample;
use prescale_remote::{
    ClientOptions, PromClient, RemoteError, RemoteWriter, RetryPolicy, TimeRange, WriterOptions,
};
use std::time::Duration;

fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let unescape = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (unescape(k), unescape(v)))
        .collect()
}

fn param<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(a, _)| a == k)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m","job":"a"},"values":[[10,"1"],[20,"NaN"],[30,"3"]]}]}}"#;

#[test]
fn query_range_chunks_authenticates_and_counts_non_finite() {
    let server = Scripted::start(vec![(200, MATRIX)]);
    let client = PromClient::new(
        &server.http.url(),
        ClientOptions::default().with_bearer("s3cret"),
    )
    .unwrap()
    .with_max_points(4);
    let mut seen = Vec::new();
    let answer = client
        .query_range_with_progress(
            "sum(rate(x[5m]))",
            TimeRange::new(Timestamp(0), Timestamp(100_000)).unwrap(),
            Interval::from_secs(10).unwrap(),
            &mut |p| seen.push((p.done, p.total)),
        )
        .unwrap();
    // 11 grid points at <= 4 per request: [0,30] [40,70] [80,100].
    assert_eq!(seen, vec![(1, 3), (2, 3), (3, 3)]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].path, "/api/v1/query_range");
    assert_eq!(reqs[0].header("authorization"), Some("Bearer s3cret"));
    let f: Vec<_> = reqs.iter().map(|r| form(&r.body)).collect();
    assert_eq!(param(&f[0], "query"), "sum(rate(x[5m]))");
    let starts: Vec<_> = f.iter().map(|f| param(f, "start").to_string()).collect();
    let ends: Vec<_> = f.iter().map(|f| param(f, "end").to_string()).collect();
    assert_eq!(starts, ["0.000", "40.000", "80.000"]);
    assert_eq!(ends, ["30.000", "70.000", "100.000"]);
    assert_eq!(param(&f[1], "step"), "10.000");
    // The same series came back in each chunk: merged and de-duplicated, NaNs counted.
    assert_eq!(answer.series.len(), 1);
    let s = &answer.series[0];
    assert_eq!(s.samples.len(), 2);
    assert_eq!(s.dropped_non_finite, 3);
}

#[test]
fn api_errors_are_typed() {
    let server = Scripted::start(vec![(
        422,
        r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples"}"#,
    )]);
    let client = PromClient::new(&server.http.url(), ClientOptions::default()).unwrap();
    let err = client.query("up", None).unwrap_err();
    match &err {
        RemoteError::Http {
            status: 422,
            error_type: Some(t),
            message,
            ..
        } => {
            assert_eq!(t, "execution");
            assert!(message.contains("too many samples"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_transient());

    let garbage = Scripted::start(vec![(200, "<html>proxy login</html>")]);
    let client = PromClient::new(&garbage.http.url(), ClientOptions::default()).unwrap();
    assert!(matches!(
        client.query("up", None),
        Err(RemoteError::BadResponse { .. })
    ));
}

#[test]
fn slow_server_times_out() {
    let slow = HttpThread::start(|_| {
        std::thread::sleep(Duration::from_millis(1500));
        (200, "application/json".into(), MATRIX.into())
    });
    let client = PromClient::new(
        &slow.url(),
        ClientOptions::default().with_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let err = client.query("up", None).unwrap_err();
    assert!(matches!(err, RemoteError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
}

fn sample(v: f64, ts: i64) -> PromSample {
    let mut labels = Labels::new();
    labels.insert("workload".into(), "web".into());
    PromSample {
        name: "prescale_test".into(),
        labels,
        ts: Timestamp(ts),
        value: v,
    }
}

fn fast_retry() -> WriterOptions {
    WriterOptions {
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            retry_on_429: false,
        },
        ..WriterOptions::default()
    }
}

#[test]
fn writer_retries_5xx_then_succeeds_with_standard_headers() {
    let server = Scripted::start(vec![(503, "busy"), (500, "oops"), (204, "")]);
    let writer =
        RemoteWriter::new(&format!("{}/api/v1/write", server.http.url()), fast_retry()).unwrap();
    let stats = writer
        .push(&[sample(2.0, 2000), sample(1.0, 1000)])
        .unwrap();
    assert_eq!(stats.requests, 1);
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.samples, 2);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    let r = &reqs[2];
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-encoding"), Some("snappy"));
    assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(r.header("x-prometheus-remote-write-version"), Some("0.1.0"));
    let decoded = decode(&r.body, &Limits::default()).unwrap();
    assert_eq!(decoded.timeseries.len(), 1);
    let ts: Vec<_> = decoded.timeseries[0]
        .samples
        .iter()
        .map(|s| (s.timestamp, s.value))
        .collect();
    assert_eq!(ts, vec![(1000, 1.0), (2000, 2.0)]);
}

#[test]
fn writer_does_not_retry_4xx_and_reports_the_body() {
    let server = Scripted::start(vec![(400, "out of order sample"), (204, "")]);
    let writer =
        RemoteWriter::new(&format!("{}/api/v1/write", server.http.url()), fast_retry()).unwrap();
    let err = writer.push(&[sample(1.0, 1)]).unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("out of order sample"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn writer_gives_up_on_a_dead_endpoint() {
    let port = prescale_remote::testkit::free_port().unwrap();
    let writer = RemoteWriter::new(
        &format!("http://127.0.0.1:{port}/api/v1/write"),
        fast_retry(),
    )
    .unwrap();
    match writer.push(&[sample(1.0, 1)]).unwrap_err() {
        RemoteError::RetriesExhausted { attempts, last } => {
            assert_eq!(attempts, 4);
            assert!(matches!(*last, RemoteError::Connection { .. }), "{last:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn writer_splits_large_pushes() {
    let server = Scripted::start(vec![(204, "")]);
    let writer = RemoteWriter::new(
        &format!("{}/api/v1/write", server.http.url()),
        WriterOptions {
            max_samples_per_request: 3,
            ..fast_retry()
        },
    )
    .unwrap();
    let samples: Vec<_> = (0..7).map(|i| sample(i as f64, i * 1000)).collect();
    let stats = writer.push(&samples).unwrap();
    assert_eq!(stats.requests, 3);
    let mut all = Vec::new();
    for r in server.requests() {
        for t in decode(&r.body, &Limits::default()).unwrap().timeseries {
            all.extend(t.samples.iter().map(|s| s.timestamp));
        }
    }
    assert_eq!(all, (0..7).map(|i| i * 1000).collect::<Vec<_>>());
}

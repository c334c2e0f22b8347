//! The remote-write receiver over real HTTP: acknowledged samples are in the store; bad bodies get
//! 400/413 with a reason and the server keeps serving.

mod common;

use common::*;
use prescale_ingest::remote_write::{encode, from_points, WriteRequest};
use std::time::Duration;

fn payload(job: &str, n_series: usize, n_samples: usize, t0: i64) -> WriteRequest {
    let mut pts = Vec::new();
    for s in 0..n_series {
        for i in 0..n_samples {
            pts.push((
                "queue_depth".to_string(),
                vec![
                    ("job".to_string(), job.to_string()),
                    ("queue".to_string(), format!("q{s}")),
                ],
                t0 + i as i64 * 1000,
                (s * 100 + i) as f64,
            ));
        }
    }
    from_points(pts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_payload_is_stored_before_204() {
    let d = start("").await;
    let t0 = now_ms() - 60_000;
    let (status, body) = post_write(&d.base, encode(&payload("checkout", 3, 5, t0))).await;
    assert_eq!(status, 204, "{body}");
    // 204 means committed: the samples are readable at once, through another connection.
    let summaries = store(&d.db).workload_summaries().unwrap();
    let w = summaries
        .iter()
        .find(|w| w.workload.as_str() == "checkout")
        .expect("workload stored");
    assert_eq!(w.series.len(), 3);
    assert!(w.series.iter().all(|s| s.samples == 5), "{:?}", w.series);
    assert_eq!(d.daemon.metrics().ingested_total("remote_write"), 15);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_refused_with_reasons_and_the_server_survives() {
    let d = start("[remote_write]\nmax_body_bytes = 65536\n").await;
    let good = encode(&payload("web", 1, 3, now_ms() - 10_000));

    let (s, b) = post_write(&d.base, b"this is not snappy at all".to_vec()).await;
    assert_eq!(s, 400, "garbage: {b}");
    assert!(b.contains("malformed"), "{b}");

    let (s, b) = post_write(&d.base, good[..good.len() / 2].to_vec()).await;
    assert_eq!(s, 400, "truncated snappy: {b}");

    let wrong = snap::raw::Encoder::new()
        .compress_vec(&[0xff, 0xff, 0xff, 0x07, 0x01, 0x02])
        .unwrap();
    let (s, b) = post_write(&d.base, wrong).await;
    assert_eq!(s, 400, "wrong protobuf: {b}");

    let (s, b) = post_write(&d.base, vec![0u8; 70_000]).await;
    assert_eq!(s, 413, "oversized: {b}");

    // NaN and far-future samples are counted rejections; the finite ones beside them are stored.
    let t = now_ms() - 5_000;
    let mixed = from_points(vec![
        ("temp", vec![("job", "nan-test")], t, 1.0),
        ("temp", vec![("job", "nan-test")], t + 1000, f64::NAN),
        ("temp", vec![("job", "nan-test")], t + 2000, f64::INFINITY),
        ("temp", vec![("job", "nan-test")], t + 400 * 86_400_000, 3.0),
    ]);
    let (s, b) = post_write(&d.base, encode(&mixed)).await;
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("3 samples rejected"), "{b}");
    assert!(b.contains("1 accepted"), "{b}");

    // Still serving, and good data still goes in.
    let (s, _) = get(&d.base, "/healthz").await;
    assert_eq!(s, 200);
    let (s, b) = post_write(&d.base, good).await;
    assert_eq!(s, 204, "{b}");
    let summaries = store(&d.db).workload_summaries().unwrap();
    let names: Vec<&str> = summaries.iter().map(|w| w.workload.as_str()).collect();
    assert!(
        names.contains(&"web") && names.contains(&"nan-test"),
        "{names:?}"
    );

    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        metrics.contains(
            "prescale_samples_rejected_total{source=\"remote_write\",reason=\"malformed\"} 3"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("reason=\"body_too_large\"} 1"),
        "{metrics}"
    );
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_all_land() {
    let d = start("").await;
    let t0 = now_ms() - 100_000;
    let mut tasks = Vec::new();
    for c in 0..4 {
        let base = d.base.clone();
        tasks.push(tokio::spawn(async move {
            for r in 0..5 {
                let body = encode(&payload(&format!("client{c}"), 10, 2, t0 + r * 10_000));
                let (s, b) = post_write(&base, body).await;
                assert_eq!(s, 204, "{b}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        d.daemon.metrics().ingested_total("remote_write"),
        4 * 5 * 10 * 2
    );
    let summaries = store(&d.db).workload_summaries().unwrap();
    let total: usize = summaries
        .iter()
        .flat_map(|w| &w.series)
        .map(|s| s.samples)
        .sum();
    assert_eq!(total, 400);
    let _ = Duration::ZERO;
    d.daemon.shutdown().await.unwrap();
}

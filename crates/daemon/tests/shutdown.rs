//! Graceful shutdown commits points still waiting for a flush.

mod common;

use common::*;
use prescale_core::{MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_points_are_flushed_on_shutdown() {
    // A flush interval far longer than the test, and no agent or retention run that would commit
    // the pending batch along with its own work: only shutdown can commit these.
    let d = start(
        "[writer]\nflush_interval = \"1h\"\n[agent]\nenabled = false\n[retention]\nraw_for = \"forever\"\n",
    )
    .await;
    let key = SeriesKey::new(
        WorkloadId::new("late").unwrap(),
        MetricName::new("x").unwrap(),
    );
    let t = now_ms();
    let points: Vec<Point> = (0..10)
        .map(|i| Point {
            key: key.clone(),
            labels: Default::default(),
            sample: Sample {
                ts: Timestamp(t - 10_000 + i * 1000),
                value: i as f64,
            },
        })
        .collect();
    d.daemon.writer().write(points).await.unwrap();
    let before = store(&d.db).workload_summaries().unwrap();
    assert!(
        before.iter().all(|w| w.workload.as_str() != "late"),
        "not committed yet"
    );
    let db = d.db.clone();
    d.daemon.shutdown().await.unwrap();
    let after = store(&db).workload_summaries().unwrap();
    let w = after
        .iter()
        .find(|w| w.workload.as_str() == "late")
        .expect("flushed");
    assert_eq!(w.series[0].samples, 10);
}

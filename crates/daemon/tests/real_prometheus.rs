//! A real Prometheus scrapes an in-test target and remote-writes to the daemon, which stores it.

mod common;

use axum::routing::get as route_get;
use axum::Router;
use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_remote_writes_into_the_store() {
    let app = Router::new().route(
        "/metrics",
        route_get(|| async {
            "# TYPE orders_in_queue gauge\norders_in_queue{queue=\"eu\"} 42\n\
             # TYPE orders_total counter\norders_total 1000\n"
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });

    let d = start("").await;
    let yaml = format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: orders
    static_configs:
      - targets: ["{target}"]
remote_write:
  - url: {}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
"#,
        d.base
    );
    let Some(_prom) = tokio::task::spawn_blocking(move || prometheus::start(&yaml))
        .await
        .unwrap()
    else {
        return;
    };
    let db = d.db.clone();
    eventually(
        "orders_in_queue from Prometheus in the store",
        Duration::from_secs(60),
        || {
            store(&db).workload_summaries().unwrap().iter().any(|w| {
                w.workload.as_str() == "orders"
                    && w.series
                        .iter()
                        .any(|s| s.metric.as_str().starts_with("orders_in_queue"))
            })
        },
    )
    .await;
    assert!(d.daemon.metrics().ingested_total("remote_write") > 0);
    d.daemon.shutdown().await.unwrap();
}

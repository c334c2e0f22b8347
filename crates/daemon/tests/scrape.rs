//! Scraping an in-test `/metrics` target (Prometheus text and OpenMetrics) into the store; a dead
//! target is counted as failed without stalling the live one.

mod common;

use axum::http::header;
use axum::routing::get as route_get;
use axum::Router;
use common::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Serves a counter that grows by 10 per scrape, a gauge, and a histogram.
async fn target(openmetrics: bool) -> String {
    let hits = Arc::new(AtomicU64::new(0));
    let app = Router::new().route(
        "/metrics",
        route_get(move || {
            let hits = hits.clone();
            async move {
                let n = hits.fetch_add(1, Ordering::SeqCst);
                let mut body = format!(
                    "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
                     http_requests_total{{job=\"shop\",code=\"200\"}} {}\n\
                     # TYPE queue_depth gauge\nqueue_depth{{job=\"shop\"}} {}\n\
                     # TYPE latency_seconds histogram\n\
                     latency_seconds_bucket{{job=\"shop\",le=\"0.1\"}} {}\n\
                     latency_seconds_bucket{{job=\"shop\",le=\"+Inf\"}} {}\n\
                     latency_seconds_sum{{job=\"shop\"}} {}\nlatency_seconds_count{{job=\"shop\"}} {}\n",
                    n * 10,
                    n % 7,
                    n,
                    n * 2,
                    n as f64 * 0.3,
                    n * 2
                );
                let ct = if openmetrics {
                    // OpenMetrics names the counter family without its `_total` suffix.
                    body = body
                        .replace("# HELP http_requests_total", "# HELP http_requests")
                        .replace("# TYPE http_requests_total", "# TYPE http_requests");
                    body.push_str("# EOF\n");
                    "application/openmetrics-text; version=1.0.0; charset=utf-8"
                } else {
                    "text/plain; version=0.0.4"
                };
                ([(header::CONTENT_TYPE, ct)], body)
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    format!("http://{addr}/metrics")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraped_series_reach_the_store() {
    let text_url = target(false).await;
    let om_url = target(true).await;
    let d = start(&format!(
        r#"
[writer]
flush_interval = "50ms"
[[scrape]]
name = "text"
url = "{text_url}"
interval = "1s"
[[scrape]]
name = "openmetrics"
url = "{om_url}"
interval = "1s"
[[scrape]]
name = "dead"
url = "http://127.0.0.1:9/metrics"
interval = "1s"
timeout = "200ms"
"#
    ))
    .await;
    let db = d.db.clone();
    let m = d.daemon.metrics();
    // Counters become rates from the second scrape on: wait until the store has a rate series.
    eventually(
        "a counter rate from each target",
        Duration::from_secs(30),
        || {
            m.ingested_total("scrape:text") > 0
                && m.ingested_total("scrape:openmetrics") > 0
                && store(&db)
                    .workload_summaries()
                    .unwrap()
                    .iter()
                    .flat_map(|w| &w.series)
                    .any(|s| s.metric.as_str().contains("http_requests_total:rate"))
        },
    )
    .await;
    let summaries = store(&db).workload_summaries().unwrap();
    let shop = summaries
        .iter()
        .find(|w| w.workload.as_str() == "shop")
        .expect("workload from the job label");
    let metrics: Vec<&str> = shop.series.iter().map(|s| s.metric.as_str()).collect();
    assert!(
        metrics.iter().any(|m| m.starts_with("queue_depth")),
        "{metrics:?}"
    );
    let (_, text) = get(&d.base, "/metrics").await;
    assert!(
        text.contains("prescale_scrape_up{target=\"text\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("prescale_scrape_up{target=\"dead\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("prescale_scrape_failures_total{target=\"dead\"}"),
        "{text}"
    );
    d.daemon.shutdown().await.unwrap();
}

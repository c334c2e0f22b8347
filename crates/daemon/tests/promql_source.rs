//! `[[source.promql]]` (issue 13 item 5): a real Prometheus scrapes an in-test target, and the
//! daemon reads the series from it by PromQL every second, maps them to workloads by the default
//! rules (the `job` label) and stores them; a bad source is refused with its path.

mod common;

use axum::routing::get as route_get;
use axum::Router;
use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_read_by_promql_from_a_real_prometheus_are_stored() {
    let app = Router::new().route(
        "/metrics",
        route_get(|| async {
            "# TYPE orders_in_queue gauge\norders_in_queue{queue=\"eu\"} 42\norders_in_queue{queue=\"us\"} 7\n"
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    let yaml = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: orders\n    static_configs:\n      - targets: [\"{target}\"]\n"
    );
    let Some(prom) = tokio::task::spawn_blocking(move || prometheus::start(&yaml))
        .await
        .unwrap()
    else {
        return;
    };
    let d = start(&format!(
        "[[source.promql]]\nname = \"orders\"\nurl = \"{}\"\nquery = 'orders_in_queue{{queue=\"eu\"}}'\ninterval = \"1s\"\n",
        prom.base
    ))
    .await;
    let db = d.db.clone();
    eventually(
        "orders_in_queue read by PromQL in the store, two samples or more",
        Duration::from_secs(60),
        || {
            store(&db).workload_summaries().unwrap().iter().any(|w| {
                w.workload.as_str() == "orders"
                    && w.series
                        .iter()
                        .any(|s| s.metric.as_str().starts_with("orders_in_queue") && s.samples >= 2)
            })
        },
    )
    .await;
    // only what the query selects: the us queue is scraped by Prometheus but not queried
    let summaries = store(&db).workload_summaries().unwrap();
    let orders = summaries
        .iter()
        .find(|w| w.workload.as_str() == "orders")
        .unwrap();
    assert!(
        orders
            .series
            .iter()
            .all(|s| s.labels.get("queue").map(String::as_str) != Some("us")),
        "{orders:?}"
    );
    assert!(d.daemon.metrics().ingested_total("promql:orders") >= 2);
    d.daemon.shutdown().await.unwrap();
}

#[test]
fn bad_promql_sources_are_named_by_their_path() {
    let text = "[[source.promql]]\nname = \"\"\nurl = \"ftp://x\"\nquery = \" \"\ninterval = \"2s\"\ntimeout = \"5s\"\nmetric = \"not a name\"\n";
    let problems: Vec<String> = match prescale_daemon::DaemonConfig::from_toml(text) {
        Ok(_) => panic!("accepted {text}"),
        Err(e) => e.problems().iter().map(|p| p.to_string()).collect(),
    };
    for field in ["name", "url", "query", "timeout", "metric"] {
        let path = format!("source.promql[0].{field}");
        assert!(
            problems.iter().any(|p| p.starts_with(&path)),
            "{path} in {problems:?}"
        );
    }
}

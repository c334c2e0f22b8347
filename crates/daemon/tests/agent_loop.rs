//! The agent loop inside the daemon stores this test process's own workload.

mod common;

use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_stores_this_process() {
    let comm = std::fs::read_to_string("/proc/self/comm")
        .expect("Linux /proc")
        .trim()
        .to_string();
    let pattern = format!("^{}$", regex_escape(&comm));
    let d = start(&format!(
        "[agent]\nenabled = true\ninterval = \"200ms\"\ninclude = [{pattern:?}]\n[writer]\nflush_interval = \"50ms\"\n"
    ))
    .await;
    let db = d.db.clone();
    eventually(
        "this process's workload in the store",
        Duration::from_secs(30),
        || {
            store(&db)
                .workload_summaries()
                .unwrap()
                .iter()
                .any(|w| w.workload.as_str() == comm && w.series.len() >= 3)
        },
    )
    .await;
    let (_, text) = get(&d.base, "/metrics").await;
    assert!(text.contains("prescale_agent_cpu_seconds_total"), "{text}");
    assert!(d.daemon.metrics().progress().agent_passes >= 1);
    d.daemon.shutdown().await.unwrap();
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

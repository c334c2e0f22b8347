//! `deploy/grafana/prescale.json` works against real data (issue 13 item 4): a real Prometheus
//! scrapes a daemon whose control loop decides for a live workload, and every panel's query (the
//! `$workload` variable set to that workload) and the variable's own query are run against it; an
//! error or an empty result fails the test.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const LIVE: &str = "live";

/// Prometheus' answer to an instant query: `Err` on an error answer, else the result series.
async fn query(prom: &str, promql: &str) -> Result<Vec<Value>, String> {
    let url = format!("{prom}/api/v1/query");
    let q = promql.to_string();
    let text = tokio::task::spawn_blocking(move || {
        http()
            .get(&url)
            .query("query", &q)
            .call()
            .map_err(|e| e.to_string())?
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap()?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    if v["status"] != "success" {
        return Err(text);
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// Every target expression of every panel, with the panel's title.
fn panel_queries(dashboard: &Value) -> Vec<(String, String)> {
    let panels = dashboard["panels"].as_array().expect("panels");
    panels
        .iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            p["targets"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |t| (title.clone(), t["expr"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_of_the_grafana_dashboard_answers_from_a_real_prometheus() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/prescale.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let queries = panel_queries(&dashboard);
    assert!(queries.len() >= 8, "{queries:?}");
    let variable = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "workload")
        .expect("a workload variable")["definition"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        variable,
        "label_values(prescale_control_forecast, workload)"
    );

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    prefill_live(&db, LIVE, "requests", 600);
    let text = live_config(&db, LIVE, "");
    let d =
        prescale_daemon::Daemon::start(prescale_daemon::DaemonConfig::from_toml(&text).unwrap())
            .await
            .unwrap();
    let target = d.local_addr();
    let base = format!("http://{target}");
    let feeder = tokio::spawn(feed_live(base.clone(), LIVE, "requests"));
    let yaml = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prescale\n    static_configs:\n      - targets: [\"{target}\"]\n"
    );
    let Some(prom) = tokio::task::spawn_blocking(move || prometheus::start(&yaml))
        .await
        .unwrap()
    else {
        feeder.abort();
        d.shutdown().await.unwrap();
        return;
    };

    let begin = Instant::now();
    // the variable's values: label_values(prescale_control_forecast, workload)
    loop {
        let got = query(
            &prom.base,
            "group by (workload) (prescale_control_forecast)",
        )
        .await
        .unwrap();
        if got.iter().any(|s| s["metric"]["workload"] == LIVE) {
            break;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(90),
            "no workload values: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (title, expr) in &queries {
        let promql = expr.replace("$workload", LIVE);
        loop {
            match query(&prom.base, &promql).await {
                Err(e) => panic!("panel {title:?}: {promql} failed: {e}"),
                Ok(r) if !r.is_empty() => break,
                Ok(_) => {}
            }
            assert!(
                begin.elapsed() < Duration::from_secs(90),
                "panel {title:?}: {promql} stays empty"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    feeder.abort();
    d.shutdown().await.unwrap();
}

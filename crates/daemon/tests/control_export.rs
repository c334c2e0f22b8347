//! What the control loop does reaches `/metrics` and remote-write export (issue 13 item 3): a
//! controlled workload's forecast at the lead (point, lower, upper), its replicas, its decisions by
//! outcome, the loop's pass time and the build, on `/metrics` and, pushed by `[[export]]`, in a
//! real Prometheus (its remote-write receiver), queried back by name and labels.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const LIVE: &str = "live";

/// The value of the first series Prometheus answers for `promql`, if any.
async fn query(prom: &str, promql: &str) -> Option<f64> {
    let url = format!("{prom}/api/v1/query");
    let q = promql.to_string();
    let text = tokio::task::spawn_blocking(move || {
        http()
            .get(&url)
            .query("query", &q)
            .call()
            .ok()?
            .body_mut()
            .read_to_string()
            .ok()
    })
    .await
    .unwrap()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_loop_reaches_metrics_and_a_real_prometheus() {
    let yaml = "global:\n  scrape_interval: 1h\n";
    let Some(prom) = tokio::task::spawn_blocking(move || {
        prometheus::start_with(yaml, &["--web.enable-remote-write-receiver"])
    })
    .await
    .unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    prefill_live(&db, LIVE, "requests", 600);
    let text = live_config(
        &db,
        LIVE,
        &format!(
            "[[export]]\nurl = \"{}/api/v1/write\"\ninterval = \"1s\"",
            prom.base
        ),
    );
    let d =
        prescale_daemon::Daemon::start(prescale_daemon::DaemonConfig::from_toml(&text).unwrap())
            .await
            .unwrap();
    let base = format!("http://{}", d.local_addr());
    let feeder = tokio::spawn(feed_live(base.clone(), LIVE, "requests"));

    // /metrics: the forecast at the lead with its band, replicas, decisions by outcome, passes
    let begin = Instant::now();
    let metrics = loop {
        let (s, text) = get(&base, "/metrics").await;
        assert_eq!(s, 200);
        // replicas are known from the second decision on (the first had none before it)
        if text.contains("prescale_control_forecast{bound=\"upper\"")
            && text.contains("prescale_current_replicas{workload=\"live\"}")
        {
            break text;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(60),
            "no control forecast on /metrics:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for bound in ["point", "lower", "upper"] {
        let line = format!(
            "prescale_control_forecast{{bound=\"{bound}\",level=\"0.9\",metric=\"requests\",workload=\"{LIVE}\"}}"
        );
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
    // forecast-only (the default mode): each decision is skipped by the actuator
    assert!(
        metrics.contains(&format!(
            "prescale_decisions_total{{outcome=\"skipped\",workload=\"{LIVE}\"}}"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE prescale_decisions_total counter"));
    for name in [
        "prescale_control_tick_seconds ",
        "prescale_control_ticks_total ",
        "prescale_build_info{version=",
        "prescale_desired_replicas{",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }

    // export: the same series, queried back from Prometheus
    let begin = Instant::now();
    for promql in [
        format!("prescale_control_forecast{{workload=\"{LIVE}\",bound=\"upper\",level=\"0.9\"}}"),
        format!("prescale_decisions_total{{workload=\"{LIVE}\",outcome=\"skipped\"}}"),
        "prescale_control_ticks_total".to_string(),
        "prescale_build_info".to_string(),
    ] {
        loop {
            if let Some(v) = query(&prom.base, &promql).await {
                assert!(v.is_finite() && v > 0.0, "{promql} = {v}");
                break;
            }
            assert!(
                begin.elapsed() < Duration::from_secs(60),
                "{promql} never reached Prometheus"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    feeder.abort();
    d.shutdown().await.unwrap();
}

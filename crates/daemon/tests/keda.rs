//! `[keda]`: the daemon serves each controlled workload's predicted demand at its lead time to
//! KEDA through `externalscaler.ExternalScaler`; checked with a real gRPC client built from the
//! same proto.

mod common;

use common::*;
use prescale_ingest::remote_write::{encode, from_points};
use prescale_keda::proto::external_scaler_client::ExternalScalerClient;
use prescale_keda::proto::{GetMetricsRequest, ScaledObjectRef};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keda_gets_the_control_loops_prediction_at_the_lead_time() {
    let d = start(
        r#"
tick = "200ms"
[keda]
listen = "127.0.0.1:0"
max_age = "1m"
[learn]
enabled = false
[[workload]]
workload = "api"
metric = "rps"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
"#,
    )
    .await;
    let addr = d.daemon.keda_addr().expect("keda server");
    // Two minutes at a steady 50 rps with a little wiggle, then live samples.
    let t0 = now_ms() - 120_000;
    let value = |ts: i64| 50.0 + (ts / 250 % 3) as f64;
    let pts: Vec<_> = (0..480)
        .map(|i| t0 + i * 250)
        .map(|ts| ("rps", vec![("job", "api")], ts, value(ts)))
        .collect();
    let (s, b) = post_write(&d.base, encode(&from_points(pts))).await;
    assert_eq!(s, 204, "{b}");

    let mut client = ExternalScalerClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let req = || GetMetricsRequest {
        scaled_object_ref: Some(ScaledObjectRef {
            name: "api".into(),
            namespace: "default".into(),
            scaler_metadata: HashMap::from([
                ("workload".to_string(), "api".to_string()),
                ("metric".to_string(), "rps".to_string()),
                ("targetSize".to_string(), "10".to_string()),
            ]),
        }),
        metric_name: String::new(),
    };
    let begin = Instant::now();
    let served = loop {
        let ts = now_ms();
        let (s, _) = post_write(
            &d.base,
            encode(&from_points(vec![(
                "rps",
                vec![("job", "api")],
                ts,
                value(ts),
            )])),
        )
        .await;
        assert_eq!(s, 204);
        // UNAVAILABLE until the control loop has forecast once.
        if let Ok(r) = client.get_metrics(req()).await {
            break r.into_inner();
        }
        assert!(
            begin.elapsed() < Duration::from_secs(60),
            "no prediction served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The upper bound of a forecast of ~51 rps: above the point, near the level.
    let v = served.metric_values[0].metric_value_float;
    assert!((50.0..80.0).contains(&v), "{v}");
    let (_, forecast) = get(&d.base, "/api/v1/workloads/api/forecast").await;
    assert!(forecast.contains("\"upper\""), "{forecast}");
    d.daemon.shutdown().await.unwrap();
}

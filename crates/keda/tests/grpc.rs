//! End-to-end tests: a real tonic client (generated from the same proto) against the server on loopback.

use prescale_core::Timestamp;
use prescale_keda::proto::external_scaler_client::ExternalScalerClient;
use prescale_keda::proto::{GetMetricsRequest, ScaledObjectRef};
use prescale_keda::{serve, Prediction, ScalerOptions, ScalerServer, SharedPredictions};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::Code;

const NOW: i64 = 1_700_000_000_000;

/// A hang guard, not a timing assertion: generous so a slow shared machine never trips it.
async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("gRPC call hung for 30 s")
}

struct Fixture {
    preds: Arc<SharedPredictions>,
    now: Arc<AtomicI64>,
    server: ScalerServer,
    client: ExternalScalerClient<Channel>,
}

async fn start() -> Fixture {
    let preds = Arc::new(SharedPredictions::new());
    let now = Arc::new(AtomicI64::new(NOW));
    let clock_now = now.clone();
    let opts = ScalerOptions {
        poll_interval: Duration::from_millis(10),
        max_age: Duration::from_secs(60),
        clock: Arc::new(move || Timestamp(clock_now.load(Ordering::SeqCst))),
    };
    let server = serve("127.0.0.1:0".parse().unwrap(), preds.clone(), opts)
        .await
        .unwrap();
    let client = within(ExternalScalerClient::connect(format!(
        "http://{}",
        server.local_addr()
    )))
    .await
    .unwrap();
    Fixture {
        preds,
        now,
        server,
        client,
    }
}

fn pred(point: f64, upper: f64) -> Prediction {
    Prediction {
        value_at_lead: point,
        upper,
        lead: Duration::from_secs(300),
        fresh_at: Timestamp(NOW),
    }
}

fn so(md: &[(&str, &str)]) -> ScaledObjectRef {
    ScaledObjectRef {
        name: "web".into(),
        namespace: "shop".into(),
        scaler_metadata: md
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    }
}

fn metrics_req(md: &[(&str, &str)], name: &str) -> GetMetricsRequest {
    GetMetricsRequest {
        scaled_object_ref: Some(so(md)),
        metric_name: name.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_spec_carries_target_size() {
    let mut f = start().await;
    let md = [("scalerAddress", "prescale:9090"), ("targetSize", "12.6")];
    let spec = within(f.client.get_metric_spec(so(&md)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(spec.metric_specs.len(), 1);
    let s = &spec.metric_specs[0];
    assert_eq!(s.metric_name, "prescale-demand");
    assert_eq!(s.target_size_float, 12.6);
    assert_eq!(s.target_size, 13);

    let md = [("targetSize", "0.25"), ("metricName", "web-rps")];
    let spec = within(f.client.get_metric_spec(so(&md)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(spec.metric_specs[0].metric_name, "web-rps");
    assert_eq!(spec.metric_specs[0].target_size_float, 0.25);
    assert_eq!(
        spec.metric_specs[0].target_size, 1,
        "deprecated int never 0"
    );
    f.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_metrics_serves_the_chosen_quantile_at_lead() {
    let mut f = start().await;
    f.preds.insert("shop/web", "demand", pred(41.4, 57.5));
    f.preds.insert("other", "rps", pred(-3.0, 2.2));

    let upper = within(
        f.client
            .get_metrics(metrics_req(&[("targetSize", "10")], "")),
    )
    .await
    .unwrap()
    .into_inner();
    let v = &upper.metric_values[0];
    assert_eq!(v.metric_name, "prescale-demand");
    assert_eq!(v.metric_value_float, 57.5);
    assert_eq!(v.metric_value, 58);

    let md = [("targetSize", "10"), ("quantile", "point")];
    let point = within(f.client.get_metrics(metrics_req(&md, "asked-name")))
        .await
        .unwrap()
        .into_inner();
    let v = &point.metric_values[0];
    assert_eq!(
        v.metric_name, "asked-name",
        "echoes the name KEDA asked for"
    );
    assert_eq!(v.metric_value_float, 41.4);
    assert_eq!(v.metric_value, 41);

    // Explicit workload/metric keys, and a negative forecast is served as 0 demand.
    let md = [
        ("targetSize", "1"),
        ("workload", "other"),
        ("metric", "rps"),
        ("quantile", "point"),
    ];
    let neg = within(f.client.get_metrics(metrics_req(&md, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(neg.metric_values[0].metric_value_float, 0.0);
    assert_eq!(neg.metric_values[0].metric_name, "prescale-rps");
    f.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_active_compares_with_the_activation_threshold() {
    let mut f = start().await;
    f.preds.insert("shop/web", "demand", pred(4.0, 6.0));
    let cases = [
        (vec![("targetSize", "1")], true),
        (
            vec![("targetSize", "1"), ("activationThreshold", "5")],
            true,
        ),
        (
            vec![("targetSize", "1"), ("activationThreshold", "6")],
            false,
        ),
        (
            vec![
                ("targetSize", "1"),
                ("activationThreshold", "5"),
                ("quantile", "point"),
            ],
            false,
        ),
    ];
    for (md, want) in cases {
        let got = within(f.client.is_active(so(&md)))
            .await
            .unwrap()
            .into_inner()
            .result;
        assert_eq!(got, want, "{md:?}");
    }
    f.preds.insert("shop/web", "demand", pred(0.0, 0.0));
    let idle = within(f.client.is_active(so(&[("targetSize", "1")])))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !idle.result,
        "zero demand with default threshold 0 is inactive"
    );
    f.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_stale_predictions_are_refused() {
    let mut f = start().await;
    let md = [("targetSize", "1")];

    let e = within(f.client.get_metrics(metrics_req(&md, "")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("shop/web"), "{}", e.message());
    assert!(e.message().contains("demand"), "{}", e.message());
    let e = within(f.client.is_active(so(&md))).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    f.preds.insert("shop/web", "demand", pred(5.0, 6.0));
    assert!(within(f.client.is_active(so(&md))).await.is_ok());
    // 61 s later the 60 s max age has passed.
    f.now.store(NOW + 61_000, Ordering::SeqCst);
    let e = within(f.client.get_metrics(metrics_req(&md, "")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert!(e.message().contains("stale"), "{}", e.message());
    let e = within(f.client.is_active(so(&md))).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    // Exactly at max age is still served.
    f.now.store(NOW + 60_000, Ordering::SeqCst);
    assert!(within(f.client.is_active(so(&md))).await.is_ok());

    f.preds
        .insert("shop/web", "demand", pred(f64::NAN, f64::NAN));
    let e = within(f.client.get_metrics(metrics_req(&md, "")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert!(e.message().contains("finite"), "{}", e.message());
    f.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_metadata_is_invalid_argument_naming_the_key() {
    let mut f = start().await;
    f.preds.insert("shop/web", "demand", pred(5.0, 6.0));
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], "targetSize"),
        (&[("targetSize", "0")], "targetSize"),
        (&[("targetSize", "ten")], "targetSize"),
        (&[("targetSize", "1"), ("quantile", "p99")], "quantile"),
        (
            &[("targetSize", "1"), ("activationThreshold", "x")],
            "activationThreshold",
        ),
    ];
    for (md, key) in cases {
        let needle = format!("`{key}`");
        let e = within(f.client.get_metric_spec(so(md))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{md:?}");
        assert!(e.message().contains(&needle), "{md:?}: {}", e.message());
        let e = within(f.client.get_metrics(metrics_req(md, "")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{md:?}");
        assert!(e.message().contains(&needle), "{md:?}: {}", e.message());
        let e = within(f.client.is_active(so(md))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{md:?}");
        let e = within(f.client.stream_is_active(so(md))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{md:?}");
    }
    let e = within(f.client.get_metrics(GetMetricsRequest {
        scaled_object_ref: None,
        metric_name: "m".into(),
    }))
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("scaledObjectRef"), "{}", e.message());
    f.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_is_active_pushes_on_threshold_crossings_only() {
    let mut f = start().await;
    f.preds.insert("shop/web", "demand", pred(1.0, 2.0));
    let md = [("targetSize", "1"), ("activationThreshold", "5")];
    let mut stream = within(f.client.stream_is_active(so(&md)))
        .await
        .unwrap()
        .into_inner();

    let first = within(stream.message()).await.unwrap().unwrap();
    assert!(!first.result, "initial state is sent at once");

    // Still below the threshold: no message; then it crosses and one arrives.
    f.preds.insert("shop/web", "demand", pred(1.5, 3.0));
    // Give the 10 ms poll a few rounds on the unchanged state, so a duplicate push would show up next.
    tokio::time::sleep(Duration::from_millis(100)).await;
    f.preds.insert("shop/web", "demand", pred(7.0, 9.0));
    let up = within(stream.message()).await.unwrap().unwrap();
    assert!(up.result, "crossing above the threshold is pushed");

    f.preds.insert("shop/web", "demand", pred(0.5, 1.0));
    let down = within(stream.message()).await.unwrap().unwrap();
    assert!(!down.result, "crossing back below is pushed");

    // The prediction disappears: the stream ends with NOT_FOUND instead of claiming "inactive".
    f.preds.remove("shop/web", "demand");
    let e = within(stream.message()).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(
        within(stream.message()).await.unwrap().is_none(),
        "stream closed after error"
    );
    f.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_metric_spec_sends_the_spec_and_shutdown_ends_open_streams() {
    let mut f = start().await;
    f.preds.insert("shop/web", "demand", pred(9.0, 9.0));
    let md = [("targetSize", "3")];
    let mut specs = within(f.client.stream_metric_spec(so(&md)))
        .await
        .unwrap()
        .into_inner();
    let spec = within(specs.message()).await.unwrap().unwrap();
    assert_eq!(spec.metric_specs[0].target_size_float, 3.0);
    let mut active = within(f.client.stream_is_active(so(&md)))
        .await
        .unwrap()
        .into_inner();
    assert!(within(active.message()).await.unwrap().unwrap().result);

    // Graceful shutdown must not wait forever on the two open streams.
    within(f.server.shutdown()).await.unwrap();
    assert!(!matches!(within(active.message()).await, Ok(Some(_))));
    assert!(!matches!(within(specs.message()).await, Ok(Some(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_poll_interval_is_rejected() {
    let opts = ScalerOptions {
        poll_interval: Duration::ZERO,
        ..ScalerOptions::default()
    };
    let e = serve(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(SharedPredictions::new()),
        opts,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("poll_interval"), "{e}");
}

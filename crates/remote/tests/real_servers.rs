//! Integration tests against the real Prometheus and VictoriaMetrics binaries (Debian packages),
//! started on loopback ports with temporary data directories. Skipped with a message when a binary
//! is missing, unless `CI=true`.

mod common;

use common::{counter_value, gauge_value, now_ms, ScrapeTarget};
use prescale_core::{
    Forecast, Interval, Labels, Level, MetricName, Point, Sample, SeriesKey, Timestamp,
    WindowSource, WorkloadId,
};
use prescale_remote::naming::{self, forecast_samples};
use prescale_remote::testkit::{
    force_flush, require, start_prometheus, start_victoria_metrics, Server,
};
use prescale_remote::{
    backfill, backfill_report, BackfillQuery, ClientOptions, InstantAnswer, PromClient,
    PromWindowSource, RangeSeries, RemoteLayout, RemoteWriter, TimeRange, WriterOptions,
};
use prescale_store::Store;
use std::time::{Duration, Instant};

const EMPTY_PROMETHEUS: &str = "global:\n  scrape_interval: 15s\n";

fn client(server: &Server) -> PromClient {
    PromClient::new(&server.base_url, ClientOptions::default()).unwrap()
}

fn writer(server: &Server) -> RemoteWriter {
    RemoteWriter::new(&server.write_url(), WriterOptions::default()).unwrap()
}

fn key(w: &str, m: &str) -> SeriesKey {
    SeriesKey::new(WorkloadId::new(w).unwrap(), MetricName::new(m).unwrap())
}

fn ms(step: i64) -> Interval {
    Interval::from_millis(step).unwrap()
}

fn range(a: i64, b: i64) -> TimeRange {
    TimeRange::new(Timestamp(a), Timestamp(b)).unwrap()
}

/// Polls `promql` (an instant query yielding one number) until it reaches `want`.
fn wait_for_count(c: &PromClient, promql: &str, want: f64, limit: Duration) -> f64 {
    let started = Instant::now();
    let mut last = 0.0;
    while started.elapsed() < limit {
        if let Ok(InstantAnswer::Vector(v)) = c.query(promql, None) {
            last = v
                .iter()
                .filter_map(|s| s.sample.map(|s| s.value))
                .fold(0.0, f64::max);
            if last >= want {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{promql} reached only {last} (wanted {want}) within {limit:?}");
}

/// The raw sample in effect at `t` (Prometheus/VM query semantics: latest with ts <= t).
fn at(raw: &[Sample], t: Timestamp) -> Option<f64> {
    let i = raw.partition_point(|s| s.ts <= t);
    (i > 0).then(|| raw[i - 1].value)
}

fn only(series: Vec<RangeSeries>) -> RangeSeries {
    assert_eq!(series.len(), 1, "{series:?}");
    series.into_iter().next().unwrap()
}

#[test]
fn backfill_from_prometheus_scraping_a_live_target() {
    let target = ScrapeTarget::start();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: testtarget\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        target.http.port
    );
    let Some(prom) = require(start_prometheus(&config)) else {
        return;
    };
    let c = client(&prom);
    let t0 = now_ms() - 60_000;
    wait_for_count(
        &c,
        "count_over_time(test_requests_total[10m])",
        7.0,
        Duration::from_secs(40),
    );
    // A second back, so no scrape is still being committed inside the window.
    let end = now_ms() - 1_000;

    // Raw samples with their own timestamps: exactly what the target served, in order (a scrape
    // that timed out on a loaded machine leaves a gap, so match by the served counter value).
    let raw = only(
        c.raw_samples("test_requests_total", range(t0, end))
            .unwrap(),
    );
    let served = target.served.lock().unwrap().clone();
    assert!(raw.samples.len() >= 5 && raw.samples.len() <= served.len());
    assert_eq!(raw.labels["job"], "testtarget");
    assert_eq!(raw.labels["path"], "/api");
    let mut scrape_of = std::collections::BTreeMap::new();
    let mut prev = 0;
    for s in &raw.samples {
        let n = (s.value / 3.0) as u64;
        assert!(
            n > prev && n as usize <= served.len(),
            "unexpected value {s:?}"
        );
        assert_eq!(s.value, counter_value(n));
        let served_at = served[n as usize - 1].1;
        // Prometheus stamps the scrape's start; the target logged when it answered.
        assert!(
            (s.ts.0 - served_at).abs() < 5_000,
            "{s:?} served at {served_at}"
        );
        scrape_of.insert(s.ts, n);
        prev = n;
    }
    let raw_gauge = only(c.raw_samples("test_queue_depth", range(t0, end)).unwrap());
    assert_eq!(raw_gauge.samples.len(), raw.samples.len());
    for s in &raw_gauge.samples {
        assert_eq!(s.value, gauge_value(scrape_of[&s.ts]), "gauge {s:?}");
    }

    // Back-fill at 1 s: every grid point holds the latest raw sample at or before it.
    let first = raw.samples[0].ts.0;
    let last = raw.samples.last().unwrap().ts.0;
    let queries = [
        BackfillQuery::new("test_requests_total", "{job}", "requests_total"),
        BackfillQuery::new("test_queue_depth", "{job}/{instance}", "queue_depth"),
    ];
    let mut progress = Vec::new();
    let series = backfill(&c, &queries, range(first, last), ms(1000), &mut |p| {
        progress.push(p)
    })
    .unwrap();
    assert_eq!(progress.last().map(|p| (p.done, p.total)), Some((2, 2)));
    let instance = format!("127.0.0.1:{}", target.http.port);
    let keys: Vec<String> = series.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "testtarget/requests_total".to_string(),
            format!("testtarget/{instance}/queue_depth"),
        ]
    );
    let grid_points = ((last - first) / 1000 + 1) as usize;
    for (s, raw) in [(&series[0], &raw.samples), (&series[1], &raw_gauge.samples)] {
        assert_eq!(s.len(), grid_points, "{}", s.key);
        for (k, b) in s.samples().iter().enumerate() {
            assert_eq!(b.ts.0, first + 1000 * k as i64);
            assert_eq!(Some(b.value), at(raw, b.ts), "{} at {}", s.key, b.ts);
        }
    }

    // Chunked into requests of 3 points per series: the same series.
    let small = c.clone().with_max_points(3);
    let report =
        backfill_report(&small, &queries, range(first, last), ms(1000), &mut |_| {}).unwrap();
    assert_eq!(report.requests, 2 * grid_points.div_ceil(3));
    assert_eq!(report.series, series);
}

fn vm_import(vm: &Server, text: &str) {
    let resp = ureq::post(&format!("{}/api/v1/import/prometheus", vm.base_url))
        .send(text)
        .unwrap();
    assert!(resp.status().is_success());
    force_flush(vm).unwrap();
}

#[test]
fn backfill_from_victoria_metrics_is_exact() {
    let Some(vm) = require(start_victoria_metrics()) else {
        return;
    };
    let step = 10_000;
    let end = (now_ms() / step) * step - 60_000;
    let start = end - 2 * 3_600_000;
    let value = |i: i64, inst: i64| ((i * 37 + inst * 11) % 101) as f64 * 0.25 - 3.0;
    let mut text = String::new();
    let mut expected: Vec<Vec<Sample>> = vec![Vec::new(), Vec::new()];
    for (i, t) in (start..=end).step_by(step as usize).enumerate() {
        for inst in 0..2 {
            let v = value(i as i64, inst);
            text.push_str(&format!(
                "vm_test_gauge{{job=\"api\",instance=\"i{inst}\"}} {v} {t}\n"
            ));
            expected[inst as usize].push(Sample {
                ts: Timestamp(t),
                value: v,
            });
        }
    }
    vm_import(&vm, &text);
    let c = client(&vm).with_max_points(100);
    let queries = [BackfillQuery::new(
        "vm_test_gauge",
        "{job}",
        "gauge_{instance}",
    )];
    let series = backfill(&c, &queries, range(start, end), ms(step), &mut |_| {}).unwrap();
    assert_eq!(series.len(), 2);
    for (inst, s) in series.iter().enumerate() {
        assert_eq!(s.key, key("api", &format!("gauge_i{inst}")));
        assert_eq!(s.labels["instance"], format!("i{inst}"));
        assert_eq!(s.samples(), expected[inst].as_slice());
    }

    // The same mapping as a window source (the "raw telemetry lives in VictoriaMetrics" switch).
    let source = PromWindowSource::new(
        c.clone(),
        RemoteLayout::Queries {
            queries: queries.to_vec(),
            step: ms(step),
        },
    );
    let from = Timestamp(start + 95_000);
    let to = Timestamp(end - 300_000);
    let window = source
        .load_window(&key("api", "gauge_i1"), from, to)
        .unwrap();
    let want: Vec<Sample> = expected[1]
        .iter()
        .copied()
        .filter(|s| s.ts >= from && s.ts <= to)
        .collect();
    assert_eq!(window, want);
    assert_eq!(
        source.keys().unwrap(),
        vec![key("api", "gauge_i0"), key("api", "gauge_i1")]
    );
    // A key the templates could produce but the server does not have: an empty window.
    assert_eq!(
        source
            .load_window(&key("other", "gauge_x"), from, to)
            .unwrap(),
        vec![]
    );
    // A key no query can produce: a typed error.
    let fixed = PromWindowSource::new(
        c.clone(),
        RemoteLayout::Queries {
            queries: vec![BackfillQuery::new("vm_test_gauge", "{job}", "gauge")],
            step: ms(step),
        },
    );
    assert!(matches!(
        fixed.load_window(&key("api", "cpu"), from, to),
        Err(prescale_core::WindowError::UnknownSeries(_))
    ));

    // Mapping collisions are errors, not silent merges.
    let clash = [BackfillQuery::new("vm_test_gauge", "{job}", "gauge")];
    let err = backfill(&c, &clash, range(start, end), ms(step), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("both map to api/gauge"), "{err}");
}

fn test_forecast() -> Forecast {
    let point: Vec<f64> = (0..5).map(|i| 10.0 + i as f64).collect();
    Forecast::new(
        point.clone(),
        point.iter().map(|p| p - 2.0).collect(),
        point.iter().map(|p| p + 2.5).collect(),
        Level::new(90.0).unwrap(),
    )
    .unwrap()
}

/// Pushes a forecast made at `origin` and reads the upper band back with PromQL.
fn forecasts_round_trip(server: &Server, flush: impl Fn()) {
    let step = 60_000;
    let origin = (now_ms() / step) * step;
    let k = key("web", "cpu");
    let samples = forecast_samples(&k, &test_forecast(), Timestamp(origin), ms(step));
    let stats = writer(server).push(&samples).unwrap();
    assert_eq!(stats.samples, 15);
    flush();
    let c = client(server);
    let upper = only(
        c.query_range(
            "prescale_forecast{bound=\"upper\"}",
            Timestamp(origin + step),
            Timestamp(origin + 5 * step),
            ms(step),
        )
        .unwrap(),
    );
    assert_eq!(upper.labels["workload"], "web");
    assert_eq!(upper.labels["metric"], "cpu");
    assert_eq!(upper.labels["level"], "0.9");
    let got: Vec<(i64, f64)> = upper.samples.iter().map(|s| (s.ts.0, s.value)).collect();
    let want: Vec<(i64, f64)> = (1..=5)
        .map(|i| (origin + i * step, 10.0 + (i - 1) as f64 + 2.5))
        .collect();
    assert_eq!(got, want);
    // All three bands, raw, with the exported names.
    let all = c
        .raw_samples(
            &format!("{}{{workload=\"web\"}}", naming::FORECAST),
            range(origin, origin + 5 * step),
        )
        .unwrap();
    let bounds: Vec<&str> = all.iter().map(|s| s.labels["bound"].as_str()).collect();
    assert_eq!(bounds, ["lower", "point", "upper"]);
    assert!(all.iter().all(|s| s.samples.len() == 5));
}

/// Irregular raw telemetry for one key over the half hour before now.
fn raw_points() -> (SeriesKey, Vec<Point>) {
    let k = key("api", "http_requests_total:rate{method=\"get\"}");
    let base = now_ms() - 1_800_000;
    let mut labels = Labels::new();
    labels.insert("method".into(), "get".into());
    let points = (0..300)
        .map(|i: i64| Point {
            key: k.clone(),
            labels: labels.clone(),
            sample: Sample {
                ts: Timestamp(base + i * 5_000 + (i * 7_919) % 1_000),
                value: (i % 17) as f64 * 0.5,
            },
        })
        .collect();
    (k, points)
}

/// Remote-writes raw points and checks the PromQL window source against the embedded store.
fn windows_match_store(server: &Server, flush: impl Fn()) {
    let (k, points) = raw_points();
    let mut store = Store::open_in_memory().unwrap();
    store.append_points(&points).unwrap();
    writer(server).push_points(&points).unwrap();
    flush();
    let ts: Vec<i64> = points.iter().map(|p| p.sample.ts.0).collect();
    let source = PromWindowSource::new(
        client(server).with_raw_span(Interval::from_secs(120).unwrap()),
        RemoteLayout::Raw,
    );
    for (from, to) in [
        (ts[0] - 1, ts[299] + 1),
        (ts[10], ts[50]),
        (ts[10] + 1, ts[50] - 1),
        (ts[120], ts[120]),
        (ts[0] - 100_000, ts[0] - 1),
    ] {
        let (from, to) = (Timestamp(from), Timestamp(to));
        let want = WindowSource::load_window(&store, &k, from, to).unwrap();
        let got = source.load_window(&k, from, to).unwrap();
        assert_eq!(got, want, "window {from}..={to}");
    }
    assert!(source.keys().unwrap().contains(&k));
    assert_eq!(WindowSource::keys(&store).unwrap(), vec![k]);
}

#[test]
fn forecasts_and_raw_windows_through_victoria_metrics() {
    let Some(vm) = require(start_victoria_metrics()) else {
        return;
    };
    forecasts_round_trip(&vm, || force_flush(&vm).unwrap());
    windows_match_store(&vm, || force_flush(&vm).unwrap());
}

#[test]
fn forecasts_and_raw_windows_through_prometheus() {
    let Some(prom) = require(start_prometheus(EMPTY_PROMETHEUS)) else {
        return;
    };
    // Raw (past) data first: Prometheus refuses samples older than an hour before its newest one.
    windows_match_store(&prom, || {});
    forecasts_round_trip(&prom, || {});
}

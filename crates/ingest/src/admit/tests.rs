//! Admission tests: validation, mapping, series cap, counter rates and batch independence.

use super::*;

const NOW: i64 = 1_700_000_000_000;

fn raw(name: &str, labels: &[(&str, &str)], ts: Option<i64>, value: f64) -> RawSample {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    RawSample {
        name: name.into(),
        labels,
        value,
        timestamp_ms: ts,
    }
}

fn no_kinds(_: &str) -> Option<MetricKind> {
    None
}

fn admission() -> Admission {
    Admission::new(AdmissionConfig::default(), MappingRules::default())
}

#[test]
fn gauges_pass_through_with_default_mapping() {
    let mut a = admission();
    let r = a.admit(
        vec![raw(
            "queue_depth",
            &[("job", "worker"), ("instance", "h:1"), ("queue", "mail")],
            Some(NOW - 1000),
            7.0,
        )],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.rejected_total(), 0);
    assert_eq!(r.accepted.len(), 1);
    let p = &r.accepted[0];
    assert_eq!(p.key.workload.as_str(), "worker");
    assert_eq!(p.key.metric.as_str(), r#"queue_depth{queue="mail"}"#);
    assert_eq!(p.sample.ts, Timestamp(NOW - 1000));
    assert_eq!(p.sample.value, 7.0);
    assert_eq!(p.labels.get("job").map(String::as_str), Some("worker"));
    assert!(!p.labels.contains_key("instance"));
    // Missing timestamp means "now".
    let r = a.admit(vec![raw("up", &[("job", "w")], None, 1.0)], &no_kinds, NOW);
    assert_eq!(r.accepted[0].sample.ts, Timestamp(NOW));
}

#[test]
fn invalid_samples_are_counted_by_reason() {
    let mut a = Admission::new(
        AdmissionConfig {
            max_future_ms: 1000,
            max_age_ms: 60_000,
            ..AdmissionConfig::default()
        },
        MappingRules::default(),
    );
    let j = [("job", "w")];
    let batch = vec![
        raw("a", &j, Some(NOW), f64::NAN),
        raw("a", &j, Some(NOW), f64::INFINITY),
        raw("a", &j, Some(NOW), f64::from_bits(STALE_NAN_BITS)),
        raw("a", &j, Some(NOW + 1001), 1.0),
        raw("a", &j, Some(NOW - 60_001), 1.0),
        raw("a", &[], Some(NOW), 1.0),
        raw("a", &[("job", "bad\u{1}id")], Some(NOW), 1.0),
        raw(
            "a",
            &[("job", "w"), ("x", &"v".repeat(300))],
            Some(NOW),
            1.0,
        ),
        raw("c_total", &j, Some(NOW), -1.0),
        raw("a", &j, Some(NOW + 1000), 2.0),
        raw("a", &j, Some(NOW - 60_000), 3.0),
    ];
    let r = a.admit(batch, &no_kinds, NOW);
    let got: Vec<(&str, u64)> = r.rejected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        got,
        vec![
            ("non_finite", 2),
            ("stale_marker", 1),
            ("too_far_in_future", 1),
            ("too_old", 1),
            ("no_workload", 1),
            ("invalid_workload", 1),
            ("invalid_metric", 1),
            ("negative_counter", 1),
        ]
    );
    assert_eq!(r.accepted.len(), 2);
    // Refused samples created no series.
    assert_eq!(a.series_count(), 1);
}

#[test]
fn counters_become_rates_with_resets() {
    let mut a = admission();
    let l = [("job", "api"), ("code", "200")];
    let batch = vec![
        raw("req_total", &l, Some(NOW - 40_000), 100.0),
        raw("req_total", &l, Some(NOW - 30_000), 150.0),
        raw("req_total", &l, Some(NOW - 20_000), 150.0),
        raw("req_total", &l, Some(NOW - 10_000), 20.0),
    ];
    let r = a.admit(batch, &no_kinds, NOW);
    assert_eq!(r.primed, 1);
    assert_eq!(r.counter_resets, 1);
    let vals: Vec<f64> = r.accepted.iter().map(|p| p.sample.value).collect();
    assert_eq!(vals, vec![5.0, 0.0, 2.0]);
    assert_eq!(
        r.accepted[0].key.metric.as_str(),
        r#"req_total:rate{code="200"}"#
    );
    // State carries across batches: the next sample yields a rate immediately.
    let r = a.admit(vec![raw("req_total", &l, Some(NOW), 70.0)], &no_kinds, NOW);
    assert_eq!(r.primed, 0);
    assert_eq!(r.accepted[0].sample.value, 5.0);
    // Out of order / duplicate counter samples are refused and do not disturb the state.
    let r = a.admit(vec![raw("req_total", &l, Some(NOW), 80.0)], &no_kinds, NOW);
    assert_eq!(r.rejected.get(&RejectReason::OutOfOrder), Some(&1));
    let r = a.admit(
        vec![raw("req_total", &l, Some(NOW + 1000), 71.0)],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.accepted[0].sample.value, 1.0);
}

#[test]
fn batch_order_does_not_matter_for_rates() {
    let l = [("job", "api")];
    let make = |order: &[usize]| {
        let all = [
            raw("x_total", &l, Some(NOW - 3000), 1.0),
            raw("x_total", &l, Some(NOW - 2000), 3.0),
            raw("x_total", &l, Some(NOW - 1000), 6.0),
        ];
        let mut a = admission();
        let r = a.admit(
            order.iter().map(|&i| all[i].clone()).collect(),
            &no_kinds,
            NOW,
        );
        r.accepted
            .iter()
            .map(|p| (p.sample.ts, p.sample.value))
            .collect::<Vec<_>>()
    };
    let base = make(&[0, 1, 2]);
    assert_eq!(base.len(), 2);
    assert_eq!(make(&[2, 0, 1]), base);
    assert_eq!(make(&[1, 2, 0]), base);
}

#[test]
fn kinds_decide_what_is_a_counter() {
    let mut idx = KindIndex::new();
    idx.insert("lat", MetricKind::Histogram);
    idx.insert("temp_total", MetricKind::Gauge);
    idx.insert("rpc", MetricKind::Summary);
    let l = [("job", "j")];
    let mut a = admission();
    let batch = |ts, v| {
        vec![
            raw("lat_bucket", &[("job", "j"), ("le", "0.1")], Some(ts), v),
            raw("lat_sum", &l, Some(ts), v),
            raw("temp_total", &l, Some(ts), v),
            raw("rpc", &[("job", "j"), ("quantile", "0.5")], Some(ts), v),
            raw("rpc_count", &l, Some(ts), v),
        ]
    };
    let r = a.admit_with_index(batch(NOW - 1000, 1.0), &idx, NOW);
    assert_eq!(r.primed, 3);
    let names: Vec<&str> = r.accepted.iter().map(|p| p.key.metric.as_str()).collect();
    assert_eq!(names, vec!["temp_total", r#"rpc{quantile="0.5"}"#]);
    let r = a.admit_with_index(batch(NOW, 3.0), &idx, NOW);
    let names: Vec<&str> = r.accepted.iter().map(|p| p.key.metric.as_str()).collect();
    assert_eq!(
        names,
        vec![
            r#"lat_bucket:rate{le="0.1"}"#,
            "lat_sum:rate",
            "temp_total",
            r#"rpc{quantile="0.5"}"#,
            "rpc_count:rate"
        ]
    );
    assert_eq!(r.accepted[0].sample.value, 2.0);
}

#[test]
fn counters_as_raw_values_when_disabled() {
    let mut a = Admission::new(
        AdmissionConfig {
            counters_as_rates: false,
            ..AdmissionConfig::default()
        },
        MappingRules::default(),
    );
    let r = a.admit(
        vec![raw("x_total", &[("job", "j")], Some(NOW), 5.0)],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.accepted[0].key.metric.as_str(), "x_total");
    assert_eq!(r.accepted[0].sample.value, 5.0);
}

#[test]
fn series_cap_refuses_new_series_but_keeps_old_ones() {
    let mut a = Admission::new(
        AdmissionConfig {
            max_series: 3,
            ..AdmissionConfig::default()
        },
        MappingRules::default(),
    );
    let batch: Vec<RawSample> = (0..10)
        .map(|i| raw("g", &[("job", "j"), ("id", &i.to_string())], Some(NOW), 1.0))
        .collect();
    let r = a.admit(batch, &no_kinds, NOW);
    assert_eq!(r.accepted.len(), 3);
    assert_eq!(r.rejected.get(&RejectReason::SeriesLimit), Some(&7));
    // Existing series still accepted, new ones still refused.
    let r = a.admit(
        vec![
            raw("g", &[("job", "j"), ("id", "0")], Some(NOW + 1), 2.0),
            raw("g", &[("job", "j"), ("id", "99")], Some(NOW + 1), 2.0),
        ],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.accepted.len(), 1);
    assert_eq!(r.rejected.get(&RejectReason::SeriesLimit), Some(&1));
    // A sample beyond the cap that is invalid anyway is counted for its real problem.
    let r = a.admit(
        vec![raw("g", &[("id", "x")], Some(NOW), 1.0)],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.rejected.get(&RejectReason::NoWorkload), Some(&1));
    // Idle series are forgotten, freeing slots.
    assert_eq!(a.forget_idle(NOW + 1, 0), 2);
    assert_eq!(a.series_count(), 1);
    let r = a.admit(
        vec![raw("g", &[("job", "j"), ("id", "99")], Some(NOW + 1), 2.0)],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.accepted.len(), 1);
}

#[test]
fn rules_rename_drop_and_template() {
    let rules: MappingRules = serde_json::from_str(
        r#"{"rules": [
            {"name": "go_.*", "drop": true},
            {"name": "http_.*", "workload": "{namespace}/{deployment}", "drop_labels": ["pod"],
             "rename": "requests"}
        ]}"#,
    )
    .unwrap();
    let mut a = Admission::new(AdmissionConfig::default(), rules);
    let r = a.admit(
        vec![
            raw("go_goroutines", &[("job", "j")], Some(NOW), 1.0),
            raw(
                "http_inflight",
                &[
                    ("namespace", "shop"),
                    ("deployment", "cart"),
                    ("pod", "p1"),
                    ("code", "2xx"),
                ],
                Some(NOW),
                4.0,
            ),
            raw("http_inflight", &[("namespace", "shop")], Some(NOW), 4.0),
        ],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.rejected.get(&RejectReason::DroppedByRule), Some(&1));
    assert_eq!(r.rejected.get(&RejectReason::MissingLabel), Some(&1));
    let p = &r.accepted[0];
    assert_eq!(p.key.to_string(), r#"shop/cart/requests{code="2xx"}"#);
    assert!(!p.labels.contains_key("pod"));
}

#[test]
fn accepted_output_ignores_rejected_neighbours() {
    // The same valid samples, with and without garbage interleaved, give the same points.
    let good = vec![
        raw("c_total", &[("job", "a")], Some(NOW - 2000), 1.0),
        raw("g", &[("job", "a")], Some(NOW - 1500), 9.0),
        raw("c_total", &[("job", "a")], Some(NOW - 1000), 4.0),
    ];
    let mut noisy = good.clone();
    noisy.insert(
        1,
        raw("c_total", &[("job", "a")], Some(NOW - 1500), f64::NAN),
    );
    noisy.insert(2, raw("c_total", &[("job", "a")], Some(NOW - 1200), -5.0));
    noisy.push(raw("g", &[], Some(NOW), 1.0));
    let clean = admission().admit(good, &no_kinds, NOW);
    let dirty = admission().admit(noisy, &no_kinds, NOW);
    assert_eq!(clean.accepted, dirty.accepted);
    assert_eq!(dirty.rejected_total(), 3);
}

#[test]
fn label_values_with_escapes_stay_distinct() {
    // Identity encoding is length-prefixed, so these two series cannot collide.
    let mut a = admission();
    let r = a.admit(
        vec![
            raw("g", &[("job", "j"), ("a", "1:b1:2")], Some(NOW), 1.0),
            raw("g", &[("job", "j"), ("a", "1"), ("b", "2")], Some(NOW), 2.0),
        ],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.accepted.len(), 2);
    assert_eq!(a.series_count(), 2);
}

#[test]
fn overflowing_rates_are_refused_without_touching_state() {
    let mut a = admission();
    let l = [("job", "j")];
    let r = a.admit(
        vec![
            raw("c_total", &l, Some(NOW - 2), 0.0),
            raw("c_total", &l, Some(NOW - 1), f64::MAX),
            raw("c_total", &l, Some(NOW), 1.0),
        ],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.rejected.get(&RejectReason::NonFinite), Some(&1));
    // The refused sample did not become the baseline: 0 → 1 over 2 ms is 500/s.
    assert_eq!(r.accepted.len(), 1);
    assert_eq!(r.accepted[0].sample.value, 500.0);
}

#[test]
fn remote_write_requests_are_admitted_per_series() {
    use crate::remote_write::from_points;
    let req = from_points(vec![
        ("req_total", vec![("job", "api")], NOW - 2000, 10.0),
        ("req_total", vec![("job", "api")], NOW - 1000, 14.0),
        ("req_total", vec![("job", "api")], NOW, 2.0),
        ("mem", vec![("job", "api")], NOW, f64::NAN),
        ("mem", vec![("job", "api")], NOW - 500, 3.0),
        ("mem", vec![], NOW, 3.0),
    ]);
    let mut a = admission();
    let r = a.admit_request(&req, &no_kinds, NOW);
    // One entry per admitted series, sharing the tracked key.
    assert_eq!(r.accepted.len(), 2);
    assert_eq!(r.samples(), 3);
    let r = r.flattened();
    let got: Vec<(String, i64, f64)> = r
        .accepted
        .iter()
        .map(|p| (p.key.to_string(), p.sample.ts.0, p.sample.value))
        .collect();
    assert_eq!(
        got,
        vec![
            ("api/req_total:rate".to_owned(), NOW - 1000, 4.0),
            ("api/req_total:rate".to_owned(), NOW, 2.0),
            ("api/mem".to_owned(), NOW - 500, 3.0),
        ]
    );
    assert_eq!((r.primed, r.counter_resets), (1, 1));
    assert_eq!(r.rejected.get(&RejectReason::NonFinite), Some(&1));
    assert_eq!(r.rejected.get(&RejectReason::NoWorkload), Some(&1));
    assert_eq!(a.series_count(), 2);
}

#[test]
fn the_per_workload_cap_keeps_slots_for_other_workloads_until_idle_series_are_forgotten() {
    let mut a = Admission::new(
        AdmissionConfig {
            max_series: 10,
            max_series_per_workload: 2,
            ..AdmissionConfig::default()
        },
        MappingRules::default(),
    );
    let batch = |job: &str, n: usize, ts: i64| -> Vec<RawSample> {
        (0..n)
            .map(|i| raw("g", &[("job", job), ("id", &i.to_string())], Some(ts), 1.0))
            .collect()
    };
    let r = a.admit(batch("noisy", 5, NOW - 60_000), &no_kinds, NOW);
    assert_eq!(r.accepted.len(), 2);
    assert_eq!(r.rejected.get(&RejectReason::WorkloadSeriesLimit), Some(&3));
    assert_eq!(a.workload_series_count("noisy"), 2);
    let r = a.admit(batch("quiet", 2, NOW), &no_kinds, NOW);
    assert_eq!(r.accepted.len(), 2, "{:?}", r.rejected);
    // The noisy workload's series go idle and give their slots back; quiet's stay.
    assert_eq!(a.forget_idle(NOW, 30_000), 2);
    assert_eq!(a.workload_series_count("noisy"), 0);
    assert_eq!(a.workload_series_count("quiet"), 2);
    let r = a.admit(batch("noisy", 3, NOW), &no_kinds, NOW);
    assert_eq!(r.accepted.len(), 2);
    assert_eq!(a.series_count(), 4);
}

#[test]
fn metric_names_must_be_prometheus_names() {
    for ok in ["a", "_x", "job:rate5m", "http_requests_total", "A9"] {
        assert!(valid_metric_name(ok), "{ok}");
    }
    for bad in ["", "9a", "a-b", "a.b", "a b", "é"] {
        assert!(!valid_metric_name(bad), "{bad}");
    }
    let mut a = admission();
    let r = a.admit(
        vec![
            raw("bad-name", &[("job", "w")], Some(NOW), 1.0),
            raw("good", &[("job", "w")], Some(NOW), 1.0),
        ],
        &no_kinds,
        NOW,
    );
    assert_eq!(r.accepted.len(), 1);
    assert_eq!(r.rejected.get(&RejectReason::InvalidMetricName), Some(&1));
}

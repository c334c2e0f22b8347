//! Property tests: no input makes the decoders panic, and encode → decode round-trips exactly.

use prescale_ingest::admit::{Admission, AdmissionConfig, MappingRules};
use prescale_ingest::exposition::{self, Format, ParseLimits};
use prescale_ingest::remote_write::{self, Label, Limits, PbSample, TimeSeries, WriteRequest};
use prescale_ingest::RawSample;
use proptest::prelude::*;
use prost::Message;
use std::collections::BTreeMap;

/// Renders samples in Prometheus text format with the escapes the spec requires.
fn render_text(samples: &[RawSample]) -> String {
    let mut out = String::new();
    for s in samples {
        out.push_str(&s.name);
        if !s.labels.is_empty() {
            out.push('{');
            for (i, (k, v)) in s.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                out.push_str(&format!("{k}=\"{v}\""));
            }
            out.push('}');
        }
        out.push_str(&format!(" {:?}", s.value));
        if let Some(ts) = s.timestamp_ms {
            out.push_str(&format!(" {ts}"));
        }
        out.push('\n');
    }
    out
}

fn metric_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,20}"
}

fn label_set() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,10}", any::<String>(), 0..6).prop_map(
        |m| {
            m.into_iter()
                .filter(|(k, _)| k != "__name__")
                .collect::<Vec<_>>()
        },
    )
}

fn finite_or_special() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
    ]
}

fn raw_sample() -> impl Strategy<Value = RawSample> {
    (
        metric_name(),
        label_set(),
        finite_or_special(),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(name, labels, value, timestamp_ms)| RawSample {
            name,
            labels,
            value,
            timestamp_ms,
        })
}

/// Lines that look like exposition text, to reach deep parser states more often than random strings.
fn exposition_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        r#"[a-z_]{1,6}(\{([a-z]{1,3}="([a-z \\"n]|\\\\|\\"|\\n){0,6}",?){0,3}\})? ?[-+0-9.eEIinfNa]{0,8}( [-0-9.e]{0,8})?( # \{[a-z]="x"\} 1)?"#,
        "# (TYPE|HELP|UNIT) [a-z_]{1,6}( (counter|gauge|histogram|summary|unknown|untyped|info|stateset|[a-z]{0,5}))?",
        Just("# EOF".to_owned()),
        r#"[a-z]{1,4}_(bucket|count|sum|total|created)(\{(le|quantile)="[-+0-9.Inf]{0,4}"\})? [0-9]{1,3}"#,
        ".{0,12}",
    ];
    prop::collection::vec(line, 0..24).prop_map(|ls| ls.join("\n"))
}

fn write_request() -> impl Strategy<Value = WriteRequest> {
    let series = (
        "[a-z_:]{1,12}",
        prop::collection::btree_map("[a-z_]{1,8}", ".{0,16}", 0..5),
        prop::collection::vec((any::<u64>(), any::<i64>()), 0..8),
    )
        .prop_map(|(name, labels, samples)| {
            let mut labels: BTreeMap<String, String> = labels;
            labels.insert("__name__".to_owned(), name);
            TimeSeries {
                labels: labels
                    .into_iter()
                    .map(|(k, v)| Label { name: k, value: v })
                    .collect(),
                samples: samples
                    .into_iter()
                    .map(|(bits, timestamp)| PbSample {
                        value: f64::from_bits(bits),
                        timestamp,
                    })
                    .collect(),
                exemplars: Vec::new(),
            }
        });
    prop::collection::vec(series, 0..12).prop_map(|timeseries| WriteRequest {
        timeseries,
        metadata: Vec::new(),
    })
}

/// Requests with unique series, small name/label vocabularies and timestamps around `NOW`, so that
/// counters, resets, duplicates and every refusal reason occur often.
fn admissible_request() -> impl Strategy<Value = WriteRequest> {
    let value = prop_oneof![
        0.0f64..1e6,
        Just(f64::NAN),
        Just(-1.0),
        Just(f64::INFINITY),
        Just(5.0)
    ];
    let series = (
        prop::sample::select(vec!["a_total", "b", "c_total", "d_bucket"]),
        prop::sample::select(vec!["", "x", "y"]),
        prop::collection::vec((value, -700_000i64..700_000), 0..12),
    );
    prop::collection::vec(series, 0..10).prop_map(|list| {
        let mut seen = std::collections::HashSet::new();
        let timeseries = list
            .into_iter()
            .filter(|(n, j, _)| seen.insert((*n, *j)))
            .map(|(name, job, samples)| {
                let mut labels = vec![Label {
                    name: "__name__".into(),
                    value: name.into(),
                }];
                if !job.is_empty() {
                    labels.push(Label {
                        name: "job".into(),
                        value: job.into(),
                    });
                }
                TimeSeries {
                    labels,
                    samples: samples
                        .into_iter()
                        .map(|(value, dt)| PbSample {
                            value,
                            timestamp: NOW + dt,
                        })
                        .collect(),
                    exemplars: Vec::new(),
                }
            })
            .collect();
        WriteRequest {
            timeseries,
            metadata: Vec::new(),
        }
    })
}

const NOW: i64 = 1_700_000_000_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_path_equals_raw_sample_path(req in admissible_request(), rounds in 1usize..3) {
        let cfg = AdmissionConfig { max_future_ms: 600_000, max_age_ms: 600_000, ..AdmissionConfig::default() };
        let mut by_request = Admission::new(cfg.clone(), MappingRules::default());
        let mut by_raw = Admission::new(cfg, MappingRules::default());
        let kinds = |n: &str| (n == "d_bucket").then_some(prescale_ingest::MetricKind::Histogram);
        for round in 0..rounds {
            let now = NOW + round as i64 * 1000;
            let a = by_request.admit_request(&req, &kinds, now).flattened();
            let b = by_raw.admit(remote_write::to_raw_samples(&req), &kinds, now);
            prop_assert_eq!(&a.rejected, &b.rejected);
            prop_assert_eq!((a.primed, a.counter_resets), (b.primed, b.counter_resets));
            let key = |p: &prescale_core::Point| (p.key.clone(), p.sample.ts, p.sample.value.to_bits());
            let mut pa: Vec<_> = a.accepted.iter().map(key).collect();
            let mut pb: Vec<_> = b.accepted.iter().map(key).collect();
            pa.sort();
            pb.sort();
            prop_assert_eq!(pa, pb);
        }
        prop_assert_eq!(by_request.series_count(), by_raw.series_count());
    }

    #[test]
    fn exposition_never_panics_on_strings(text in any::<String>()) {
        let _ = exposition::parse(&text, Format::Text);
        let _ = exposition::parse(&text, Format::OpenMetrics);
    }

    #[test]
    fn exposition_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = exposition::parse_bytes(&body, Format::Text, &ParseLimits::default());
        let _ = exposition::parse_bytes(&body, Format::OpenMetrics, &ParseLimits::default());
    }

    #[test]
    fn exposition_like_text_parses_or_errs_with_a_line(text in exposition_like()) {
        for format in [Format::Text, Format::OpenMetrics] {
            match exposition::parse(&text, format) {
                Ok(e) => {
                    for s in &e.samples {
                        prop_assert!(!s.name.is_empty());
                        prop_assert!(s.labels.windows(2).all(|w| w[0].0 < w[1].0));
                    }
                }
                Err(e) => {
                    let lines = text.split('\n').count();
                    prop_assert!(e.line().is_some_and(|l| l >= 1 && l <= lines), "{e} / {lines}");
                }
            }
        }
    }

    #[test]
    fn exposition_round_trips_rendered_samples(samples in prop::collection::vec(raw_sample(), 0..20)) {
        let text = render_text(&samples);
        let parsed = exposition::parse(&text, Format::Text).unwrap();
        prop_assert_eq!(parsed.samples, samples);
    }

    #[test]
    fn remote_write_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = remote_write::decode(&body, &Limits::default());
    }

    #[test]
    fn remote_write_never_panics_on_compressed_bytes(pb in prop::collection::vec(any::<u8>(), 0..512)) {
        // Valid snappy around arbitrary protobuf bytes reaches the protobuf decoder and the checks.
        let body = snap::raw::Encoder::new().compress_vec(&pb).unwrap();
        if let Ok(req) = remote_write::decode(&body, &Limits::default()) {
            let back = remote_write::decode(&remote_write::encode(&req), &Limits::default()).unwrap();
            prop_assert_eq!(back.encode_to_vec(), req.encode_to_vec());
        }
    }

    #[test]
    fn remote_write_round_trips(req in write_request()) {
        let body = remote_write::encode(&req);
        let back = remote_write::decode(&body, &Limits::default()).unwrap();
        // NaN payloads compare by bits through the canonical protobuf encoding.
        prop_assert_eq!(back.encode_to_vec(), req.encode_to_vec());
        let raw = remote_write::to_raw_samples(&back);
        prop_assert_eq!(raw.len(), req.timeseries.iter().map(|t| t.samples.len()).sum::<usize>());
    }

    #[test]
    fn admission_accounts_for_every_sample(
        samples in prop::collection::vec(raw_sample(), 0..40),
        now in 0i64..4_000_000_000_000,
        max_series in 1usize..8,
    ) {
        let n = samples.len() as u64;
        let mut a = Admission::new(
            AdmissionConfig { max_series, ..AdmissionConfig::default() },
            MappingRules { fallback_workload: Some("w".into()), ..MappingRules::default() },
        );
        let r = a.admit(samples, &|_| None, now);
        prop_assert_eq!(r.accepted.len() as u64 + r.rejected_total() + r.primed, n);
        prop_assert!(r.accepted.iter().all(|p| p.sample.value.is_finite()));
        prop_assert!(a.series_count() <= max_series);
        prop_assert!(r.accepted.windows(2).all(|w| w[0].sample.ts <= w[1].sample.ts));
    }

    #[test]
    fn counter_rates_are_finite_and_accounted(
        samples in prop::collection::vec(
            (0usize..3, any::<f64>(), -5_000i64..5_000),
            0..60,
        ),
    ) {
        let now = 1_700_000_000_000;
        let n = samples.len() as u64;
        let batch = samples
            .into_iter()
            .map(|(series, value, dt)| RawSample {
                name: "c_total".into(),
                labels: vec![("job".into(), format!("j{series}"))],
                value,
                timestamp_ms: Some(now + dt),
            })
            .collect();
        let mut a = Admission::new(AdmissionConfig::default(), MappingRules::default());
        let r = a.admit(batch, &|_| None, now);
        prop_assert_eq!(r.accepted.len() as u64 + r.rejected_total() + r.primed, n);
        prop_assert!(r.primed <= 3);
        for p in &r.accepted {
            prop_assert!(p.sample.value.is_finite() && p.sample.value >= 0.0, "{:?}", p);
        }
    }
}

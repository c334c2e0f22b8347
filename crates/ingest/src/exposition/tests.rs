//! Known-answer tests for whole exposition bodies in both formats.

use super::*;

const PROM_DOC_EXAMPLE: &str = include_str!("../../tests/data/prometheus_doc.prom");

const OM_EXAMPLE: &str = include_str!("../../tests/data/openmetrics_spec.om");

fn err_of(text: &str, format: Format) -> ExpositionError {
    match parse(text, format) {
        Err(e) => e,
        Ok(x) => panic!("expected an error for {text:?}, got {x:?}"),
    }
}

#[test]
fn prometheus_documentation_example() {
    let e = parse(PROM_DOC_EXAMPLE, Format::Text).unwrap();
    assert_eq!(e.samples.len(), 2 + 1 + 1 + 1 + 8 + 7);
    let s = &e.samples[2];
    assert_eq!(s.name, "msdos_file_access_time_seconds");
    assert_eq!(
        s.labels,
        vec![
            ("error".into(), "Cannot find file:\n\"FILE.TXT\"".into()),
            ("path".into(), "C:\\DIR\\FILE.TXT".into()),
        ]
    );
    assert_eq!(s.value, 1.458255915e9);
    let weird = &e.samples[4];
    assert_eq!(weird.value, f64::INFINITY);
    assert_eq!(weird.timestamp_ms, Some(-3_982_045));
    assert_eq!(e.samples[10].label("le"), Some("+Inf"));
    assert_eq!(e.samples[12].name, "http_request_duration_seconds_count");
    assert_eq!(e.samples[12].value, 144_320.0);

    let kinds: Vec<_> = e
        .families
        .iter()
        .map(|f| (f.name.as_str(), f.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("http_requests_total", MetricKind::Counter),
            ("http_request_duration_seconds", MetricKind::Histogram),
            ("rpc_duration_seconds", MetricKind::Summary),
        ]
    );
    assert_eq!(
        e.families[0].help.as_deref(),
        Some("The total number of HTTP requests.")
    );
    let idx = e.kind_index();
    assert_eq!(idx.get("http_requests_total"), Some(MetricKind::Counter));
    assert_eq!(
        idx.get("http_request_duration_seconds_bucket"),
        Some(MetricKind::Histogram)
    );
    assert_eq!(
        idx.get("rpc_duration_seconds_sum"),
        Some(MetricKind::Summary)
    );
    assert_eq!(idx.get("metric_without_timestamp_and_labels"), None);
}

#[test]
fn openmetrics_specification_example() {
    let e = parse(OM_EXAMPLE, Format::OpenMetrics).unwrap();
    let names: Vec<&str> = e.samples.iter().map(|s| s.name.as_str()).collect();
    assert!(!names.iter().any(|n| n.ends_with("_created")), "{names:?}");
    assert_eq!(e.samples.len(), 4 + 1 + 1 + 6 + 1);
    let cpu = e
        .samples
        .iter()
        .find(|s| s.name == "process_cpu_seconds_total")
        .unwrap();
    assert_eq!(cpu.value, 4.20072246e+06);
    let inf = e
        .samples
        .iter()
        .find(|s| s.label("le") == Some("+Inf"))
        .unwrap();
    assert_eq!(inf.value, 17.0);
    assert_eq!(inf.timestamp_ms, Some(1_520_879_607_789));
    let fam = &e.families[0];
    assert_eq!(fam.kind, MetricKind::Summary);
    assert_eq!(fam.unit.as_deref(), Some("seconds"));
    assert_eq!(
        fam.help.as_deref(),
        Some("Latency though all of ACME's HTTP request router.")
    );
    let idx = e.kind_index();
    assert_eq!(
        idx.get("process_cpu_seconds_total"),
        Some(MetricKind::Counter)
    );
    assert_eq!(idx.get("acme_build_info"), Some(MetricKind::Info));
    assert_eq!(idx.get("foo_bucket"), Some(MetricKind::Histogram));
}

#[test]
fn errors_name_the_line() {
    let text = "a 1\nb 2\n# TYPE c gauge\nc 3\n\nd{x=\"1\"} 4\ne{x=\"oops} 5\n";
    let e = err_of(text, Format::Text);
    assert_eq!(e.to_string(), "line 7: unterminated label value");
    assert_eq!(e.line(), Some(7));
    let e = err_of("a 1\nb x\n", Format::Text);
    assert_eq!(e.to_string(), "line 2: invalid sample value \"x\"");
    let e = err_of("# TYPE a gauge\n# TYPE a counter\n", Format::Text);
    assert_eq!(e.to_string(), "line 2: second TYPE line for metric \"a\"");
    let e = err_of("# TYPE a gauge\n# HELP a x\n# HELP a y\n", Format::Text);
    assert_eq!(e.line(), Some(3));
}

#[test]
fn openmetrics_eof_rules() {
    assert_eq!(
        err_of("a 1\n", Format::OpenMetrics).to_string(),
        "line 1: the body does not end with \"# EOF\""
    );
    assert_eq!(err_of("", Format::OpenMetrics).line(), Some(1));
    assert_eq!(
        err_of("a 1\n# EOF\nb 2\n", Format::OpenMetrics).to_string(),
        "line 3: content after \"# EOF\""
    );
    assert!(parse("a 1\n# EOF", Format::OpenMetrics).is_ok());
    assert!(parse("a 1\n# EOF\n", Format::OpenMetrics).is_ok());
    // In Prometheus text `# EOF` is an ordinary comment.
    assert_eq!(
        parse("# EOF\na 1\n", Format::Text).unwrap().samples.len(),
        1
    );
}

#[test]
fn histogram_and_summary_shape_checks() {
    let e = err_of("# TYPE h histogram\nh_bucket 1\n", Format::Text);
    assert_eq!(
        e,
        ExpositionError::Line {
            line: 2,
            problem: Problem::BadBucketBound
        }
    );
    assert!(parse("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", Format::Text).is_err());
    assert!(parse("# TYPE s summary\ns 1\n", Format::Text).is_err());
    assert!(parse("# TYPE s summary\ns{quantile=\"1.5\"} 1\n", Format::Text).is_err());
    assert!(parse("# TYPE s summary\ns{quantile=\"0.5\"} 1\n", Format::Text).is_ok());
    // Without a TYPE line nothing is checked.
    assert!(parse("h_bucket 1\n", Format::Text).is_ok());
}

#[test]
fn tolerant_whitespace_and_line_endings() {
    let e = parse("  # HELP a x\r\n\ta 1\r\n\r\n", Format::Text).unwrap();
    assert_eq!(e.samples.len(), 1);
    assert_eq!(e.families[0].help.as_deref(), Some("x"));
    assert!(parse("", Format::Text).unwrap().samples.is_empty());
}

#[test]
fn limits_are_enforced() {
    let limits = ParseLimits {
        max_body_bytes: 10,
        ..ParseLimits::default()
    };
    assert_eq!(
        parse_with_limits("a 1\nb 2\nc 3\n", Format::Text, &limits),
        Err(ExpositionError::TooLarge {
            size: 12,
            limit: 10
        })
    );
    let limits = ParseLimits {
        max_line_bytes: 8,
        ..ParseLimits::default()
    };
    let e = parse_with_limits("a 1\nabcdefgh 1\n", Format::Text, &limits).unwrap_err();
    assert_eq!(e.line(), Some(2));
    let limits = ParseLimits {
        max_samples: 2,
        ..ParseLimits::default()
    };
    assert_eq!(
        parse_with_limits("a 1\nb 2\nc 3\n", Format::Text, &limits),
        Err(ExpositionError::TooManySamples { limit: 2 })
    );
}

#[test]
fn bytes_must_be_utf8() {
    let e = parse_bytes(
        b"a 1\nb{x=\"\xff\"} 2\n",
        Format::Text,
        &ParseLimits::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "line 2: invalid UTF-8");
}

#[test]
fn content_types() {
    assert_eq!(
        Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4"),
        Format::Text
    );
    assert_eq!(Format::from_content_type(""), Format::Text);
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for text in [
        "{",
        "}",
        "a{",
        "a{=",
        "a{b",
        "a{b=",
        "a{b=\"",
        "a{b=\"\\",
        "#",
        "# TYPE",
        "# HELP ",
        "a 1 2 3",
        "\u{feff}a 1",
        "é 1",
        "a{é=\"1\"} 1",
    ] {
        let _ = parse(text, Format::Text);
        let _ = parse(text, Format::OpenMetrics);
    }
}

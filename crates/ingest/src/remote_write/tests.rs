//! Remote-write decode/encode tests: limits, malformed bodies and round trips.

use super::*;

fn sample_request() -> WriteRequest {
    from_points(vec![
        (
            "http_requests_total",
            vec![("job", "web"), ("code", "200")],
            2_000,
            12.0,
        ),
        (
            "http_requests_total",
            vec![("job", "web"), ("code", "200")],
            1_000,
            10.0,
        ),
        (
            "http_requests_total",
            vec![("code", "500"), ("job", "web")],
            1_000,
            1.0,
        ),
        ("temp", vec![], 1_000, f64::NAN),
    ])
}

#[test]
fn from_points_groups_and_sorts() {
    let req = sample_request();
    assert_eq!(req.timeseries.len(), 3);
    let first = &req.timeseries[0];
    let names: Vec<&str> = first.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["__name__", "code", "job"]);
    let ts: Vec<i64> = first.samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(ts, vec![1_000, 2_000]);
    assert_eq!(req.timeseries[1].labels[1], Label::new("code", "500"));
    assert_eq!(
        req.timeseries[2].labels,
        vec![Label::new("__name__", "temp")]
    );
}

#[test]
fn round_trip() {
    let req = sample_request();
    let body = encode(&req);
    let back = decode(&body, &Limits::default()).unwrap();
    // NaN != NaN, so compare the canonical protobuf encodings.
    assert_eq!(back.encode_to_vec(), req.encode_to_vec());
    assert!(back.timeseries[2].samples[0].value.is_nan());
}

#[test]
fn raw_samples() {
    let raw = to_raw_samples(&sample_request());
    assert_eq!(raw.len(), 4);
    assert_eq!(raw[0].name, "http_requests_total");
    assert_eq!(
        raw[0].labels,
        vec![("code".into(), "200".into()), ("job".into(), "web".into())]
    );
    assert_eq!(raw[0].timestamp_ms, Some(1_000));
    assert_eq!(raw[1].value, 12.0);
    assert!(raw[3].labels.is_empty());
}

fn series(labels: Vec<Label>) -> WriteRequest {
    WriteRequest {
        timeseries: vec![TimeSeries {
            labels,
            samples: vec![PbSample {
                value: 1.0,
                timestamp: 1,
            }],
            exemplars: vec![],
        }],
        metadata: vec![],
    }
}

fn decode_err(req: &WriteRequest, limits: &Limits) -> RemoteWriteError {
    decode(&encode(req), limits).unwrap_err()
}

#[test]
fn label_checks() {
    let l = Limits::default();
    let e = decode_err(&series(vec![Label::new("job", "x")]), &l);
    assert_eq!(e, RemoteWriteError::MissingName { series: 0 });
    assert_eq!(e.to_string(), "series 0 has no __name__ label");
    assert_eq!(
        decode_err(&series(vec![Label::new("__name__", "")]), &l),
        RemoteWriteError::EmptyName { series: 0 }
    );
    assert_eq!(
        decode_err(
            &series(vec![Label::new("__name__", "a"), Label::new("", "x")]),
            &l
        ),
        RemoteWriteError::EmptyLabelName { series: 0 }
    );
    let dup = series(vec![
        Label::new("b", "1"),
        Label::new("__name__", "a"),
        Label::new("b", "2"),
    ]);
    assert_eq!(
        decode_err(&dup, &l),
        RemoteWriteError::DuplicateLabel {
            series: 0,
            name: "b".into()
        }
    );
    // Unsorted but unique labels are fine.
    let unsorted = series(vec![Label::new("z", "1"), Label::new("__name__", "a")]);
    let raw = to_raw_samples(&decode(&encode(&unsorted), &l).unwrap());
    assert_eq!(raw[0].labels, vec![("z".into(), "1".into())]);
}

#[test]
fn size_limits() {
    let req = sample_request();
    let body = encode(&req);
    let tight = Limits {
        max_body_bytes: body.len() - 1,
        ..Limits::default()
    };
    assert!(matches!(
        decode(&body, &tight),
        Err(RemoteWriteError::BodyTooLarge { .. })
    ));
    let tight = Limits {
        max_decompressed_bytes: 10,
        ..Limits::default()
    };
    assert!(matches!(
        decode(&body, &tight),
        Err(RemoteWriteError::DecompressedTooLarge { limit: 10, .. })
    ));
    let tight = Limits {
        max_series: 2,
        ..Limits::default()
    };
    assert_eq!(
        decode(&body, &tight),
        Err(RemoteWriteError::TooManySeries { count: 3, limit: 2 })
    );
    let tight = Limits {
        max_labels_per_series: 2,
        ..Limits::default()
    };
    assert!(matches!(
        decode(&body, &tight),
        Err(RemoteWriteError::TooManyLabels {
            series: 0,
            count: 3,
            limit: 2
        })
    ));
    let tight = Limits {
        max_label_bytes: 12,
        ..Limits::default()
    };
    assert!(matches!(
        decode(&body, &tight),
        Err(RemoteWriteError::LabelTooLarge { series: 0, .. })
    ));
}

#[test]
fn a_lying_snappy_header_is_refused_before_allocation() {
    // Varint header claiming 2^32-1 decompressed bytes, followed by nothing.
    let body = [0xff, 0xff, 0xff, 0xff, 0x0f];
    let e = decode(&body, &Limits::default()).unwrap_err();
    assert!(
        matches!(e, RemoteWriteError::DecompressedTooLarge { .. }),
        "{e}"
    );
}

#[test]
fn malformed_bodies() {
    let l = Limits::default();
    assert_eq!(decode(b"", &l).unwrap_err().as_str(), "snappy");
    // Framed snappy stream header is not a block.
    let framed = b"\xff\x06\x00\x00sNaPpY";
    assert_eq!(decode(framed, &l).unwrap_err().as_str(), "snappy");
    // Truncated block.
    let body = encode(&sample_request());
    let e = decode(&body[..body.len() / 2], &l).unwrap_err();
    assert_eq!(e.as_str(), "snappy", "{e}");
    // Valid snappy, invalid protobuf.
    let junk = snap::raw::Encoder::new()
        .compress_vec(b"\x0a\xff\xff\xff\xff\x0f")
        .unwrap();
    let e = decode(&junk, &l).unwrap_err();
    assert_eq!(e.as_str(), "protobuf");
    assert!(e
        .to_string()
        .starts_with("body is not a valid protobuf WriteRequest"));
    // Invalid UTF-8 in a label value is a protobuf error too.
    let mut pb = series(vec![Label::new("__name__", "ab")]).encode_to_vec();
    let pos = pb.windows(2).position(|w| w == b"ab").unwrap();
    pb[pos] = 0xff;
    let bad = snap::raw::Encoder::new().compress_vec(&pb).unwrap();
    assert_eq!(decode(&bad, &l).unwrap_err().as_str(), "protobuf");
}

#[test]
fn empty_request_is_valid() {
    let req = WriteRequest::default();
    let back = decode(&encode(&req), &Limits::default()).unwrap();
    assert_eq!(back, req);
}

#[test]
fn metadata_kinds() {
    let mut req = WriteRequest::default();
    req.metadata.push(MetricMetadata {
        r#type: MetricType::Counter as i32,
        metric_family_name: "req".into(),
        help: "requests".into(),
        unit: String::new(),
    });
    req.metadata.push(MetricMetadata {
        r#type: 99,
        metric_family_name: "odd".into(),
        help: String::new(),
        unit: String::new(),
    });
    let back = decode(&encode(&req), &Limits::default()).unwrap();
    let idx = kind_index(&back);
    assert_eq!(idx.get("req_total"), Some(crate::MetricKind::Counter));
    assert_eq!(idx.get("odd"), None);
}

#[test]
fn limits_deserialize_with_defaults() {
    let l: Limits = serde_json::from_str(r#"{"max_series": 7}"#).unwrap();
    assert_eq!(l.max_series, 7);
    assert_eq!(l.max_body_bytes, Limits::default().max_body_bytes);
    assert!(serde_json::from_str::<Limits>(r#"{"max_serie": 7}"#).is_err());
}

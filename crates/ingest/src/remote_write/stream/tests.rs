//! Chunked reading against the one-piece decoder: same acceptance, same samples, bounded chunks.

use super::*;
use crate::remote_write::{decode, decompress, encode, from_points};

fn request(series: usize, per_series: usize) -> WriteRequest {
    from_points((0..series).flat_map(|s| {
        (0..per_series).map(move |i| {
            (
                "queue_depth",
                [("job", format!("j{s}"))],
                1_000 + i as i64,
                (s * 1000 + i) as f64,
            )
        })
    }))
}

/// Every (labels, sample) pair of a request in order.
fn flat(reqs: &[WriteRequest]) -> Vec<(Vec<Label>, i64, u64)> {
    reqs.iter()
        .flat_map(|r| &r.timeseries)
        .flat_map(|t| {
            t.samples
                .iter()
                .map(|s| (t.labels.clone(), s.timestamp, s.value.to_bits()))
        })
        .collect()
}

fn chunked(body: &[u8], limits: &Limits, n: usize) -> Result<Vec<WriteRequest>, RemoteWriteError> {
    let checked = check(decompress(body, limits)?, limits)?;
    checked.chunks(n).collect()
}

#[test]
fn chunks_hold_at_most_n_samples_and_cover_the_request_in_order() {
    let req = request(3, 10);
    let body = encode(&req);
    let limits = Limits::default();
    let whole = decode(&body, &limits).unwrap();
    for n in [1, 4, 10, 11, 30, 1000] {
        let chunks = chunked(&body, &limits, n).unwrap();
        assert!(chunks.iter().all(|c| {
            let k: usize = c.timeseries.iter().map(|t| t.samples.len()).sum();
            (1..=n).contains(&k)
        }));
        assert_eq!(chunks.len(), 30usize.div_ceil(n), "n = {n}");
        assert_eq!(flat(&chunks), flat(std::slice::from_ref(&whole)), "n = {n}");
    }
}

#[test]
fn a_long_series_is_split_with_its_labels_in_every_chunk() {
    let req = request(1, 25);
    let chunks = chunked(&encode(&req), &Limits::default(), 10).unwrap();
    let sizes: Vec<usize> = chunks
        .iter()
        .map(|c| c.timeseries[0].samples.len())
        .collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    assert!(chunks
        .iter()
        .all(|c| c.timeseries.len() == 1 && c.timeseries[0].labels == req.timeseries[0].labels));
}

#[test]
fn series_without_samples_and_metadata_are_kept_out_of_chunks() {
    let mut req = request(2, 3);
    req.timeseries.insert(
        1,
        TimeSeries {
            labels: vec![Label::new("__name__", "empty")],
            samples: vec![],
            exemplars: vec![],
        },
    );
    req.metadata.push(MetricMetadata {
        r#type: 2,
        metric_family_name: "queue_depth".into(),
        help: String::new(),
        unit: String::new(),
    });
    let limits = Limits::default();
    let checked = check(decompress(&encode(&req), &limits).unwrap(), &limits).unwrap();
    assert_eq!(checked.samples, 6);
    assert_eq!(checked.metadata, req.metadata);
    let chunks: Vec<WriteRequest> = checked.chunks(100).collect::<Result<_, _>>().unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].timeseries.len(), 2);
}

#[test]
fn the_sample_cap_is_checked_before_anything_is_read() {
    let limits = Limits {
        max_samples: 29,
        ..Limits::default()
    };
    let body = encode(&request(3, 10));
    let err = RemoteWriteError::TooManySamples {
        count: 30,
        limit: 29,
    };
    assert_eq!(chunked(&body, &limits, 5).unwrap_err(), err);
    assert_eq!(decode(&body, &limits).unwrap_err(), err);
    assert!(err.is_too_large());
    assert_eq!(
        err.to_string(),
        "request has 30 samples, over the limit of 29 per request"
    );
}

/// A series whose wire form carries unknown fields (varint, fixed, group) between its samples.
fn with_unknown_fields() -> Vec<u8> {
    let series = TimeSeries {
        labels: vec![Label::new("__name__", "x"), Label::new("job", "a")],
        samples: vec![
            Sample {
                value: 1.0,
                timestamp: 5,
            },
            Sample {
                value: 2.0,
                timestamp: 6,
            },
        ],
        exemplars: vec![],
    };
    let mut ts = series.encode_to_vec();
    // field 9 varint 300, field 10 fixed64, field 11 group holding field 1 varint, field 12 fixed32.
    ts.extend([
        0x48, 0xac, 0x02, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5b, 0x08, 0x01, 0x5c,
    ]);
    ts.extend([0x65, 1, 2, 3, 4]);
    ts.push(0x12);
    ts.extend(
        Sample {
            value: 3.0,
            timestamp: 7,
        }
        .encode_length_delimited_to_vec(),
    );
    assert!(ts.len() < 128, "one-byte length below");
    let mut out = vec![0x0a, ts.len() as u8];
    out.extend(ts);
    out
}

#[test]
fn unknown_fields_are_skipped_as_the_one_piece_decoder_skips_them() {
    let pb = with_unknown_fields();
    let body = snap::raw::Encoder::new().compress_vec(&pb).unwrap();
    let limits = Limits::default();
    let whole = decode(&body, &limits).unwrap();
    assert_eq!(whole.timeseries[0].samples.len(), 3);
    let chunks = chunked(&body, &limits, 2).unwrap();
    assert_eq!(flat(&chunks), flat(&[whole]));
}

#[test]
fn a_sample_field_of_the_wrong_wire_type_is_refused_by_both() {
    // Series: __name__ label, then tag 2 as a varint.
    let label = Label::new("__name__", "x").encode_to_vec();
    let mut ts = vec![0x0a, label.len() as u8];
    ts.extend(label);
    ts.extend([0x10, 0x01]);
    let mut pb = vec![0x0a, ts.len() as u8];
    pb.extend(ts);
    let body = snap::raw::Encoder::new().compress_vec(&pb).unwrap();
    let limits = Limits::default();
    assert!(matches!(
        decode(&body, &limits),
        Err(RemoteWriteError::Protobuf(_))
    ));
    assert!(matches!(
        chunked(&body, &limits, 10),
        Err(RemoteWriteError::Protobuf(_))
    ));
}

/// `sample` against prost on the same bytes: the same sample (bit for bit) or both an error.
fn same_as_prost(buf: &[u8]) -> Result<(), String> {
    let ours = sample(buf).map(|s| (s.timestamp, s.value.to_bits()));
    let theirs = Sample::decode(buf).map(|s| (s.timestamp, s.value.to_bits()));
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        _ => Err(format!("{buf:02x?}: ours {ours:?}, prost {theirs:?}")),
    }
}

#[test]
fn samples_decode_as_prost_decodes_them() {
    let varints: [&[u8]; 8] = [
        &[0x00],
        &[0x7f],
        &[0xe8, 0x07],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        &[
            0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ],
        &[0x80],
        &[],
    ];
    let value = 1.5f64.to_le_bytes();
    let mut cases: Vec<Vec<u8>> = vec![vec![], vec![0x09], vec![0x09, 1, 2, 3]];
    for v in varints {
        let ts = [&[0x10u8][..], v].concat();
        let val = [&[0x09u8][..], &value[..]].concat();
        cases.push(ts.clone());
        cases.push([&val[..], &ts[..]].concat());
        cases.push([&ts[..], &val[..]].concat());
        cases.push([&val[..], &ts[..], &ts[..]].concat());
        // Other wire types and unknown fields go to prost.
        cases.push([&ts[..], &[0x18, 0x05][..]].concat());
        cases.push([&[0x0d, 0, 0, 0, 0][..], &ts[..]].concat());
        cases.push([&[0x08][..], v].concat());
    }
    for c in &cases {
        same_as_prost(c).unwrap();
    }
    // Every sample of a real request, and random bytes.
    let body = encode(&request(5, 40));
    let buf = decompress(&body, &Limits::default()).unwrap();
    let checked = check(buf, &Limits::default()).unwrap();
    assert_eq!(checked.samples, 200);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..2000 {
        let bytes: Vec<u8> = (0..len % 24)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly the two keys, so that the fast path is taken often.
                match (x >> 8) % 4 {
                    0 if i % 5 == 0 => 0x09,
                    1 if i % 3 == 0 => 0x10,
                    _ => x as u8,
                }
            })
            .collect();
        same_as_prost(&bytes).unwrap();
    }
}

/// `series_labels` against prost's `SeriesHead` on the same bytes: the same labels or both an error.
fn labels_as_prost(raw: &[u8]) -> Result<(), String> {
    let bytes = Bytes::copy_from_slice(raw);
    let ours = series_labels(&bytes);
    let theirs = SeriesHead::decode(bytes.clone()).map(|h| h.labels);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(_), Err(_)) => Ok(()),
        _ => Err(format!("{raw:02x?}: ours {ours:?}, prost {theirs:?}")),
    }
}

#[test]
fn series_labels_decode_as_prost_decodes_them() {
    let req = request(3, 4);
    let series: Vec<Vec<u8>> = req.timeseries.iter().map(|t| t.encode_to_vec()).collect();
    let label = |n: &[u8], v: &[u8]| {
        let mut l = vec![0x0a, n.len() as u8];
        l.extend(n);
        l.extend([0x12, v.len() as u8]);
        l.extend(v);
        let mut f = vec![0x0a, l.len() as u8];
        f.extend(l);
        f
    };
    // Real series take the borrowed path.
    assert!(series
        .iter()
        .all(|s| wire_labels(s, &mut Vec::new()).is_some()));
    let mut cases: Vec<Vec<u8>> = series.clone();
    cases.extend([
        vec![],
        label(b"__name__", b"x"),
        [label(b"a", b"1"), label(b"a", b"2")].concat(),
        // A repeated name inside one label, an empty label, bad UTF-8, an exemplar, an unknown field.
        vec![0x0a, 0x06, 0x0a, 0x01, b'a', 0x0a, 0x01, b'b'],
        vec![0x0a, 0x00],
        label(b"a", &[0xff, 0xfe]),
        [label(b"a", b"1"), vec![0x1a, 0x00]].concat(),
        [label(b"a", b"1"), vec![0x20, 0x05]].concat(),
        [label(b"a", b"1"), vec![0x12, 0x05, 0x00]].concat(),
        vec![0x0a, 0x80, 0x80, 0x00],
    ]);
    for c in &cases {
        labels_as_prost(c).unwrap();
    }
    // Damaged copies of real series: cut short, or one byte changed.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for s in &series {
        for cut in 0..s.len() {
            labels_as_prost(&s[..cut]).unwrap();
        }
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut d = s.clone();
            let at = (x >> 16) as usize % d.len();
            d[at] = x as u8;
            labels_as_prost(&d).unwrap();
        }
    }
}

//! Invariant checks shared by the cargo-fuzz targets and the corpus-replay test (not a stable API).
//!
//! Each check returns `Err` with a description when an invariant breaks; the fuzz targets turn that
//! into a panic so libFuzzer records the input.

use crate::admit::{Admission, AdmissionConfig, MappingRules};
use crate::exposition::{parse_bytes, Format, ParseLimits};
use crate::remote_write::{
    check, decode, decompress, encode, to_raw_samples, Limits, RemoteWriteError, WriteRequest,
};
use prost::Message;

/// Parses `data` in both formats; whatever parses must have sorted unique labels and be fully
/// accounted for by admission (accepted + refused + primed = parsed), with finite accepted values.
pub fn exposition(data: &[u8]) -> Result<(), String> {
    for format in [Format::Text, Format::OpenMetrics] {
        let Ok(exp) = parse_bytes(data, format, &ParseLimits::default()) else {
            continue;
        };
        for s in &exp.samples {
            if s.name.is_empty() {
                return Err("sample with an empty name".into());
            }
            if !s.labels.windows(2).all(|w| w[0].0 < w[1].0) {
                return Err(format!("labels not sorted and unique: {:?}", s.labels));
            }
        }
        let n = exp.samples.len() as u64;
        let kinds = exp.kind_index();
        let mut admission = Admission::new(
            AdmissionConfig::default(),
            MappingRules {
                fallback_workload: Some("fuzz".into()),
                ..MappingRules::default()
            },
        );
        let r = admission.admit_with_index(exp.samples, &kinds, 1_700_000_000_000);
        let counted = r.accepted.len() as u64 + r.rejected_total() + r.primed;
        if counted != n {
            return Err(format!("{n} samples parsed but {counted} accounted for"));
        }
        if let Some(p) = r.accepted.iter().find(|p| !p.sample.value.is_finite()) {
            return Err(format!("non-finite value admitted: {p:?}"));
        }
    }
    Ok(())
}

/// Decodes `data` as a body, and as protobuf inside a valid snappy block; whatever decodes must
/// survive encode → decode unchanged, flatten to one raw sample per sample, be fully accounted
/// for by per-series admission, and read in chunks to the same series and samples.
pub fn remote_write(data: &[u8]) -> Result<(), String> {
    let limits = Limits::default();
    same_in_chunks(data, &limits)?;
    if let Ok(req) = decode(data, &limits) {
        round_trip(&req)?;
    }
    if let Ok(body) = snap::raw::Encoder::new().compress_vec(data) {
        same_in_chunks(&body, &limits)?;
        if let Ok(req) = decode(&body, &limits) {
            round_trip(&req)?;
        }
    }
    Ok(())
}

/// Every (labels, timestamp, value bits) of a request, in order.
fn flat<'a>(reqs: impl Iterator<Item = &'a WriteRequest>) -> Vec<(Vec<String>, i64, u64)> {
    let mut out = Vec::new();
    for t in reqs.flat_map(|r| &r.timeseries) {
        let labels: Vec<String> = t
            .labels
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect();
        out.extend(
            t.samples
                .iter()
                .map(|s| (labels.clone(), s.timestamp, s.value.to_bits())),
        );
    }
    out
}

/// The chunked reader accepts exactly what the one-piece decoder accepts (save prost's recursion
/// limit, which counts nesting from a different root) and yields the same samples in order.
fn same_in_chunks(body: &[u8], limits: &Limits) -> Result<(), String> {
    let whole = decode(body, limits);
    let chunked: Result<Vec<WriteRequest>, RemoteWriteError> = decompress(body, limits)
        .and_then(|buf| check(buf, limits))
        .and_then(|c| {
            let n = c.samples;
            let chunks: Vec<WriteRequest> = c.chunks(7).collect::<Result<_, _>>()?;
            let got: usize = chunks
                .iter()
                .flat_map(|r| &r.timeseries)
                .map(|t| t.samples.len())
                .sum();
            if got != n
                || chunks
                    .iter()
                    .any(|r| r.timeseries.iter().map(|t| t.samples.len()).sum::<usize>() > 7)
            {
                return Err(RemoteWriteError::Protobuf(format!(
                    "chunks hold {got} of {n} samples or overflow 7"
                )));
            }
            Ok(chunks)
        });
    match (&whole, &chunked) {
        (Ok(w), Ok(c)) if flat(std::iter::once(w)) != flat(c.iter()) => {
            return Err("chunked reading changed the samples".into());
        }
        (Ok(_), Err(e)) => return Err(format!("decode accepts, chunked reading refuses: {e}")),
        (Err(e), Ok(_)) if !e.to_string().contains("recursion") => {
            return Err(format!("chunked reading accepts, decode refuses: {e}"));
        }
        _ => {}
    }
    Ok(())
}

fn round_trip(req: &WriteRequest) -> Result<(), String> {
    // The canonical re-encoding may compress differently: re-decode without size limits.
    let unlimited = Limits {
        max_body_bytes: usize::MAX,
        max_decompressed_bytes: usize::MAX,
        max_samples: usize::MAX,
        ..Limits::default()
    };
    let back = decode(&encode(req), &unlimited)
        .map_err(|e| format!("re-decoding an accepted request failed: {e}"))?;
    // Canonical protobuf bytes compare NaN payloads by bits.
    if back.encode_to_vec() != req.encode_to_vec() {
        return Err("encode → decode changed the request".into());
    }
    let total: usize = req.timeseries.iter().map(|t| t.samples.len()).sum();
    let raw = to_raw_samples(req).len();
    if raw != total {
        return Err(format!("{total} samples flattened to {raw}"));
    }
    let mut admission = Admission::new(AdmissionConfig::default(), MappingRules::default());
    let r = admission.admit_request(req, &|_| None, 1_700_000_000_000);
    let counted = r.samples() as u64 + r.rejected_total() + r.primed;
    if counted != total as u64 {
        return Err(format!(
            "{total} samples in the request but {counted} accounted for"
        ));
    }
    let r = r.flattened();
    if let Some(p) = r.accepted.iter().find(|p| !p.sample.value.is_finite()) {
        return Err(format!("non-finite value admitted: {p:?}"));
    }
    Ok(())
}

//! Invariant checks shared by the cargo-fuzz targets and the corpus-replay test (not a stable API).
//!
//! Each check returns `Err` with a description when an invariant breaks; the fuzz targets turn that
//! into a panic so libFuzzer records the input.

use crate::admit::{Admission, AdmissionConfig, MappingRules};
use crate::exposition::{parse_bytes, Format, ParseLimits};
use crate::remote_write::{decode, encode, to_raw_samples, Limits, WriteRequest};
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
/// survive encode → decode unchanged, flatten to one raw sample per sample, and be fully accounted
/// for by per-series admission.
pub fn remote_write(data: &[u8]) -> Result<(), String> {
    let limits = Limits::default();
    if let Ok(req) = decode(data, &limits) {
        round_trip(&req)?;
    }
    if let Ok(body) = snap::raw::Encoder::new().compress_vec(data) {
        if let Ok(req) = decode(&body, &limits) {
            round_trip(&req)?;
        }
    }
    Ok(())
}

fn round_trip(req: &WriteRequest) -> Result<(), String> {
    // The canonical re-encoding may compress differently: re-decode without size limits.
    let unlimited = Limits {
        max_body_bytes: usize::MAX,
        max_decompressed_bytes: usize::MAX,
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
    let counted = r.accepted.len() as u64 + r.rejected_total() + r.primed;
    if counted != total as u64 {
        return Err(format!(
            "{total} samples in the request but {counted} accounted for"
        ));
    }
    if let Some(p) = r.accepted.iter().find(|p| !p.sample.value.is_finite()) {
        return Err(format!("non-finite value admitted: {p:?}"));
    }
    Ok(())
}

//! Prometheus remote-write 1.0: snappy-block-compressed protobuf `WriteRequest`s, in and out.
//!
//! [`decode`] enforces body and decompressed-size limits *before* allocating, then protobuf-decodes and
//! checks series/label limits; every refusal is a [`RemoteWriteError`] whose message is the 400 body.
//! [`encode`] and [`from_points`] serve the export path.

mod error;
mod precheck;
mod proto;
mod stream;

pub use error::RemoteWriteError;
pub use proto::{
    Exemplar, Label, MetricMetadata, MetricType, Sample as PbSample, TimeSeries, WriteRequest,
};
pub use stream::{check, Checked, Chunks};

use crate::{KindIndex, RawSample};
use prost::Message;
use std::collections::HashMap;

/// The label that carries the metric name.
pub const NAME_LABEL: &str = "__name__";

/// Limits applied to every request before and after decoding, and the receiver's in-flight budget.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Compressed body size.
    pub max_body_bytes: usize,
    /// Size the snappy header declares; checked before the buffer is allocated.
    pub max_decompressed_bytes: usize,
    pub max_series: usize,
    pub max_labels_per_series: usize,
    /// Bytes of one label's name plus value.
    pub max_label_bytes: usize,
    /// Samples in one request (checked by [`check`] before any is admitted).
    pub max_samples: usize,
    /// Receiver-wide, not per request: bytes of bodies and their decompressed data held at once by
    /// all requests together (a receiver answers 429 past it). At least `max_body_bytes +
    /// max_decompressed_bytes`, so that one request of each maximum fits.
    pub max_inflight_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 32 << 20,
            max_series: 100_000,
            max_labels_per_series: 64,
            max_label_bytes: 4096,
            max_samples: 2_000_000,
            max_inflight_bytes: 256 << 20,
        }
    }
}

/// Decodes and validates a remote-write body (snappy block format, then protobuf) in one piece.
/// Receivers read large bodies with [`decompress`], [`check`] and [`Checked::chunks`] instead.
pub fn decode(body: &[u8], limits: &Limits) -> Result<WriteRequest, RemoteWriteError> {
    let buf = decompress(body, limits)?;
    precheck::precheck(&buf, limits)?;
    let req =
        WriteRequest::decode(&buf[..]).map_err(|e| RemoteWriteError::Protobuf(e.to_string()))?;
    validate(&req, limits)?;
    Ok(req)
}

/// The size a snappy block declares it decompresses to, refused over `max_decompressed_bytes`
/// (read from the header: nothing is allocated).
pub fn decompressed_len(body: &[u8], limits: &Limits) -> Result<usize, RemoteWriteError> {
    let len =
        snap::raw::decompress_len(body).map_err(|e| RemoteWriteError::Snappy(e.to_string()))?;
    if len > limits.max_decompressed_bytes {
        return Err(RemoteWriteError::DecompressedTooLarge {
            size: len,
            limit: limits.max_decompressed_bytes,
        });
    }
    Ok(len)
}

/// Checks the body and decompressed sizes, then decompresses the snappy block.
pub fn decompress(body: &[u8], limits: &Limits) -> Result<Vec<u8>, RemoteWriteError> {
    if body.len() > limits.max_body_bytes {
        return Err(RemoteWriteError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let len = decompressed_len(body, limits)?;
    let mut buf = vec![0u8; len];
    let n = snap::raw::Decoder::new()
        .decompress(body, &mut buf)
        .map_err(|e| RemoteWriteError::Snappy(e.to_string()))?;
    buf.truncate(n);
    Ok(buf)
}

/// Checks series count and each series' labels: count, sizes, a non-empty `__name__`, no empty or
/// repeated names. Unsorted labels are tolerated (they are sorted on conversion).
pub fn validate(req: &WriteRequest, limits: &Limits) -> Result<(), RemoteWriteError> {
    if req.timeseries.len() > limits.max_series {
        return Err(RemoteWriteError::TooManySeries {
            count: req.timeseries.len(),
            limit: limits.max_series,
        });
    }
    for (series, ts) in req.timeseries.iter().enumerate() {
        validate_labels(series, &ts.labels, limits)?;
    }
    let samples: usize = req.timeseries.iter().map(|t| t.samples.len()).sum();
    if samples > limits.max_samples {
        return Err(RemoteWriteError::TooManySamples {
            count: samples,
            limit: limits.max_samples,
        });
    }
    Ok(())
}

fn name_of<L: LabelParts>(l: &L) -> &str {
    l.parts().0
}

/// A label as a name and a value: a decoded [`Label`], or a pair borrowed from the wire.
pub(crate) trait LabelParts {
    fn parts(&self) -> (&str, &str);
}

impl LabelParts for Label {
    fn parts(&self) -> (&str, &str) {
        (&self.name, &self.value)
    }
}

impl LabelParts for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

pub(crate) fn validate_labels<L: LabelParts>(
    series: usize,
    labels: &[L],
    limits: &Limits,
) -> Result<(), RemoteWriteError> {
    if labels.len() > limits.max_labels_per_series {
        return Err(RemoteWriteError::TooManyLabels {
            series,
            count: labels.len(),
            limit: limits.max_labels_per_series,
        });
    }
    let mut name = None;
    for (n, v) in labels.iter().map(LabelParts::parts) {
        if n.is_empty() {
            return Err(RemoteWriteError::EmptyLabelName { series });
        }
        let size = n.len() + v.len();
        if size > limits.max_label_bytes {
            return Err(RemoteWriteError::LabelTooLarge {
                series,
                name: n.chars().take(64).collect(),
                size,
                limit: limits.max_label_bytes,
            });
        }
        if n == NAME_LABEL {
            name = Some(v);
        }
    }
    match name {
        None => return Err(RemoteWriteError::MissingName { series }),
        Some("") => return Err(RemoteWriteError::EmptyName { series }),
        Some(_) => {}
    }
    let dup = |name: &str| RemoteWriteError::DuplicateLabel {
        series,
        name: name.chars().take(64).collect(),
    };
    if labels.windows(2).all(|w| name_of(&w[0]) < name_of(&w[1])) {
        return Ok(());
    }
    if let Some(w) = labels.windows(2).find(|w| name_of(&w[0]) == name_of(&w[1])) {
        return Err(dup(name_of(&w[0])));
    }
    // Unsorted: sort references (label counts are bounded by the limit above).
    let mut names: Vec<&str> = labels.iter().map(name_of).collect();
    names.sort_unstable();
    match names.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(dup(w[0])),
        None => Ok(()),
    }
}

/// Encodes a request as a snappy block, or says why it cannot be (over snappy's ~4 GiB block limit).
pub fn try_encode(req: &WriteRequest) -> Result<Vec<u8>, RemoteWriteError> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .map_err(|e| RemoteWriteError::Encode(e.to_string()))
}

/// Encodes a request as a snappy block for `POST /api/v1/write`. A request over snappy's ~4 GiB block
/// limit cannot be represented and yields an empty body, which receivers refuse; split such requests
/// (or use [`try_encode`] to see the error).
pub fn encode(req: &WriteRequest) -> Vec<u8> {
    try_encode(req).unwrap_or_default()
}

/// Flattens a request into one [`RawSample`] per sample; labels are sorted and `__name__` moves to
/// `name`. Series without a name (which [`decode`] refuses) are skipped.
pub fn to_raw_samples(req: &WriteRequest) -> Vec<RawSample> {
    let total = req.timeseries.iter().map(|t| t.samples.len()).sum();
    let mut out = Vec::with_capacity(total);
    for ts in &req.timeseries {
        let Some(name) = ts.labels.iter().find(|l| l.name == NAME_LABEL) else {
            continue;
        };
        let mut labels: Vec<(String, String)> = ts
            .labels
            .iter()
            .filter(|l| l.name != NAME_LABEL)
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        labels.sort_unstable();
        for s in &ts.samples {
            out.push(RawSample {
                name: name.value.clone(),
                labels: labels.clone(),
                value: s.value,
                timestamp_ms: Some(s.timestamp),
            });
        }
    }
    out
}

/// Family kinds declared by the request's metadata (often sent in separate requests: keep a
/// long-lived [`KindIndex`] and [`KindIndex::extend`] it).
pub fn kind_index(req: &WriteRequest) -> KindIndex {
    let mut idx = KindIndex::new();
    for m in &req.metadata {
        if let Ok(t) = MetricType::try_from(m.r#type) {
            idx.insert(m.metric_family_name.clone(), t.kind());
        }
    }
    idx
}

/// Builds a request from `(name, labels, timestamp_ms, value)` points: one series per distinct
/// name + label set (in order of first appearance), labels sorted by name with `__name__` among
/// them, samples sorted by time.
pub fn from_points<I, N, L, K, V>(points: I) -> WriteRequest
where
    I: IntoIterator<Item = (N, L, i64, f64)>,
    N: Into<String>,
    L: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let mut index: HashMap<Vec<Label>, usize> = HashMap::new();
    let mut timeseries: Vec<TimeSeries> = Vec::new();
    for (name, labels, timestamp, value) in points {
        let mut ls: Vec<Label> = labels
            .into_iter()
            .map(|(k, v)| Label::new(k, v))
            .filter(|l| l.name != NAME_LABEL)
            .collect();
        ls.push(Label::new(NAME_LABEL, name));
        ls.sort_by(|a, b| a.name.cmp(&b.name));
        ls.dedup_by(|a, b| a.name == b.name);
        let sample = PbSample { value, timestamp };
        match index.get(&ls) {
            Some(&i) => timeseries[i].samples.push(sample),
            None => {
                index.insert(ls.clone(), timeseries.len());
                timeseries.push(TimeSeries {
                    labels: ls,
                    samples: vec![sample],
                    exemplars: Vec::new(),
                });
            }
        }
    }
    for ts in &mut timeseries {
        ts.samples.sort_by_key(|s| s.timestamp);
    }
    WriteRequest {
        timeseries,
        metadata: Vec::new(),
    }
}

#[cfg(test)]
mod tests;

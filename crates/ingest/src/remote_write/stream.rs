//! Chunked reading of a decompressed remote-write body: one validating pass that allocates nothing
//! per sample ([`check`]), then [`Checked::chunks`] yields the request as small [`WriteRequest`]s of at
//! most N samples each, so a receiver never holds a whole decoded request (1.5M samples decode to
//! 24 MB of samples, and to far more once admitted as points).
//!
//! Series are kept as zero-copy slices of the body; a series' samples are found by walking its wire
//! fields and decoded one at a time. Whatever [`super::decode`] accepts, [`check`] accepts with the same
//! samples in the same order (the fuzz target checks this).

use super::proto::{Exemplar, Label, MetricMetadata, Sample, TimeSeries, WriteRequest};
use super::{precheck, validate_labels, Limits, RemoteWriteError};
use prost::bytes::Bytes;
use prost::Message;

/// `WriteRequest` with each series left undecoded.
#[derive(Clone, PartialEq, prost::Message)]
struct WireRequest {
    #[prost(bytes = "bytes", repeated, tag = "1")]
    timeseries: Vec<Bytes>,
    #[prost(message, repeated, tag = "3")]
    metadata: Vec<MetricMetadata>,
}

/// `TimeSeries` without its samples (tag 2 is skipped as an unknown field, its framing checked).
#[derive(Clone, PartialEq, prost::Message)]
struct SeriesHead {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(message, repeated, tag = "3")]
    exemplars: Vec<Exemplar>,
}

/// A decompressed body that passed every check [`super::decode`] makes, plus the per-request
/// sample cap; read it with [`Checked::chunks`].
#[derive(Debug)]
pub struct Checked {
    series: Vec<Bytes>,
    /// Samples of each series (so a chunk's sample vectors are allocated at their size).
    counts: Vec<usize>,
    /// Metric metadata of the request (family kinds), decoded in full: it is small.
    pub metadata: Vec<MetricMetadata>,
    /// Samples in the request.
    pub samples: usize,
}

fn protobuf(e: impl std::fmt::Display) -> RemoteWriteError {
    RemoteWriteError::Protobuf(e.to_string())
}

/// Validates a decompressed body without decoding its samples into memory: series and label
/// limits, label rules, every sample's encoding, and `limits.max_samples`.
pub fn check(buf: Vec<u8>, limits: &Limits) -> Result<Checked, RemoteWriteError> {
    precheck::precheck(&buf, limits)?;
    let wire = WireRequest::decode(Bytes::from(buf)).map_err(protobuf)?;
    if wire.timeseries.len() > limits.max_series {
        return Err(RemoteWriteError::TooManySeries {
            count: wire.timeseries.len(),
            limit: limits.max_series,
        });
    }
    let mut samples = 0usize;
    let mut counts = Vec::with_capacity(wire.timeseries.len());
    let mut pairs = Vec::new();
    for (i, raw) in wire.timeseries.iter().enumerate() {
        if wire_labels(raw, &mut pairs).is_some() {
            validate_labels(i, &pairs, limits)?;
        } else {
            let head = SeriesHead::decode(raw.clone()).map_err(protobuf)?;
            validate_labels(i, &head.labels, limits)?;
        }
        let mut n = 0usize;
        for s in SampleFields::new(raw) {
            sample(s?)?;
            n += 1;
        }
        counts.push(n);
        samples += n;
    }
    if samples > limits.max_samples {
        return Err(RemoteWriteError::TooManySamples {
            count: samples,
            limit: limits.max_samples,
        });
    }
    Ok(Checked {
        series: wire.timeseries,
        counts,
        metadata: wire.metadata,
        samples,
    })
}

impl Checked {
    /// The request's series in order, as requests of at most `max_samples` samples each (at least
    /// one); a longer series is split across chunks, its labels repeated in each.
    pub fn chunks(&self, max_samples: usize) -> Chunks<'_> {
        Chunks {
            series: &self.series,
            counts: &self.counts,
            next_series: 0,
            current: None,
            max_samples: max_samples.max(1),
        }
    }
}

/// Iterator of [`Checked::chunks`].
pub struct Chunks<'a> {
    series: &'a [Bytes],
    counts: &'a [usize],
    next_series: usize,
    /// The series being read: its labels, where its wire fields continue and how many samples are
    /// left in it.
    current: Option<(Vec<Label>, SampleFields<'a>, usize)>,
    max_samples: usize,
}

impl Iterator for Chunks<'_> {
    type Item = Result<WriteRequest, RemoteWriteError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut out = WriteRequest {
            timeseries: Vec::new(),
            metadata: Vec::new(),
        };
        let mut room = self.max_samples;
        while room > 0 {
            let (labels, fields, left) = match &mut self.current {
                Some(c) => c,
                None => {
                    let Some(raw) = self.series.get(self.next_series) else {
                        break;
                    };
                    let left = self.counts.get(self.next_series).copied().unwrap_or(0);
                    self.next_series += 1;
                    let labels = match series_labels(raw) {
                        Ok(l) => l,
                        Err(e) => return Some(Err(e)),
                    };
                    self.current.insert((labels, SampleFields::new(raw), left))
                }
            };
            // Sized to what this chunk takes of the series (its count is known from `check`).
            let mut samples = Vec::with_capacity(room.min(*left));
            let mut done = true;
            for field in fields.by_ref() {
                let sample = match field.and_then(sample) {
                    Ok(s) => s,
                    Err(e) => return Some(Err(e)),
                };
                *left = left.saturating_sub(1);
                samples.push(sample);
                room -= 1;
                if room == 0 {
                    done = false;
                    break;
                }
            }
            if !samples.is_empty() {
                let labels = if done {
                    std::mem::take(labels)
                } else {
                    labels.clone()
                };
                out.timeseries.push(TimeSeries {
                    labels,
                    samples,
                    exemplars: Vec::new(),
                });
            }
            if done {
                self.current = None;
            }
        }
        (!out.timeseries.is_empty()).then_some(Ok(out))
    }
}

/// The `samples` fields (tag 2) of one encoded `TimeSeries`, as the bytes of each `Sample`.
struct SampleFields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> SampleFields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        SampleFields { buf, pos: 0 }
    }
}

impl<'a> Iterator for SampleFields<'a> {
    type Item = Result<&'a [u8], RemoteWriteError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.buf.len() {
            let (tag, wire) = match key(self.buf, &mut self.pos) {
                Ok(k) => k,
                Err(e) => return Some(Err(e)),
            };
            if tag == 2 && wire != 2 {
                return Some(Err(protobuf(format!(
                    "TimeSeries.samples: invalid wire type {wire} (expected 2)"
                ))));
            }
            match skip(self.buf, &mut self.pos, tag, wire, 0) {
                Ok(Some(value)) if tag == 2 => return Some(Ok(value)),
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

/// The labels of one encoded `TimeSeries`, as prost decodes them.
fn series_labels(raw: &Bytes) -> Result<Vec<Label>, RemoteWriteError> {
    let mut pairs = Vec::new();
    if wire_labels(raw, &mut pairs).is_some() {
        return Ok(pairs.iter().map(|&(n, v)| Label::new(n, v)).collect());
    }
    SeriesHead::decode(raw.clone())
        .map(|h| h.labels)
        .map_err(protobuf)
}

/// The labels of one encoded `TimeSeries` as slices of it, into `out`, when it holds only labels
/// (each only name and value strings) and samples; `None` for anything else (exemplars, unknown
/// fields, other wire types, framing or UTF-8 that prost refuses): decode it with prost then, for
/// prost's outcome. A repeated name or value overwrites the earlier one, as in prost.
fn wire_labels<'a>(raw: &'a [u8], out: &mut Vec<(&'a str, &'a str)>) -> Option<()> {
    out.clear();
    let mut pos = 0;
    while let Some(&key) = raw.get(pos) {
        pos += 1;
        match key {
            0x0a => {
                let label = delimited(raw, &mut pos)?;
                let (mut name, mut value) = ("", "");
                let mut at = 0;
                while let Some(&k) = label.get(at) {
                    at += 1;
                    let text = std::str::from_utf8(delimited(label, &mut at)?).ok()?;
                    match k {
                        0x0a => name = text,
                        0x12 => value = text,
                        _ => return None,
                    }
                }
                out.push((name, value));
            }
            // The samples: framing only, their content is read by `sample`.
            0x12 => {
                delimited(raw, &mut pos)?;
            }
            _ => return None,
        }
    }
    Some(())
}

/// A length-delimited field's value (after its key), within `buf`.
fn delimited<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len = usize::try_from(int64(buf, pos)? as u64).ok()?;
    let end = pos.checked_add(len)?;
    let value = buf.get(*pos..end)?;
    *pos = end;
    Some(value)
}

/// Decodes one `Sample` message. The fields an encoder writes (`value` as key 0x09 and 8 bytes,
/// `timestamp` as key 0x10 and a varint, either left out when zero, a repeated one overwriting the
/// earlier as in prost) are read here; anything else (unknown fields, other wire types, a varint
/// prost refuses) goes to prost, so the outcome is prost's in every case.
fn sample(buf: &[u8]) -> Result<Sample, RemoteWriteError> {
    let mut out = Sample {
        value: 0.0,
        timestamp: 0,
    };
    let mut pos = 0;
    while let Some(&key) = buf.get(pos) {
        match key {
            0x09 => match buf.get(pos + 1..pos + 9) {
                Some(b) => {
                    let mut le = [0u8; 8];
                    le.copy_from_slice(b);
                    out.value = f64::from_le_bytes(le);
                    pos += 9;
                }
                None => return Sample::decode(buf).map_err(protobuf),
            },
            0x10 => {
                pos += 1;
                match int64(buf, &mut pos) {
                    Some(t) => out.timestamp = t,
                    None => return Sample::decode(buf).map_err(protobuf),
                }
            }
            _ => return Sample::decode(buf).map_err(protobuf),
        }
    }
    Ok(out)
}

/// A varint as prost reads an `int64` (the low 64 bits, two's complement); `None` for one prost
/// refuses (cut short, or a tenth byte above 1), left to prost for its message.
fn int64(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let mut out = 0u64;
    for i in 0..10 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if i == 9 && b > 1 {
            return None;
        }
        out |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some(out as i64);
        }
    }
    None
}

fn malformed(what: &str) -> RemoteWriteError {
    protobuf(format!("TimeSeries: {what}"))
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, RemoteWriteError> {
    let mut out = 0u64;
    for i in 0..10 {
        let b = *buf.get(*pos).ok_or_else(|| malformed("truncated varint"))?;
        *pos += 1;
        if i == 9 && b > 1 {
            break;
        }
        out |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(out);
        }
    }
    Err(malformed("invalid varint"))
}

fn key(buf: &[u8], pos: &mut usize) -> Result<(u64, u64), RemoteWriteError> {
    let key = varint(buf, pos)?;
    if key > u64::from(u32::MAX) || key >> 3 == 0 || key & 7 > 5 {
        return Err(malformed("invalid field key"));
    }
    Ok((key >> 3, key & 7))
}

/// Skips one field's value; returns it when length-delimited. Groups are skipped as prost does.
fn skip<'a>(
    buf: &'a [u8],
    pos: &mut usize,
    tag: u64,
    wire: u64,
    depth: usize,
) -> Result<Option<&'a [u8]>, RemoteWriteError> {
    let len = match wire {
        0 => {
            varint(buf, pos)?;
            0
        }
        1 => 8,
        5 => 4,
        2 => usize::try_from(varint(buf, pos)?).map_err(|_| malformed("length overflow"))?,
        3 => {
            if depth >= 100 {
                return Err(malformed("groups nested too deep"));
            }
            loop {
                let (t, w) = key(buf, pos)?;
                if w == 4 {
                    if t != tag {
                        return Err(malformed("unexpected end-group tag"));
                    }
                    return Ok(None);
                }
                skip(buf, pos, t, w, depth + 1)?;
            }
        }
        _ => return Err(malformed("unexpected end-group tag")),
    };
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= buf.len())
        .ok_or_else(|| malformed("field runs past the end"))?;
    let value = &buf[*pos..end];
    *pos = end;
    Ok((wire == 2).then_some(value))
}

#[cfg(test)]
mod tests;

//! The point-batch codec: what a publisher puts in one message and a consumer reads back.
//!
//! Layout (little-endian): `PSPB`, version `1`, `u32` group count; per group (one series with its
//! labels) the workload id, metric name (each `u16` length + UTF-8), `u16` label count with
//! `(name, value)` strings, `u32` sample count and that many `(i64 ms timestamp, f64 value)`.
//! Decoding checks every length against what is left, every name as prescale-core does, and every
//! value for finiteness; the first problem is a [`CodecError`] naming what and at which byte.

use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};
use std::collections::BTreeMap;
use thiserror::Error;

const MAGIC: &[u8; 4] = b"PSPB";
const VERSION: u8 = 1;
/// Bytes of one sample on the wire.
pub const SAMPLE_BYTES: usize = 16;

/// Why a message is not a valid point batch.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CodecError {
    #[error("not a point batch: it does not start with \"PSPB\"")]
    Magic,
    #[error("point batch version {0} is not known (this build reads version 1)")]
    Version(u8),
    #[error("point batch truncated at byte {at}: {what} needs {need} more bytes, {left} left")]
    Truncated {
        what: &'static str,
        at: usize,
        need: usize,
        left: usize,
    },
    #[error("point batch byte {at}: {what} is not UTF-8")]
    Utf8 { what: &'static str, at: usize },
    #[error("point batch byte {at}: {what} {value:?} is invalid: {reason}")]
    Invalid {
        what: &'static str,
        at: usize,
        value: String,
        reason: String,
    },
    #[error("point batch: sample {index} of {series} is not finite ({value})")]
    NotFinite {
        series: String,
        index: usize,
        value: f64,
    },
    #[error("point batch: {extra} bytes after the last group (byte {at})")]
    Trailing { at: usize, extra: usize },
    #[error("point batch: a string of {len} bytes cannot be encoded (at most 65535)")]
    TooLong { len: usize },
}

/// The encoded batch of `points`, grouped by series (and labels); non-finite values are left out
/// and counted in the second element.
pub fn encode(points: &[Point]) -> Result<(Vec<u8>, usize), CodecError> {
    let mut groups: BTreeMap<(&SeriesKey, &Labels), Vec<Sample>> = BTreeMap::new();
    let mut skipped = 0;
    for p in points {
        if p.sample.value.is_finite() {
            groups
                .entry((&p.key, &p.labels))
                .or_default()
                .push(p.sample);
        } else {
            skipped += 1;
        }
    }
    let mut out = Vec::with_capacity(16 + points.len() * SAMPLE_BYTES);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(groups.len() as u32).to_le_bytes());
    for ((key, labels), samples) in groups {
        put_str(&mut out, key.workload.as_str())?;
        put_str(&mut out, key.metric.as_str())?;
        let n =
            u16::try_from(labels.len()).map_err(|_| CodecError::TooLong { len: labels.len() })?;
        out.extend_from_slice(&n.to_le_bytes());
        for (k, v) in labels {
            put_str(&mut out, k)?;
            put_str(&mut out, v)?;
        }
        out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
        for s in samples {
            out.extend_from_slice(&s.ts.0.to_le_bytes());
            out.extend_from_slice(&s.value.to_le_bytes());
        }
    }
    Ok((out, skipped))
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), CodecError> {
    let n = u16::try_from(s.len()).map_err(|_| CodecError::TooLong { len: s.len() })?;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The points of an encoded batch, or the first reason it is not one.
pub fn decode(bytes: &[u8]) -> Result<Vec<Point>, CodecError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take("magic", 4).ok() != Some(MAGIC.as_slice()) {
        return Err(CodecError::Magic);
    }
    let version = r.take("version", 1)?[0];
    if version != VERSION {
        return Err(CodecError::Version(version));
    }
    let groups = r.u32("group count")?;
    let mut points = Vec::new();
    for _ in 0..groups {
        let at = r.at;
        let workload = r.string("workload id")?;
        let workload = WorkloadId::new(workload.clone()).map_err(|e| CodecError::Invalid {
            what: "workload id",
            at,
            value: workload,
            reason: e.to_string(),
        })?;
        let at = r.at;
        let metric = r.string("metric name")?;
        let metric = MetricName::new(metric.clone()).map_err(|e| CodecError::Invalid {
            what: "metric name",
            at,
            value: metric,
            reason: e.to_string(),
        })?;
        let mut labels = Labels::new();
        for _ in 0..r.u16("label count")? {
            let k = r.string("label name")?;
            let v = r.string("label value")?;
            labels.insert(k, v);
        }
        let key = SeriesKey::new(workload, metric);
        let n = r.u32("sample count")? as usize;
        // Checked before reserving: a forged count cannot make the reader allocate.
        r.need("samples", n.saturating_mul(SAMPLE_BYTES))?;
        points.reserve(n);
        for index in 0..n {
            let ts = i64::from_le_bytes(r.array("timestamp")?);
            let value = f64::from_le_bytes(r.array("value")?);
            if !value.is_finite() {
                return Err(CodecError::NotFinite {
                    series: key.to_string(),
                    index,
                    value,
                });
            }
            points.push(Point {
                key: key.clone(),
                labels: labels.clone(),
                sample: Sample {
                    ts: Timestamp(ts),
                    value,
                },
            });
        }
    }
    if r.at != bytes.len() {
        return Err(CodecError::Trailing {
            at: r.at,
            extra: bytes.len() - r.at,
        });
    }
    Ok(points)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn need(&self, what: &'static str, need: usize) -> Result<(), CodecError> {
        let left = self.bytes.len() - self.at;
        if need > left {
            return Err(CodecError::Truncated {
                what,
                at: self.at,
                need,
                left,
            });
        }
        Ok(())
    }

    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], CodecError> {
        self.need(what, n)?;
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(what, N)?);
        Ok(a)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, CodecError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &'static str) -> Result<String, CodecError> {
        let n = usize::from(self.u16(what)?);
        let at = self.at;
        let raw = self.take(what, n)?;
        String::from_utf8(raw.to_vec()).map_err(|_| CodecError::Utf8 { what, at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(w: &str, m: &str, ts: i64, v: f64) -> Point {
        let mut labels = Labels::new();
        labels.insert("source".into(), "agent".into());
        Point {
            key: SeriesKey::new(WorkloadId::new(w).unwrap(), MetricName::new(m).unwrap()),
            labels,
            sample: Sample {
                ts: Timestamp(ts),
                value: v,
            },
        }
    }

    #[test]
    fn round_trips_grouped_by_series() {
        let pts = vec![
            point("web", "cpu_cores", 1000, 1.5),
            point("db", "rps", 1000, 20.0),
            point("web", "cpu_cores", 2000, 2.5),
        ];
        let (bytes, skipped) = encode(&pts).unwrap();
        assert_eq!(skipped, 0);
        let mut back = decode(&bytes).unwrap();
        let mut want = pts.clone();
        back.sort_by(|a, b| (&a.key, a.sample.ts).cmp(&(&b.key, b.sample.ts)));
        want.sort_by(|a, b| (&a.key, a.sample.ts).cmp(&(&b.key, b.sample.ts)));
        assert_eq!(back, want);
    }

    #[test]
    fn non_finite_values_are_left_out_when_encoding() {
        let (bytes, skipped) =
            encode(&[point("w", "m", 1, f64::NAN), point("w", "m", 2, 1.0)]).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(decode(&bytes).unwrap().len(), 1);
    }

    #[test]
    fn bad_messages_are_typed_errors() {
        assert_eq!(decode(b"hello world"), Err(CodecError::Magic));
        assert_eq!(decode(b""), Err(CodecError::Magic));
        assert_eq!(decode(b"PSPB\x02"), Err(CodecError::Version(2)));
        let (good, _) = encode(&[point("web", "cpu", 1, 1.0)]).unwrap();
        // Every truncation is an error, never a panic.
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = good.clone();
        extra.push(0);
        assert!(matches!(
            decode(&extra),
            Err(CodecError::Trailing { extra: 1, .. })
        ));
        // A forged sample count far beyond the message.
        let mut forged = good.clone();
        let n = forged.len();
        forged[n - 20..n - 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode(&forged),
            Err(CodecError::Truncated {
                what: "samples",
                ..
            })
        ));
        // A non-finite value.
        let mut nan = good.clone();
        nan[n - 8..].copy_from_slice(&f64::INFINITY.to_le_bytes());
        assert!(matches!(
            decode(&nan),
            Err(CodecError::NotFinite { index: 0, .. })
        ));
        // An empty workload id.
        let mut empty = b"PSPB\x01".to_vec();
        empty.extend_from_slice(&1u32.to_le_bytes());
        empty.extend_from_slice(&0u16.to_le_bytes());
        assert!(matches!(
            decode(&empty),
            Err(CodecError::Invalid {
                what: "workload id",
                at: 9,
                ..
            })
        ));
        // Not UTF-8.
        let mut utf = b"PSPB\x01".to_vec();
        utf.extend_from_slice(&1u32.to_le_bytes());
        utf.extend_from_slice(&2u16.to_le_bytes());
        utf.extend_from_slice(&[0xff, 0xfe]);
        assert!(matches!(
            decode(&utf),
            Err(CodecError::Utf8 {
                what: "workload id",
                ..
            })
        ));
    }

    #[test]
    fn sixteen_bytes_a_sample_plus_the_series_once() {
        let pts: Vec<Point> = (0..100)
            .map(|i| point("web", "cpu_cores", i, 1.0))
            .collect();
        let (bytes, _) = encode(&pts).unwrap();
        let header = 4 + 1 + 4;
        let series = 2 + 3 + 2 + 9 + 2 + (2 + 6 + 2 + 5) + 4;
        assert_eq!(bytes.len(), header + series + 100 * SAMPLE_BYTES);
    }
}

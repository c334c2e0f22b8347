//! Column codecs: f64 vectors as little-endian BLOBs, checked integer and name conversions.

use crate::error::{invalid, StoreError};
use prescale_core::{MetricName, SeriesKey, Timestamp, WorkloadId};

/// Encodes a vector as little-endian f64 bytes (NaN and infinities survive the round trip).
pub(crate) fn encode_f64s(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes little-endian f64 bytes.
pub(crate) fn decode_f64s(context: &str, bytes: &[u8]) -> Result<Vec<f64>, StoreError> {
    if !bytes.len().is_multiple_of(8) {
        return Err(invalid(
            context,
            format!(
                "vector blob of {} bytes is not a whole number of f64s",
                bytes.len()
            ),
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b)
        })
        .collect())
}

pub(crate) fn to_i64(context: &str, what: &str, n: usize) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| invalid(context, format!("{what} {n} does not fit in 64 bits")))
}

pub(crate) fn to_usize(context: &str, what: &str, n: i64) -> Result<usize, StoreError> {
    usize::try_from(n).map_err(|_| invalid(context, format!("stored {what} {n} is negative")))
}

pub(crate) fn workload(context: &str, text: String) -> Result<WorkloadId, StoreError> {
    WorkloadId::new(text).map_err(|e| invalid(context, format!("stored workload id: {e}")))
}

pub(crate) fn key(
    context: &str,
    workload_text: String,
    metric: String,
) -> Result<SeriesKey, StoreError> {
    let w = workload(context, workload_text)?;
    let m = MetricName::new(metric)
        .map_err(|e| invalid(context, format!("stored metric name: {e}")))?;
    Ok(SeriesKey::new(w, m))
}

/// The earliest of two optional times.
pub(crate) fn earliest(a: Option<i64>, b: Option<i64>) -> Option<Timestamp> {
    a.into_iter().chain(b).min().map(Timestamp)
}

/// The latest of two optional times.
pub(crate) fn latest(a: Option<i64>, b: Option<i64>) -> Option<Timestamp> {
    a.into_iter().chain(b).max().map(Timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_blobs_round_trip() {
        let v = vec![0.0, -1.5, f64::MAX, f64::MIN_POSITIVE, f64::INFINITY];
        let bytes = encode_f64s(&v);
        assert_eq!(bytes.len(), 40);
        assert_eq!(decode_f64s("t", &bytes).unwrap(), v);
        assert_eq!(&bytes[8..16], &(-1.5f64).to_le_bytes());
        assert!(decode_f64s("t", &bytes[..7]).is_err());
        assert!(decode_f64s("t", &[]).unwrap().is_empty());
    }
}

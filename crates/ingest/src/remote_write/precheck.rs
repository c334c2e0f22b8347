//! A pass over the raw protobuf wire format that enforces the series and label-count limits before
//! prost allocates: an empty `TimeSeries` costs 2 wire bytes but ~72 bytes decoded, so counting first
//! keeps a hostile body from turning its decompressed size into many times that in memory.

use super::{Limits, RemoteWriteError};

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(out);
        }
    }
    None
}

/// Reads one field key and skips its value; returns (field number, the value if length-delimited).
fn field<'a>(buf: &'a [u8], pos: &mut usize) -> Option<(u64, Option<&'a [u8]>)> {
    let key = varint(buf, pos)?;
    let value = match key & 7 {
        0 => {
            varint(buf, pos)?;
            None
        }
        1 => {
            *pos = pos.checked_add(8)?;
            None
        }
        2 => {
            let len = usize::try_from(varint(buf, pos)?).ok()?;
            let end = pos.checked_add(len)?;
            let v = buf.get(*pos..end)?;
            *pos = end;
            Some(v)
        }
        5 => {
            *pos = pos.checked_add(4)?;
            None
        }
        _ => return None, // groups and invalid wire types: leave the error to the decoder
    };
    (*pos <= buf.len()).then_some((key >> 3, value))
}

/// Counts `WriteRequest.timeseries` and each series' labels. Malformed wire data passes: the
/// protobuf decoder that runs next reports it with a better message.
pub(crate) fn precheck(buf: &[u8], limits: &Limits) -> Result<(), RemoteWriteError> {
    let mut pos = 0;
    let mut series = 0usize;
    while pos < buf.len() {
        let Some((num, value)) = field(buf, &mut pos) else {
            return Ok(());
        };
        let (1, Some(ts)) = (num, value) else {
            continue;
        };
        let mut labels = 0usize;
        let mut p = 0;
        while p < ts.len() {
            let Some((n, v)) = field(ts, &mut p) else {
                return Ok(());
            };
            if n == 1 && v.is_some() {
                labels += 1;
            }
        }
        if labels > limits.max_labels_per_series {
            return Err(RemoteWriteError::TooManyLabels {
                series,
                count: labels,
                limit: limits.max_labels_per_series,
            });
        }
        series += 1;
    }
    if series > limits.max_series {
        return Err(RemoteWriteError::TooManySeries {
            count: series,
            limit: limits.max_series,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_empty_series_without_decoding() {
        let limits = Limits {
            max_series: 3,
            ..Limits::default()
        };
        let four = [0x0a, 0x00].repeat(4);
        assert_eq!(
            precheck(&four, &limits),
            Err(RemoteWriteError::TooManySeries { count: 4, limit: 3 })
        );
        assert_eq!(precheck(&four[..6], &limits), Ok(()));
        // One series holding five empty labels.
        let mut one = vec![0x0a, 10];
        one.extend([0x0a, 0x00].repeat(5));
        let limits = Limits {
            max_labels_per_series: 4,
            ..Limits::default()
        };
        assert!(matches!(
            precheck(&one, &limits),
            Err(RemoteWriteError::TooManyLabels {
                series: 0,
                count: 5,
                ..
            })
        ));
    }

    #[test]
    fn malformed_wire_data_is_left_to_the_decoder() {
        let l = Limits::default();
        assert_eq!(precheck(&[0x0a, 0x05, 0x00], &l), Ok(()));
        assert_eq!(precheck(&[0xff; 11], &l), Ok(()));
        assert_eq!(precheck(&[0x0b], &l), Ok(()));
        assert_eq!(precheck(&[0x09, 1, 2], &l), Ok(()));
    }
}

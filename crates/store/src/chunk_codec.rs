//! The sample chunk codec: timestamps as delta-of-delta and values as decimal deltas (or Gorilla XOR
//! when a value is not a short decimal), bit-packed; lossless for every finite or non-finite f64.
//!
//! Layout: one mode byte (low 2 bits: [`Values`]; the 6 above: the decimal exponent), the sample
//! count as a LEB128 varint, then a bit stream. Timestamps: the first as 64 raw bits, then each
//! delta-of-delta (wrapping, zigzag) in a [`varbits`] field. Values, by mode: XOR against the
//! previous value's bits (Gorilla: `0` repeat, `10` inside the previous window, `11` + 5 bits
//! leading zeros + 6 bits length), or the integers `v * 10^e` with their deltas or deltas of deltas
//! in `varbits` fields. The encoder picks the mode that writes the fewest bits.

use crate::bits::{get_varint, put_varint, unzigzag, zigzag, BitReader, BitWriter};
use prescale_core::{Sample, Timestamp};

/// Why a chunk could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChunkError {
    #[error("chunk is empty")]
    Empty,
    #[error("chunk mode byte {0:#04x} is unknown")]
    Mode(u8),
    #[error("chunk sample count is not a valid varint")]
    Count,
    #[error("chunk of {0} samples ends early")]
    Truncated(usize),
    #[error("chunk claims {0} samples, more than its size allows")]
    TooMany(u64),
}

/// How a chunk's values are coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Values {
    /// Gorilla XOR of the f64 bits.
    Xor = 0,
    /// Deltas of `round(v * 10^e)`.
    DecimalDelta = 1,
    /// Deltas of deltas of `round(v * 10^e)`.
    DecimalDod = 2,
}

/// Exact powers of ten as f64.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];
/// Integers up to this magnitude are exact in f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Field widths of the `varbits` buckets after the prefixes `10`, `110` and `1110`.
const B1: u32 = 4;
const B2: u32 = 10;
const B3: u32 = 20;

/// `0` for zero; `10` + B1 bits, `110` + B2, `1110` + B3; else `1111` + 6 bits (length - 1) +
/// length bits. Lengths up to B3 never take the last form, so `1111 000000` is free: [`ESCAPE`].
#[inline]
fn varbits_len(z: u64) -> u32 {
    if z == 0 {
        1
    } else if z < 1 << B1 {
        2 + B1
    } else if z < 1 << B2 {
        3 + B2
    } else if z < 1 << B3 {
        4 + B3
    } else {
        4 + 6 + (64 - z.leading_zeros())
    }
}

#[inline]
fn put_varbits(w: &mut BitWriter, z: u64) {
    if z == 0 {
        w.write(0, 1);
    } else if z < 1 << B1 {
        w.write((0b10 << B1) | z, 2 + B1);
    } else if z < 1 << B2 {
        w.write((0b110 << B2) | z, 3 + B2);
    } else if z < 1 << B3 {
        w.write((0b1110 << B3) | z, 4 + B3);
    } else {
        let len = 64 - z.leading_zeros();
        w.write((0b1111 << 6) | u64::from(len - 1), 10);
        w.write(z, len);
    }
}

/// A value that is not a decimal at the chunk's exponent: `1111 000000` and its 64 raw bits.
const ESCAPE_BITS: u32 = 10 + 64;

/// One `varbits` field: a number, or the escape.
enum Field {
    Num(u64),
    Escape,
}

#[inline]
fn get_varbits(r: &mut BitReader<'_>) -> Option<Field> {
    if !r.bit()? {
        return Some(Field::Num(0));
    }
    if !r.bit()? {
        return r.read(B1).map(Field::Num);
    }
    if !r.bit()? {
        return r.read(B2).map(Field::Num);
    }
    if !r.bit()? {
        return r.read(B3).map(Field::Num);
    }
    let len = r.read(6)? as u32 + 1;
    if len == 1 {
        return Some(Field::Escape);
    }
    r.read(len).map(Field::Num)
}

/// A number field (an escape where a number must be is damage).
#[inline]
fn get_num(r: &mut BitReader<'_>) -> Option<u64> {
    match get_varbits(r)? {
        Field::Num(z) => Some(z),
        Field::Escape => None,
    }
}

/// The smallest `e` with `round(v * 10^e) / 10^e == v` bit for bit, if any.
#[inline]
fn decimal_exponent(v: f64) -> Option<u8> {
    for (e, p) in POW10.iter().enumerate() {
        let m = (v * p).round();
        if m.abs() >= EXACT {
            return None;
        }
        // Through the integer, as decoding computes it (-0.0 becomes 0).
        if ((m as i64) as f64 / p).to_bits() == v.to_bits() {
            return Some(e as u8);
        }
    }
    None
}

/// `v` as an integer at exponent `e`, when exact.
#[inline]
fn at_exponent(v: f64, e: u8) -> Option<i64> {
    let p = POW10[usize::from(e)];
    let m = (v * p).round();
    let mi = m as i64;
    (m.abs() < EXACT && (mi as f64 / p).to_bits() == v.to_bits()).then_some(mi)
}

/// The values as integers at the smallest exponent that makes every decimal value exact (`None`:
/// not a decimal there, escaped), when at least one is a decimal.
fn decimals(samples: &[Sample]) -> Option<(u8, Vec<Option<i64>>)> {
    // The common case first: whole numbers (counts, bytes, replicas), into a buffer sized once.
    let mut ints = Vec::with_capacity(samples.len());
    for s in samples {
        let v = s.value;
        if v.trunc() == v && v.abs() < EXACT && v.to_bits() != (-0.0f64).to_bits() {
            ints.push(Some(v as i64));
        } else {
            break;
        }
    }
    if ints.len() == samples.len() {
        return (!ints.is_empty()).then_some((0, ints));
    }
    let mut e: Option<u8> = None;
    for s in samples {
        if e.is_some_and(|e| at_exponent(s.value, e).is_some()) {
            continue;
        }
        if let Some(x) = decimal_exponent(s.value) {
            e = Some(e.map_or(x, |e| e.max(x)));
        }
    }
    let e = e?;
    Some((e, samples.iter().map(|s| at_exponent(s.value, e)).collect()))
}

/// Bits of the decimal deltas (`dod`: deltas of deltas) of `ints`.
fn decimal_cost(ints: &[Option<i64>], dod: bool) -> u64 {
    let (mut prev, mut prev_d, mut bits) = (0i64, 0i64, 0u64);
    for m in ints {
        bits += u64::from(match m {
            None => ESCAPE_BITS,
            Some(m) => {
                let d = m.wrapping_sub(prev);
                let z = if dod {
                    zigzag(d.wrapping_sub(prev_d))
                } else {
                    zigzag(d)
                };
                prev = *m;
                prev_d = d;
                varbits_len(z)
            }
        });
    }
    bits
}

/// Encodes samples (ordered by time; repeats are kept as given) with the mode writing fewest bits.
pub(crate) fn encode(samples: &[Sample]) -> Vec<u8> {
    encode_resumable(samples).0
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The largest step dividing every time delta, when no delta or delta of deltas overflows
/// (1 otherwise, or when there is no delta).
fn time_unit(samples: &[Sample]) -> u64 {
    let mut g = 0u64;
    let mut prev_d = 0i64;
    for w in samples.windows(2) {
        let Some(d) = w[1].ts.0.checked_sub(w[0].ts.0) else {
            return 1;
        };
        if d.checked_sub(prev_d).is_none() {
            return 1;
        }
        prev_d = d;
        g = gcd(g, d.unsigned_abs());
        if g == 1 {
            return 1;
        }
    }
    g.max(1)
}

/// Encodes with a given value mode (`ints` are the decimal integers at exponent `e`, required by
/// the decimal modes).
pub(crate) fn encode_as(
    samples: &[Sample],
    values: Values,
    e: u8,
    ints: Option<&[Option<i64>]>,
) -> Vec<u8> {
    encode_resumable_as(samples, values, e, ints).0
}

/// Where an encoder stands at the end of a chunk it wrote: what appending more samples to that
/// chunk needs without decoding it (see [`append`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resume {
    values: Values,
    e: u8,
    unit: u64,
    /// Samples in the chunk.
    n: usize,
    /// Bits of the stream (after the header) in use.
    bits: u64,
    prev_ts: i64,
    prev_delta: i64,
    /// XOR: the previous value's bits and window (leading zeros, meaningful length).
    prev_bits: u64,
    window: Option<(u32, u32)>,
    /// Decimal: the previous integer and its delta.
    prev_m: i64,
    prev_md: i64,
}

/// [`encode_as`], and where the encoder stands at the end (`None` for no samples).
fn encode_resumable_as(
    samples: &[Sample],
    values: Values,
    e: u8,
    ints: Option<&[Option<i64>]>,
) -> (Vec<u8>, Option<Resume>) {
    let ints = match (values, ints) {
        (Values::Xor, _) | (_, None) => None,
        (_, Some(i)) => Some(i),
    };
    let (values, e) = if ints.is_some() {
        (values, e)
    } else {
        (Values::Xor, 0)
    };
    let mut st = Resume {
        values,
        e,
        unit: 1,
        n: 0,
        bits: 0,
        prev_ts: 0,
        prev_delta: 0,
        prev_bits: 0,
        window: None,
        prev_m: 0,
        prev_md: 0,
    };
    if samples.is_empty() {
        return (header_bytes(&st), None);
    }
    st.unit = time_unit(samples);
    let mut w = BitWriter::with_prefix(Vec::with_capacity(samples.len() * 2 + 16));
    write_samples(&mut w, &mut st, samples, ints);
    st.bits = w.bits();
    let mut out = header_bytes(&st);
    out.extend_from_slice(&w.finish());
    (out, Some(st))
}

/// The mode byte, the sample count and (for a chunk with samples) the time unit.
fn header_bytes(st: &Resume) -> Vec<u8> {
    let mut head = Vec::with_capacity(16);
    head.push((st.values as u8) | (st.e << 2));
    put_varint(&mut head, st.n as u64);
    if st.n > 0 {
        put_varint(&mut head, st.unit);
    }
    head
}

/// Writes `samples` after the ones `st` has seen (`ints`: their decimal integers, required by the
/// decimal modes) and moves `st` past them (all but `st.bits`).
fn write_samples(
    w: &mut BitWriter,
    st: &mut Resume,
    samples: &[Sample],
    ints: Option<&[Option<i64>]>,
) {
    let unit = st.unit;
    for (i, s) in samples.iter().enumerate() {
        if st.n == 0 {
            w.write(s.ts.0 as u64, 64);
            st.prev_ts = s.ts.0;
            if ints.is_none() {
                w.write(s.value.to_bits(), 64);
                st.prev_bits = s.value.to_bits();
            }
        } else {
            let delta = s.ts.0.wrapping_sub(st.prev_ts);
            let dod = delta.wrapping_sub(st.prev_delta);
            // Exact: with a unit above 1 no difference overflowed and each is a multiple of it.
            let dod = if unit > 1 { dod / unit as i64 } else { dod };
            put_varbits(w, zigzag(dod));
            st.prev_ts = s.ts.0;
            st.prev_delta = delta;
        }
        let first = st.n == 0;
        st.n += 1;
        match ints {
            None if first => {}
            None => {
                let bits = s.value.to_bits();
                let x = bits ^ st.prev_bits;
                st.prev_bits = bits;
                if x == 0 {
                    w.write(0, 1);
                    continue;
                }
                let lead = x.leading_zeros().min(31);
                let trail = x.trailing_zeros();
                match st.window {
                    Some((wl, wlen)) if lead >= wl && trail >= 64 - wl - wlen => {
                        w.write(0b10, 2);
                        w.write(x >> (64 - wl - wlen), wlen);
                    }
                    _ => {
                        let len = 64 - lead - trail;
                        w.write(0b11, 2);
                        w.write(u64::from(lead), 5);
                        w.write(u64::from(len - 1), 6);
                        w.write(x >> trail, len);
                        st.window = Some((lead, len));
                    }
                }
            }
            Some(ints) => match ints[i] {
                None => {
                    w.write(0b1111 << 6, 10);
                    w.write(s.value.to_bits(), 64);
                }
                Some(m) => {
                    let d = m.wrapping_sub(st.prev_m);
                    let z = match st.values {
                        Values::DecimalDod => zigzag(d.wrapping_sub(st.prev_md)),
                        _ => zigzag(d),
                    };
                    put_varbits(w, z);
                    st.prev_m = m;
                    st.prev_md = d;
                }
            },
        }
    }
}

/// Encodes samples as [`encode`] does, and where the encoder stands at the end (`None` for no
/// samples), so that later samples can be [`append`]ed to the chunk.
pub(crate) fn encode_resumable(samples: &[Sample]) -> (Vec<u8>, Option<Resume>) {
    let Some((e, ints)) = decimals(samples) else {
        return encode_resumable_as(samples, Values::Xor, 0, None);
    };
    let (delta, dod) = (decimal_cost(&ints, false), decimal_cost(&ints, true));
    let values = if dod < delta {
        Values::DecimalDod
    } else {
        Values::DecimalDelta
    };
    let decimal = encode_resumable_as(samples, values, e, Some(&ints));
    if ints.iter().all(Option::is_some) {
        return decimal;
    }
    // Some values escape: XOR may be smaller.
    let xor = encode_resumable_as(samples, Values::Xor, 0, None);
    if xor.0.len() < decimal.0.len() {
        xor
    } else {
        decimal
    }
}

/// `chunk` (written by [`encode_resumable`] or an earlier `append`, standing at `st`) with `new`
/// after its samples, without decoding it: only the new samples are encoded, in the chunk's mode,
/// time unit and exponent. `None` when they do not fit that way (a time not after the last one or
/// not a multiple of the unit, a value not exact at the decimal exponent) or when `chunk` is not
/// where `st` says it stands; then encode the whole run again.
pub(crate) fn append(chunk: &[u8], st: &Resume, new: &[Sample]) -> Option<(Vec<u8>, Resume)> {
    let h = header(chunk).ok()?;
    if h.n != st.n || h.values != st.values || h.e != st.e || h.unit != st.unit || h.n == 0 {
        return None;
    }
    let stream = &chunk[h.at..];
    if stream.len() as u64 != st.bits.div_ceil(8) {
        return None;
    }
    let (mut prev_ts, mut prev_delta) = (st.prev_ts, st.prev_delta);
    for s in new {
        let delta = s.ts.0.checked_sub(prev_ts).filter(|&d| d > 0)?;
        if st.unit > 1 && (delta.checked_sub(prev_delta).is_none() || delta % st.unit as i64 != 0) {
            return None;
        }
        prev_ts = s.ts.0;
        prev_delta = delta;
    }
    let ints: Option<Vec<Option<i64>>> = match st.values {
        Values::Xor => None,
        _ => Some(
            new.iter()
                .map(|s| at_exponent(s.value, st.e).map(Some))
                .collect::<Option<Vec<_>>>()?,
        ),
    };
    let mut next = st.clone();
    let mut w = BitWriter::resume(stream, st.bits);
    write_samples(&mut w, &mut next, new, ints.as_deref());
    next.bits = w.bits();
    let mut out = header_bytes(&next);
    out.extend_from_slice(&w.finish());
    Some((out, next))
}

/// A chunk's header.
struct Header {
    values: Values,
    e: u8,
    n: usize,
    /// The time unit (every delta a multiple of it).
    unit: u64,
    /// Where the bit stream starts.
    at: usize,
}

fn header(bytes: &[u8]) -> Result<Header, ChunkError> {
    let &mode = bytes.first().ok_or(ChunkError::Empty)?;
    let values = match mode & 3 {
        0 => Values::Xor,
        1 => Values::DecimalDelta,
        2 => Values::DecimalDod,
        _ => return Err(ChunkError::Mode(mode)),
    };
    let e = mode >> 2;
    if usize::from(e) >= POW10.len() || (values == Values::Xor && e != 0) {
        return Err(ChunkError::Mode(mode));
    }
    let mut at = 1;
    let n = get_varint(bytes, &mut at).ok_or(ChunkError::Count)?;
    if n == 0 {
        return Ok(Header {
            values,
            e,
            n: 0,
            unit: 1,
            at,
        });
    }
    let unit = get_varint(bytes, &mut at)
        .filter(|&u| u >= 1 && u <= i64::MAX as u64)
        .ok_or(ChunkError::Count)?;
    // Every sample after the first takes at least 2 bits; the first 64 (plus 64 for XOR).
    let bits = (bytes.len() - at) as u64 * 8;
    if bits < 64 || (n - 1) > (bits - 64) / 2 {
        return Err(ChunkError::TooMany(n));
    }
    Ok(Header {
        values,
        e,
        n: n as usize,
        unit,
        at,
    })
}

/// Decodes a chunk, appending its samples to `out`.
pub(crate) fn decode_into(bytes: &[u8], out: &mut Vec<Sample>) -> Result<(), ChunkError> {
    let Header {
        values,
        e,
        n,
        unit,
        at,
    } = header(bytes)?;
    if n == 0 {
        return Ok(());
    }
    let short = ChunkError::Truncated(n);
    let mut r = BitReader::new(&bytes[at..]);
    out.reserve(n);
    let mut ts = r.read(64).ok_or(short.clone())? as i64;
    let p = POW10[usize::from(e)];
    let mut bits = match values {
        Values::Xor => r.read(64).ok_or(short.clone())?,
        _ => 0,
    };
    let (mut m, mut md) = (0i64, 0i64);
    let mut delta = 0i64;
    let mut window = (0u32, 0u32);
    for i in 0..n {
        if i > 0 {
            let dod = unzigzag(get_num(&mut r).ok_or(short.clone())?);
            delta = delta.wrapping_add(dod.wrapping_mul(unit as i64));
            ts = ts.wrapping_add(delta);
        }
        let value = match values {
            Values::Xor => {
                if i > 0 && r.bit().ok_or(short.clone())? {
                    if r.bit().ok_or(short.clone())? {
                        let lead = r.read(5).ok_or(short.clone())? as u32;
                        let len = r.read(6).ok_or(short.clone())? as u32 + 1;
                        if lead + len > 64 {
                            return Err(short);
                        }
                        window = (lead, len);
                    }
                    let (lead, len) = window;
                    if len == 0 {
                        return Err(short);
                    }
                    let x = r.read(len).ok_or(short.clone())?;
                    bits ^= x << (64 - lead - len);
                }
                f64::from_bits(bits)
            }
            _ => match get_varbits(&mut r).ok_or(short.clone())? {
                Field::Escape => f64::from_bits(r.read(64).ok_or(short.clone())?),
                Field::Num(z) => {
                    let d = unzigzag(z);
                    if values == Values::DecimalDod {
                        md = md.wrapping_add(d);
                    } else {
                        md = d;
                    }
                    m = m.wrapping_add(md);
                    m as f64 / p
                }
            },
        };
        out.push(Sample {
            ts: Timestamp(ts),
            value,
        });
    }
    Ok(())
}

/// Decodes a chunk.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Sample>, ChunkError> {
    let mut out = Vec::new();
    decode_into(bytes, &mut out)?;
    Ok(out)
}

/// Encoded sizes of one chunk of `samples` under each value mode: (`xor`, `decimal-delta`,
/// `decimal-dod`, `chosen`), the decimal ones `None` when a value is not a short decimal. For the
/// codec measurement (`examples/codec_compare.rs`), not for storage.
#[doc(hidden)]
pub fn chunk_sizes(samples: &[Sample]) -> (usize, Option<usize>, Option<usize>, usize) {
    let xor = encode_as(samples, Values::Xor, 0, None).len();
    let d = decimals(samples);
    let dec = |v| {
        d.as_ref()
            .map(|(e, ints)| encode_as(samples, v, *e, Some(ints)).len())
    };
    (
        xor,
        dec(Values::DecimalDelta),
        dec(Values::DecimalDod),
        encode(samples).len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(ts: i64, value: f64) -> Sample {
        Sample {
            ts: Timestamp(ts),
            value,
        }
    }

    fn same(a: &[Sample], b: &[Sample]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.ts == y.ts && x.value.to_bits() == y.value.to_bits())
    }

    #[test]
    fn regular_integer_series_cost_about_two_bits_a_sample() {
        let samples: Vec<_> = (0..1000)
            .map(|i| s(1_700_000_000_000 + i * 1000, i as f64))
            .collect();
        let bytes = encode(&samples);
        assert!(bytes.len() < 300, "{} bytes", bytes.len());
        assert_eq!(bytes[0] & 3, Values::DecimalDod as u8);
        assert!(same(&decode(&bytes).unwrap(), &samples));
    }

    #[test]
    fn awkward_values_round_trip_bit_for_bit() {
        let values = [
            0.1,
            -0.0,
            0.0,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            1e300,
            -2.5,
            1.7e7,
            210.671958888,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN,
        ];
        let samples: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| s(i as i64 * 7 - 3, v))
            .collect();
        assert!(same(&decode(&encode(&samples)).unwrap(), &samples));
        let extremes = [s(i64::MIN, 1.0), s(0, 2.0), s(i64::MAX, 3.0)];
        assert!(same(&decode(&encode(&extremes)).unwrap(), &extremes));
        assert!(decode(&encode(&[])).unwrap().is_empty());
    }

    #[test]
    fn damaged_chunks_are_errors_not_panics() {
        let samples: Vec<_> = (0..50).map(|i| s(i * 10, (i * i) as f64 * 0.37)).collect();
        let bytes = encode(&samples);
        for cut in 0..bytes.len() {
            let _ = decode(&bytes[..cut]);
        }
        assert_eq!(decode(&[]), Err(ChunkError::Empty));
        assert_eq!(decode(&[3, 1]), Err(ChunkError::Mode(3)));
        assert!(matches!(
            decode(&[0, 0xff, 0xff, 0xff, 0x7f, 1]),
            Err(ChunkError::TooMany(_))
        ));
        let mut flipped = bytes.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = decode(&flipped);
        }
    }

    #[test]
    fn appended_chunks_decode_as_one_run() {
        // Whole numbers, decimals, XOR values and a time unit above 1, appended in pieces.
        let series: [Vec<Sample>; 3] = [
            (0..300)
                .map(|i| s(1_000 + i * 1000, (i % 7) as f64))
                .collect(),
            (0..300).map(|i| s(i * 15_000, i as f64 * 0.25)).collect(),
            (0..300)
                .map(|i| s(i * 10 + i % 3, (i as f64).sin()))
                .collect(),
        ];
        for all in &series {
            let (mut chunk, st) = encode_resumable(&all[..33]);
            let mut st = st.unwrap();
            for piece in all[33..].chunks(33) {
                (chunk, st) = append(&chunk, &st, piece).expect("fits");
                assert_eq!(decode(&chunk).unwrap().len(), st.n);
            }
            assert!(same(&decode(&chunk).unwrap(), all));
        }
        let (chunk, st) = encode_resumable(&[s(0, 1.0), s(10, 2.0)]);
        let st = st.unwrap();
        // Not after the last time, off the unit, not a decimal at the exponent, not this chunk.
        assert!(append(&chunk, &st, &[s(10, 3.0)]).is_none());
        assert!(append(&chunk, &st, &[s(15, 3.0)]).is_none());
        assert!(append(&chunk, &st, &[s(20, 3.5)]).is_none());
        assert!(append(&chunk[..chunk.len() - 1], &st, &[s(20, 3.0)]).is_none());
        assert!(append(&encode(&[s(0, 1.0)]), &st, &[s(20, 3.0)]).is_none());
    }

    proptest! {
        #[test]
        fn any_samples_round_trip(raw in proptest::collection::vec((any::<i64>(), any::<f64>()), 0..200),
                                  start in -1_000_000i64..1_000_000, step in 0i64..100_000,
                                  decimal in proptest::collection::vec((-1_000i64..1_000, 0u32..4), 0..200)) {
            let random: Vec<_> = raw.iter().map(|&(t, v)| s(t, v)).collect();
            prop_assert!(same(&decode(&encode(&random)).unwrap(), &random));
            let regular: Vec<_> = decimal.iter().enumerate()
                .map(|(i, &(m, e))| s(start + i as i64 * step, m as f64 / POW10[e as usize]))
                .collect();
            let got = decode(&encode(&regular)).unwrap();
            prop_assert!(same(&got, &regular));
            // In two pieces: the second appended when it fits, the whole run the same.
            let cut = regular.len() / 3;
            if let (chunk, Some(st)) = encode_resumable(&regular[..cut]) {
                let fits = append(&chunk, &st, &regular[cut..]);
                if step > 0 && st.values == Values::Xor {
                    prop_assert!(fits.is_some());
                }
                if let Some((chunk, st)) = fits {
                    prop_assert_eq!(st.n, regular.len());
                    prop_assert!(same(&decode(&chunk).unwrap(), &regular));
                }
            }
            for values in [Values::Xor, Values::DecimalDelta, Values::DecimalDod] {
                let d = decimals(&regular);
                let bytes = encode_as(&regular, values, d.as_ref().map_or(0, |x| x.0), d.as_ref().map(|x| x.1.as_slice()));
                prop_assert!(same(&decode(&bytes).unwrap(), &regular));
                let mixed: Vec<_> = regular.iter().zip(&random).map(|(a, b)| if b.ts.0 % 3 == 0 { s(a.ts.0, b.value) } else { *a }).collect();
                let bytes = encode(&mixed);
                prop_assert!(same(&decode(&bytes).unwrap(), &mixed));
            }
        }
    }
}

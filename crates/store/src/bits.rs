//! Bit-level writer and reader for the chunk codec (most significant bit first), and the byte
//! varint and zigzag codings the codec and the write-ahead log share.

/// Maps a signed delta to an unsigned one, small magnitudes to small numbers.
#[inline]
pub(crate) fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

/// The inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Appends `n` as a LEB128 varint (7 bits per byte, low first).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Reads a varint at `*at` and moves past it; `None` when truncated or longer than 64 bits.
pub(crate) fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let (mut n, mut shift) = (0u64, 0u32);
    loop {
        let &b = bytes.get(*at)?;
        *at += 1;
        if shift > 63 {
            return None;
        }
        n |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
}

/// Appends bit fields to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    buf: Vec<u8>,
    acc: u64,
    /// Bits of `acc` in use (from the top).
    filled: u32,
}

impl BitWriter {
    /// A writer that appends after `prefix` (a byte-aligned header).
    pub(crate) fn with_prefix(prefix: Vec<u8>) -> Self {
        BitWriter {
            buf: prefix,
            acc: 0,
            filled: 0,
        }
    }

    /// A writer that continues a stream of which `stream` holds the first `bits` bits (its last
    /// byte's unused bits are dropped).
    pub(crate) fn resume(stream: &[u8], bits: u64) -> Self {
        let whole = (bits / 8) as usize;
        let filled = (bits % 8) as u32;
        let mut buf = Vec::with_capacity(stream.len() + 64);
        buf.extend_from_slice(&stream[..whole.min(stream.len())]);
        let acc = match stream.get(whole) {
            Some(&b) if filled > 0 => (u64::from(b) >> (8 - filled)) << (64 - filled),
            _ => 0,
        };
        BitWriter { buf, acc, filled }
    }

    /// Bits written so far (a prefix counts as its bytes).
    pub(crate) fn bits(&self) -> u64 {
        self.buf.len() as u64 * 8 + u64::from(self.filled)
    }

    /// Writes the low `n` bits of `v` (`n <= 64`).
    #[inline]
    pub(crate) fn write(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        let free = 64 - self.filled;
        if n <= free {
            self.acc |= v << (free - n);
            self.filled += n;
            if self.filled == 64 {
                self.buf.extend_from_slice(&self.acc.to_be_bytes());
                self.acc = 0;
                self.filled = 0;
            }
        } else {
            let rest = n - free;
            self.acc |= v >> rest;
            self.buf.extend_from_slice(&self.acc.to_be_bytes());
            self.acc = v << (64 - rest);
            self.filled = rest;
        }
    }

    /// The bytes written, the last one padded with zero bits.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let bytes = self.filled.div_ceil(8) as usize;
        self.buf.extend_from_slice(&self.acc.to_be_bytes()[..bytes]);
        self.buf
    }
}

/// Reads bit fields written by [`BitWriter`]; `None` past the end.
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    /// Unread bits at the bottom of `acc`.
    avail: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            avail: 0,
        }
    }

    /// Tops `acc` up with whole bytes while they fit.
    #[inline]
    fn refill(&mut self) {
        while self.avail <= 56 {
            let Some(&b) = self.data.get(self.pos) else {
                break;
            };
            self.acc = (self.acc << 8) | u64::from(b);
            self.avail += 8;
            self.pos += 1;
        }
    }

    /// Reads `n` bits (`n <= 64`).
    #[inline]
    pub(crate) fn read(&mut self, n: u32) -> Option<u64> {
        debug_assert!(n <= 64);
        if n == 0 {
            return Some(0);
        }
        if n > 56 {
            let hi = self.read(n - 32)?;
            let lo = self.read(32)?;
            return Some((hi << 32) | lo);
        }
        if self.avail < n {
            self.refill();
            if self.avail < n {
                return None;
            }
        }
        self.avail -= n;
        Some((self.acc >> self.avail) & ((1u64 << n) - 1))
    }

    #[inline]
    pub(crate) fn bit(&mut self) -> Option<bool> {
        self.read(1).map(|b| b == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_every_width_round_trip() {
        let fields: Vec<(u64, u32)> = (0..=64u32)
            .flat_map(|n| {
                let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                [(0x0123_4567_89ab_cdef & mask, n), (mask, n), (0, n)]
            })
            .collect();
        let mut w = BitWriter::with_prefix(vec![7]);
        for &(v, n) in &fields {
            w.write(v, n);
        }
        let bytes = w.finish();
        assert_eq!(bytes[0], 7);
        let mut r = BitReader::new(&bytes[1..]);
        for &(v, n) in &fields {
            assert_eq!(r.read(n), Some(v), "width {n}");
        }
        // Only padding is left.
        assert!(r.read(8).is_none());
    }
}

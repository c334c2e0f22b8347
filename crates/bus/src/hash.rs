//! The one stable hash of the bus: FNV-1a over the bytes, finished by the splitmix64 mixer, so
//! workloads land in the same partition and members rank the same on every instance and version.

/// 64-bit FNV-1a of `bytes`, avalanche-mixed (splitmix64's finalizer): short, similar strings
/// ("a/1", "a/2") still spread over the whole range.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_values_never_change() {
        // Instances of different versions must agree: these values are part of the wire contract
        // (computed independently from the FNV-1a and splitmix64 definitions).
        assert_eq!(stable_hash(b""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(stable_hash(b"web"), 0xc850_f03f_92a3_75f3);
        assert_ne!(stable_hash(b"a/1"), stable_hash(b"a/2"));
    }
}

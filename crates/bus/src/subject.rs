//! Subjects: points go to `prescale.points.<partition>` (a workload's partition is a stable hash
//! of its id modulo the partition count), decisions to `prescale.decisions.<workload token>`.

use crate::hash::stable_hash;
use crate::BusError;
use prescale_core::WorkloadId;

/// The stream that holds every partition's points.
pub const POINTS_STREAM: &str = "PRESCALE_POINTS";
/// The stream that keeps the published decisions (an audit log of the whole fleet).
pub const DECISIONS_STREAM: &str = "PRESCALE_DECISIONS";
/// Prefix of the point subjects.
pub const POINTS_PREFIX: &str = "prescale.points";
/// Prefix of the decision subjects.
pub const DECISIONS_PREFIX: &str = "prescale.decisions";

/// How many partitions the workloads are spread over (1 to 4096; every instance must agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partitions(u32);

impl Partitions {
    /// Most partitions: one lease key each, renewed every third of the lease period.
    pub const MAX: u32 = 4096;

    pub fn new(n: u32) -> Result<Partitions, BusError> {
        if n == 0 || n > Self::MAX {
            return Err(BusError::Config(format!(
                "partitions = {n}: must be between 1 and {}",
                Self::MAX
            )));
        }
        Ok(Partitions(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Every partition, in order.
    pub fn all(self) -> impl Iterator<Item = u32> {
        0..self.0
    }
}

/// The partition of `workload`.
pub fn partition_of(workload: &WorkloadId, partitions: Partitions) -> u32 {
    // The modulo of a 64-bit hash by at most 4096: the bias is below 2^-52.
    (stable_hash(workload.as_str().as_bytes()) % u64::from(partitions.get())) as u32
}

/// `prescale.points.<partition>`.
pub fn points_subject(partition: u32) -> String {
    format!("{POINTS_PREFIX}.{partition}")
}

/// `prescale.decisions.<token>`: the workload id as one subject token (see [`subject_token`]).
pub fn decisions_subject(workload: &WorkloadId) -> String {
    format!("{DECISIONS_PREFIX}.{}", subject_token(workload.as_str()))
}

/// `s` as one NATS subject token: ASCII letters, digits, `-`, `_` and `:` stay, every other byte
/// (`.`, `*`, `>`, spaces, `/`, non-ASCII) becomes `%XX`, so distinct ids give distinct tokens.
pub fn subject_token(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_bounded() {
        assert!(Partitions::new(0).is_err());
        assert!(Partitions::new(4097).is_err());
        assert_eq!(Partitions::new(64).unwrap().all().count(), 64);
    }

    #[test]
    fn workloads_spread_over_partitions() {
        let p = Partitions::new(16).unwrap();
        let mut counts = [0u32; 16];
        for i in 0..1600 {
            let w = WorkloadId::new(format!("svc-{i}")).unwrap();
            counts[partition_of(&w, p) as usize] += 1;
        }
        // 100 expected in each; a bad hash would leave some near empty.
        assert!(
            counts.iter().all(|&c| (60..=140).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn tokens_escape_subject_syntax() {
        assert_eq!(subject_token("web-1_a:b"), "web-1_a:b");
        assert_eq!(subject_token("ns/web.v2 *>"), "ns%2Fweb%2Ev2%20%2A%3E");
        assert_ne!(subject_token("a.b"), subject_token("a_b"));
    }
}

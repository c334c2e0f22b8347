//! Controller snapshots in the `prescale_snapshots` bucket: one key per workload
//! (`snap.<workload>`), written by the workload's owner and read by its next owner when it takes
//! the lease. The bytes are the controller's (prescale-control validates them); a write carries
//! the writer's fencing token and is made only while that token is current.

use crate::{Bus, BusError};
use async_nats::jetstream::kv;
use bytes::Bytes;
use prescale_core::WorkloadId;

/// The bucket's key of `workload`'s snapshot: ASCII letters, digits, `-` and `_` stay, every
/// other byte becomes `=XX` (key-value keys allow no `%` or `:`), so distinct ids give distinct
/// keys.
pub fn snapshot_key(workload: &WorkloadId) -> String {
    format!("snap.{}", escaped(workload))
}

/// `workload` as one key-value token sequence: ASCII letters, digits, `-` and `_` stay, every
/// other byte becomes `=XX`.
pub(crate) fn escaped(workload: &WorkloadId) -> String {
    let mut out = String::new();
    for b in workload.as_str().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

/// The snapshots bucket.
#[derive(Clone)]
pub struct Snapshots {
    kv: kv::Store,
}

impl Snapshots {
    pub fn new(bus: &Bus) -> Snapshots {
        Snapshots {
            kv: bus.snapshots.clone(),
        }
    }

    /// Stores `bytes` as `workload`'s snapshot (replacing the previous one); the revision.
    pub async fn put(&self, workload: &WorkloadId, bytes: Vec<u8>) -> Result<u64, BusError> {
        let key = snapshot_key(workload);
        self.kv
            .put(&key, Bytes::from(bytes))
            .await
            .map_err(|e| BusError::nats(format!("writing {key}"), e))
    }

    /// `workload`'s latest snapshot; `None` when nobody wrote one.
    pub async fn get(&self, workload: &WorkloadId) -> Result<Option<Vec<u8>>, BusError> {
        let key = snapshot_key(workload);
        match self.kv.entry(&key).await {
            Ok(Some(e)) if e.operation == kv::Operation::Put => Ok(Some(e.value.to_vec())),
            Ok(_) => Ok(None),
            Err(e) => Err(BusError::nats(format!("reading {key}"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_key_value_safe_and_distinct() {
        let k = |s: &str| snapshot_key(&WorkloadId::new(s).unwrap());
        assert_eq!(k("web-1_a"), "snap.web-1_a");
        assert_eq!(k("ns/web.x"), "snap.ns=2Fweb=2Ex");
        assert_ne!(k("a.b"), k("a=2Eb"));
        for key in [k("ns/web.x"), k("a:b c")] {
            assert!(key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=./".contains(&b)));
        }
    }
}

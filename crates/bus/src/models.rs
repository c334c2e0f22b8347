//! Fleet models across instances in the `prescale_learning` bucket: every owner writes a bounded
//! training history of each workload it owns (`hist.<workload>`, escaped as snapshot keys), the
//! elected learner trains the fleet models on all of them and writes them as one generation:
//! the model bodies cut into chunks of at most [`CHUNK_BYTES`] (`models.<generation>.<index>`,
//! each well under the server's 1 MiB message limit) and then a manifest (`models.manifest`) that
//! names the generation, its chunks and its models. Readers follow the manifest; the chunks of
//! generations older than the two newest are deleted by the learner. The bytes are the daemon's
//! (it validates them); this module only keeps, cuts and lists them.

use crate::learning::Stored;
use crate::snapshots::escaped;
use crate::{Bus, BusError};
use async_nats::jetstream::kv;
use prescale_core::WorkloadId;

/// Key prefix of the training histories.
pub const HISTORY_PREFIX: &str = "hist.";
/// Key prefix of the model chunks.
pub const CHUNK_PREFIX: &str = "models.";
/// Key of the newest generation's manifest.
pub const MANIFEST_KEY: &str = "models.manifest";
/// Largest chunk written (a quarter of NATS's default 1 MiB `max_payload`).
pub const CHUNK_BYTES: usize = 256 * 1024;

/// The bucket's key of `workload`'s training history.
pub fn history_key(workload: &WorkloadId) -> String {
    format!("{HISTORY_PREFIX}{}", escaped(workload))
}

/// The bucket's key of chunk `index` of `generation` (a key token: ASCII letters, digits, `-`,
/// `_`).
pub fn chunk_key(generation: &str, index: usize) -> String {
    format!("{CHUNK_PREFIX}{generation}.{index}")
}

/// Whether `generation` can name chunk keys (1 to 64 ASCII letters, digits, `-` or `_`).
pub fn valid_generation(generation: &str) -> bool {
    (1..=64).contains(&generation.len())
        && generation
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// `bytes` cut into chunks of at most [`CHUNK_BYTES`] (one empty chunk for no bytes).
pub fn chunks(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    bytes.chunks(CHUNK_BYTES).collect()
}

/// The fleet models' keys of the learning bucket.
#[derive(Clone)]
pub struct FleetModels {
    kv: kv::Store,
}

impl FleetModels {
    pub fn new(bus: &Bus) -> FleetModels {
        FleetModels {
            kv: bus.learning.clone(),
        }
    }

    /// Stores `bytes` as `workload`'s training history (replacing the previous one); the revision.
    pub async fn put_history(
        &self,
        workload: &WorkloadId,
        bytes: Vec<u8>,
    ) -> Result<u64, BusError> {
        self.put(&history_key(workload), bytes).await
    }

    /// Every training history now stored, in key order.
    pub async fn histories(&self) -> Result<Vec<Stored>, BusError> {
        let mut out = Vec::new();
        for key in self
            .keys(HISTORY_PREFIX, "listing the training histories")
            .await?
        {
            if let Some(s) = self.get(&key).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Writes generation `generation` of the models: every chunk of `body`, then `manifest`
    /// (so a reader that sees the manifest finds its chunks). The chunk count.
    pub async fn publish(
        &self,
        generation: &str,
        body: &[u8],
        manifest: Vec<u8>,
    ) -> Result<usize, BusError> {
        if !valid_generation(generation) {
            return Err(BusError::Config(format!(
                "model generation {generation:?}: use 1 to 64 ASCII letters, digits, '-' or '_'"
            )));
        }
        let parts = chunks(body);
        for (i, c) in parts.iter().enumerate() {
            self.put(&chunk_key(generation, i), c.to_vec()).await?;
        }
        self.put(MANIFEST_KEY, manifest).await?;
        Ok(parts.len())
    }

    /// The newest manifest; `None` when no learner wrote one.
    pub async fn manifest(&self) -> Result<Option<Stored>, BusError> {
        self.get(MANIFEST_KEY).await
    }

    /// Chunk `index` of `generation`; `None` when absent (deleted, or never written).
    pub async fn chunk(&self, generation: &str, index: usize) -> Result<Option<Stored>, BusError> {
        self.get(&chunk_key(generation, index)).await
    }

    /// Deletes the chunks of every generation not in `keep`; how many keys went.
    pub async fn prune(&self, keep: &[&str]) -> Result<usize, BusError> {
        let mut gone = 0;
        for key in self.keys(CHUNK_PREFIX, "listing the model chunks").await? {
            let Some(generation) = key
                .strip_prefix(CHUNK_PREFIX)
                .and_then(|rest| rest.rsplit_once('.'))
                .map(|(g, _)| g)
            else {
                continue; // the manifest
            };
            // kept, or deleted already (a tombstone is listed too)
            if keep.contains(&generation) || self.get(&key).await?.is_none() {
                continue;
            }
            self.kv
                .purge(&key)
                .await
                .map_err(|e| BusError::nats(format!("deleting {key}"), e))?;
            gone += 1;
        }
        Ok(gone)
    }

    /// Stores a raw value under `key` (for tests of what a reader does with a malformed history,
    /// manifest or chunk).
    #[doc(hidden)]
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<u64, BusError> {
        crate::learning::put(&self.kv, key, bytes).await
    }

    /// The stored value of `key`; `None` when absent or deleted.
    pub async fn get(&self, key: &str) -> Result<Option<Stored>, BusError> {
        crate::learning::get(&self.kv, key).await
    }

    /// The keys under `prefix` that hold a message, in key order.
    async fn keys(&self, prefix: &str, what: &str) -> Result<Vec<String>, BusError> {
        crate::learning::keys(&self.kv, prefix, what).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_bounded_and_keys_are_tokens() {
        let body = vec![7u8; 2 * CHUNK_BYTES + 3];
        let c = chunks(&body);
        assert_eq!(
            c.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [CHUNK_BYTES, CHUNK_BYTES, 3]
        );
        assert_eq!(chunks(&[]).len(), 1);
        assert_eq!(chunk_key("7-1700", 2), "models.7-1700.2");
        assert!(valid_generation("7-1700"));
        assert!(!valid_generation("a.b") && !valid_generation("") && !valid_generation("a b"));
        assert_eq!(
            history_key(&WorkloadId::new("ns/web").unwrap()),
            "hist.ns=2Fweb"
        );
    }
}

//! Fleet learning across instances in the `prescale_learning` bucket: every instance writes the
//! raw feature row of each workload its store holds (`feat.<workload>`, escaped as snapshot keys),
//! the elected learner reads them all, fits one basis over the merged fleet, and writes the result
//! (`fleet.result`) that every instance stores as its own latest fingerprint run and clustering.
//! Each owner also writes its workloads' cold-start profile partials (`prof.<workload>`), which
//! every instance reads to build a cluster's profile from members it does not store.
//! The bytes are the daemon's (it validates them); this module only keeps and lists them.

use crate::snapshots::escaped;
use crate::{Bus, BusError};
use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::TryStreamExt;
use prescale_core::WorkloadId;

/// Key prefix of the feature rows.
pub const ROW_PREFIX: &str = "feat.";
/// Key prefix of the cold-start profile partials (one per workload, written by its owner).
pub const PROFILE_PREFIX: &str = "prof.";
/// Key of the elected learner's result.
pub const RESULT_KEY: &str = "fleet.result";

/// The bucket's key of `workload`'s feature row.
pub fn row_key(workload: &WorkloadId) -> String {
    format!("{ROW_PREFIX}{}", escaped(workload))
}

/// The bucket's key of `workload`'s profile partial.
pub fn profile_key(workload: &WorkloadId) -> String {
    format!("{PROFILE_PREFIX}{}", escaped(workload))
}

/// One stored value and the revision it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: String,
    pub revision: u64,
    pub value: Vec<u8>,
}

/// The learning bucket.
#[derive(Clone)]
pub struct FleetLearning {
    kv: kv::Store,
}

impl FleetLearning {
    pub fn new(bus: &Bus) -> FleetLearning {
        FleetLearning {
            kv: bus.learning.clone(),
        }
    }

    /// Stores `bytes` as `workload`'s feature row (replacing the previous one); the revision.
    pub async fn put_row(&self, workload: &WorkloadId, bytes: Vec<u8>) -> Result<u64, BusError> {
        self.put(&row_key(workload), bytes).await
    }

    /// Stores a raw value under `key` (a `feat.` key whose bytes may be anything: for tests of
    /// what a reader does with a malformed row).
    #[doc(hidden)]
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<u64, BusError> {
        put(&self.kv, key, bytes).await
    }

    /// Every feature row now stored (one subject-filtered stream-info request and a read per
    /// row), in key order.
    pub async fn rows(&self) -> Result<Vec<Stored>, BusError> {
        self.list(ROW_PREFIX, "listing the feature rows").await
    }

    /// Stores `bytes` as `workload`'s profile partial (replacing the previous one); the revision.
    pub async fn put_profile(
        &self,
        workload: &WorkloadId,
        bytes: Vec<u8>,
    ) -> Result<u64, BusError> {
        self.put(&profile_key(workload), bytes).await
    }

    /// Every profile partial now stored, in key order.
    pub async fn profiles(&self) -> Result<Vec<Stored>, BusError> {
        self.list(PROFILE_PREFIX, "listing the profile partials")
            .await
    }

    async fn list(&self, prefix: &str, what: &str) -> Result<Vec<Stored>, BusError> {
        let mut out = Vec::new();
        for key in keys(&self.kv, prefix, what).await? {
            if let Some(s) = get(&self.kv, &key).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Stores the learner's result; the revision.
    pub async fn put_result(&self, bytes: Vec<u8>) -> Result<u64, BusError> {
        self.put(RESULT_KEY, bytes).await
    }

    /// The latest result; `None` when no learner wrote one.
    pub async fn result(&self) -> Result<Option<Stored>, BusError> {
        self.get(RESULT_KEY).await
    }

    async fn get(&self, key: &str) -> Result<Option<Stored>, BusError> {
        get(&self.kv, key).await
    }
}

/// Writes `bytes` under `key` of the learning bucket `kv`; the revision.
pub(crate) async fn put(kv: &kv::Store, key: &str, bytes: Vec<u8>) -> Result<u64, BusError> {
    kv.put(key, Bytes::from(bytes))
        .await
        .map_err(|e| BusError::nats(format!("writing {key}"), e))
}

/// The stored value of `key` in `kv`; `None` when absent or deleted.
pub(crate) async fn get(kv: &kv::Store, key: &str) -> Result<Option<Stored>, BusError> {
    match kv.entry(key).await {
        Ok(Some(e)) if e.operation == kv::Operation::Put => Ok(Some(Stored {
            key: key.to_string(),
            revision: e.revision,
            value: e.value.to_vec(),
        })),
        Ok(_) => Ok(None),
        Err(e) => Err(BusError::nats(format!("reading {key}"), e)),
    }
}

/// The keys of `kv` under `prefix` that hold a message (one subject-filtered stream-info request),
/// in key order; deleted keys' tombstones are listed too and read back as `None`. `what` names the
/// listing in an error.
pub(crate) async fn keys(
    kv: &kv::Store,
    prefix: &str,
    what: &str,
) -> Result<Vec<String>, BusError> {
    let mut subjects: Vec<(String, usize)> = kv
        .stream
        .info_with_subjects(format!("{}{prefix}>", kv.prefix))
        .await
        .map_err(|e| BusError::nats(what, e))?
        .try_collect()
        .await
        .map_err(|e| BusError::nats(what, e))?;
    subjects.sort();
    subjects.dedup();
    Ok(subjects
        .into_iter()
        .filter_map(|(s, _)| s.strip_prefix(kv.prefix.as_str()).map(str::to_string))
        .collect())
}

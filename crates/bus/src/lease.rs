//! One partition's lease in the key-value bucket: who holds it and its fencing token.
//!
//! Acquiring creates `lease.<partition>` (refused while anyone holds it) and then writes the
//! holder and the token into it; the token is the revision the create got, so it grows with
//! every new holder. Renewing rewrites the same value expecting the last revision (a lease that
//! expired or was taken cannot be renewed). An actuation carries the token it was decided under,
//! and [`Lease`]'s check reads the key again: it passes only while the same holder with the same
//! token is stored there, so an owner that stalled past its lease cannot act.

use crate::BusError;
use async_nats::jetstream::kv;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What a lease key holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseValue {
    pub owner: String,
    /// The revision of the create that began this holding; `None` only between the create and
    /// the write of the token (a check then fails).
    pub token: Option<u64>,
}

/// A lease this instance holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub partition: u32,
    /// The fencing token carried on every actuation under this lease.
    pub token: u64,
    /// The key's revision after the latest write (what a renewal expects).
    pub revision: u64,
}

/// A fencing token to check: the partition and the token an actuation was decided under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub partition: u32,
    pub token: u64,
}

/// Why an actuation under a fencing token is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FenceError {
    #[error(
        "partition {partition}: this instance's lease (token {token}) has expired or been released"
    )]
    Expired { partition: u32, token: u64 },
    #[error("partition {partition}: the lease is now held by {owner} with token {current:?}; this instance's token {token} is stale")]
    Stale {
        partition: u32,
        token: u64,
        owner: String,
        current: Option<u64>,
    },
    #[error(
        "partition {partition}: the lease could not be read ({detail}); not acting without it"
    )]
    Unreachable { partition: u32, detail: String },
}

/// The key of a partition's lease.
pub fn lease_key(partition: u32) -> String {
    format!("lease.{partition}")
}

fn value_bytes(v: &LeaseValue) -> Bytes {
    // Serialising two plain fields cannot fail.
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

/// Takes the lease of `partition` for `owner` when nobody holds it; `None` when someone does.
pub async fn acquire(
    kv: &kv::Store,
    owner: &str,
    partition: u32,
) -> Result<Option<Lease>, BusError> {
    Ok(acquire_key(kv, owner, &lease_key(partition))
        .await?
        .map(|(token, revision)| Lease {
            partition,
            token,
            revision,
        }))
}

/// Renews `lease` (same value, expecting its last revision); `false` when it is no longer ours.
pub async fn renew(kv: &kv::Store, owner: &str, lease: &mut Lease) -> Result<bool, BusError> {
    let key = lease_key(lease.partition);
    renew_key(kv, owner, &key, lease.token, &mut lease.revision).await
}

/// Gives `lease` up (only if it is still ours: deleting expects its last revision).
pub async fn release(kv: &kv::Store, lease: &Lease) -> Result<(), BusError> {
    release_key(kv, &lease_key(lease.partition), lease.revision).await;
    Ok(())
}

/// Whether `fence` is still current for `owner`: the key holds the same owner and token.
pub async fn check(kv: &kv::Store, owner: &str, fence: Fence) -> Result<(), FenceError> {
    let key = lease_key(fence.partition);
    let unreachable = |detail: String| FenceError::Unreachable {
        partition: fence.partition,
        detail,
    };
    match holder(kv, &key).await.map_err(unreachable)? {
        None => Err(FenceError::Expired {
            partition: fence.partition,
            token: fence.token,
        }),
        Some(value) if value.owner == owner && value.token == Some(fence.token) => Ok(()),
        Some(value) => Err(FenceError::Stale {
            partition: fence.partition,
            token: fence.token,
            owner: value.owner,
            current: value.token,
        }),
    }
}

/// Takes the lease `key` for `owner` when nobody holds it: its fencing token and revision, `None`
/// when someone holds it. (The one home of the create-then-write-the-token protocol, for the
/// partition leases and the leader lease.)
pub(crate) async fn acquire_key(
    kv: &kv::Store,
    owner: &str,
    key: &str,
) -> Result<Option<(u64, u64)>, BusError> {
    let pending = LeaseValue {
        owner: owner.to_string(),
        token: None,
    };
    let token = match kv.create(key, value_bytes(&pending)).await {
        Ok(rev) => rev,
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(BusError::nats(format!("creating {key}"), e)),
    };
    let held = LeaseValue {
        owner: owner.to_string(),
        token: Some(token),
    };
    let revision = kv
        .update(key, value_bytes(&held), token)
        .await
        .map_err(|e| BusError::nats(format!("writing the token of {key}"), e))?;
    Ok(Some((token, revision)))
}

/// Renews the lease `key` held with `token` (same value, expecting `revision`, which becomes the
/// new one); `false` when it is no longer ours.
pub(crate) async fn renew_key(
    kv: &kv::Store,
    owner: &str,
    key: &str,
    token: u64,
    revision: &mut u64,
) -> Result<bool, BusError> {
    let held = LeaseValue {
        owner: owner.to_string(),
        token: Some(token),
    };
    match kv.update(key, value_bytes(&held), *revision).await {
        Ok(rev) => {
            *revision = rev;
            Ok(true)
        }
        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(false),
        Err(e) => Err(BusError::nats(format!("renewing {key}"), e)),
    }
}

/// Gives the lease `key` up if it is still at `revision` (expired or taken meanwhile: nothing of
/// ours to give up).
pub(crate) async fn release_key(kv: &kv::Store, key: &str, revision: u64) {
    if let Err(e) = kv.delete_expect_revision(key, Some(revision)).await {
        tracing::debug!(key, error = %e, "releasing a lease that is no longer ours");
    }
}

/// Who holds the lease `key` now (`None`: nobody; expired, released or never taken), or why it
/// could not be read.
pub(crate) async fn holder(kv: &kv::Store, key: &str) -> Result<Option<LeaseValue>, String> {
    let entry = kv.entry(key).await.map_err(|e| e.to_string())?;
    match entry {
        Some(entry) if entry.operation == kv::Operation::Put => {
            serde_json::from_slice(&entry.value)
                .map(Some)
                .map_err(|e| format!("{key} holds no lease value: {e}"))
        }
        _ => Ok(None),
    }
}

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
    let key = lease_key(partition);
    let pending = LeaseValue {
        owner: owner.to_string(),
        token: None,
    };
    let token = match kv.create(&key, value_bytes(&pending)).await {
        Ok(rev) => rev,
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(BusError::nats(format!("creating {key}"), e)),
    };
    let held = LeaseValue {
        owner: owner.to_string(),
        token: Some(token),
    };
    let revision = kv
        .update(&key, value_bytes(&held), token)
        .await
        .map_err(|e| BusError::nats(format!("writing the token of {key}"), e))?;
    Ok(Some(Lease {
        partition,
        token,
        revision,
    }))
}

/// Renews `lease` (same value, expecting its last revision); `false` when it is no longer ours.
pub async fn renew(kv: &kv::Store, owner: &str, lease: &mut Lease) -> Result<bool, BusError> {
    let key = lease_key(lease.partition);
    let held = LeaseValue {
        owner: owner.to_string(),
        token: Some(lease.token),
    };
    match kv.update(&key, value_bytes(&held), lease.revision).await {
        Ok(rev) => {
            lease.revision = rev;
            Ok(true)
        }
        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(false),
        Err(e) => Err(BusError::nats(format!("renewing {key}"), e)),
    }
}

/// Gives `lease` up (only if it is still ours: deleting expects its last revision).
pub async fn release(kv: &kv::Store, lease: &Lease) -> Result<(), BusError> {
    let key = lease_key(lease.partition);
    match kv.delete_expect_revision(&key, Some(lease.revision)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            // Expired or taken meanwhile: nothing of ours to give up.
            tracing::debug!(key, error = %e, "releasing a lease that is no longer ours");
            Ok(())
        }
    }
}

/// Whether `fence` is still current for `owner`: the key holds the same owner and token.
pub async fn check(kv: &kv::Store, owner: &str, fence: Fence) -> Result<(), FenceError> {
    let key = lease_key(fence.partition);
    let entry = kv.entry(&key).await.map_err(|e| FenceError::Unreachable {
        partition: fence.partition,
        detail: e.to_string(),
    })?;
    let expired = FenceError::Expired {
        partition: fence.partition,
        token: fence.token,
    };
    let Some(entry) = entry else {
        return Err(expired);
    };
    if entry.operation != kv::Operation::Put {
        return Err(expired);
    }
    let value: LeaseValue =
        serde_json::from_slice(&entry.value).map_err(|e| FenceError::Unreachable {
            partition: fence.partition,
            detail: format!("{key} holds no lease value: {e}"),
        })?;
    if value.owner == owner && value.token == Some(fence.token) {
        Ok(())
    } else {
        Err(FenceError::Stale {
            partition: fence.partition,
            token: fence.token,
            owner: value.owner,
            current: value.token,
        })
    }
}

//! One elected instance for a fleet-wide job: the lease `leader.<role>` in the lease bucket, taken
//! and renewed with the partition leases' protocol (same TTL, a fencing token that grows with
//! every new leader). Run [`Leader::round`] every quarter of the lease period: the leader renews,
//! the others try to take it, so a dead leader is replaced once its lease expires (within two
//! lease periods of its last renewal). Whatever the leader writes for the fleet should carry its
//! token and be checked with [`Leader::check`] first, so a stalled former leader is refused.

use crate::lease::{acquire_key, holder, release_key, renew_key};
use crate::ownership::check_id;
use crate::{Bus, BusError};
use std::sync::Mutex;
use std::time::Instant;
use thiserror::Error;

/// The leadership of `role` as this instance sees it.
pub struct Leader {
    bus: Bus,
    id: String,
    key: String,
    held: Mutex<Option<Held>>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    token: u64,
    revision: u64,
    /// Counted from before the write that renewed it, less a tenth (as the partition leases).
    valid_until: Instant,
}

/// Who leads `role` now, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderInfo {
    pub id: String,
    pub token: u64,
}

/// Why a leader's write is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LeaderError {
    #[error("leader lease {key}: this instance's (token {token}) has expired or been released")]
    Expired { key: String, token: u64 },
    #[error(
        "leader lease {key}: now held by {owner} with token {current:?}; token {token} is stale"
    )]
    Stale {
        key: String,
        token: u64,
        owner: String,
        current: Option<u64>,
    },
    #[error("leader lease {key} could not be read ({detail}); not writing without it")]
    Unreachable { key: String, detail: String },
}

impl Leader {
    /// The leadership of `role` (one key token, as an instance id) for instance `id`.
    pub fn new(bus: Bus, id: &str, role: &str) -> Result<Leader, BusError> {
        check_id(id)?;
        check_id(role).map_err(|_| {
            BusError::Config(format!(
                "leader role {role:?}: use 1 to 64 ASCII letters, digits, '-' or '_'"
            ))
        })?;
        Ok(Leader {
            bus,
            id: id.to_string(),
            key: format!("leader.{role}"),
            held: Mutex::new(None),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Renews the lease when this instance holds it, else takes it when nobody does. Returns
    /// whether this instance leads after the round. On an error the lease is kept until its
    /// validity runs out (renewed again next round).
    pub async fn round(&self) -> Result<bool, BusError> {
        let started = Instant::now();
        let ttl = self.bus.options.lease_ttl;
        let valid_until = started + ttl - ttl / 10;
        let kv = &self.bus.leases;
        let current = *self.lock();
        if let Some(mut h) = current {
            if renew_key(kv, &self.id, &self.key, h.token, &mut h.revision).await? {
                h.valid_until = valid_until;
                *self.lock() = Some(h);
                return Ok(true);
            }
            // Expired (and perhaps taken): try again below like anyone else.
            *self.lock() = None;
        }
        match acquire_key(kv, &self.id, &self.key).await? {
            Some((token, revision)) => {
                *self.lock() = Some(Held {
                    token,
                    revision,
                    valid_until,
                });
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// This instance's fencing token while its leader lease is valid.
    pub fn token(&self) -> Option<u64> {
        let now = Instant::now();
        self.lock().filter(|h| h.valid_until > now).map(|h| h.token)
    }

    /// Who leads now as the bucket holds it (`None`: nobody, e.g. between a leader's death and
    /// the next one's round).
    pub async fn current(&self) -> Result<Option<LeaderInfo>, BusError> {
        let value = holder(&self.bus.leases, &self.key)
            .await
            .map_err(|e| BusError::nats(format!("reading {}", self.key), e))?;
        Ok(value.and_then(|v| {
            Some(LeaderInfo {
                id: v.owner,
                token: v.token?,
            })
        }))
    }

    /// Whether `token` is still this instance's current leadership in the bucket.
    pub async fn check(&self, token: u64) -> Result<(), LeaderError> {
        let key = self.key.clone();
        match holder(&self.bus.leases, &key).await {
            Err(detail) => Err(LeaderError::Unreachable { key, detail }),
            Ok(None) => Err(LeaderError::Expired { key, token }),
            Ok(Some(v)) if v.owner == self.id && v.token == Some(token) => Ok(()),
            Ok(Some(v)) => Err(LeaderError::Stale {
                key,
                token,
                owner: v.owner,
                current: v.token,
            }),
        }
    }

    /// Gives the lease up (when still ours), so another instance leads at its next round.
    pub async fn resign(&self) {
        let held = self.lock().take();
        if let Some(h) = held {
            release_key(&self.bus.leases, &self.key, h.revision).await;
        }
    }

    /// Forgets the lease without releasing it (as a process that stalled would): for tests of
    /// fencing only.
    #[doc(hidden)]
    pub fn forget(&self) {
        *self.lock() = None;
    }
}

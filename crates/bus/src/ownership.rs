//! Who owns which partition: each instance heartbeats `member.<id>` in the lease bucket, lists
//! the live members, ranks them per partition by rendezvous hashing, and holds the leases of the
//! partitions it ranks first for — releasing those it no longer does, so a joining member gets its
//! share at the next round and a dead member's share is taken once its heartbeat and leases expire.

use crate::hash::stable_hash;
use crate::lease::{self, Fence, FenceError, Lease};
use crate::subject::Partitions;
use crate::{Bus, BusError};
use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::TryStreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MEMBER_PREFIX: &str = "member.";
const PARTITIONS_KEY: &str = "partitions";

/// The member ranked first for `partition` among `members` (rendezvous hashing: when a member
/// leaves, only its partitions move; when one joins, it takes about 1/N of each other's).
pub fn rendezvous(partition: u32, members: &[String]) -> Option<&str> {
    members
        .iter()
        .max_by_key(|m| {
            (
                stable_hash(format!("{m}/{partition}").as_bytes()),
                m.as_str(),
            )
        })
        .map(String::as_str)
}

/// What one round changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub members: Vec<String>,
    pub acquired: Vec<u32>,
    pub released: Vec<u32>,
    /// Leases found expired or taken when renewing.
    pub lost: Vec<u32>,
}

/// This instance's current view: the live members and the partitions it holds valid leases of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnershipView {
    pub members: Vec<String>,
    pub held: BTreeMap<u32, Holding>,
}

/// A partition held: its fencing token and since when (wall clock, ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub token: u64,
    /// Taken after the lease was acquired: whatever the previous holder did, it did before.
    pub since_ms: i64,
}

struct Held {
    lease: Lease,
    since_ms: i64,
    /// Counted from before the write that renewed it, less a tenth: the server's copy expires
    /// no earlier.
    valid_until: Instant,
}

#[derive(Default)]
struct State {
    members: Vec<String>,
    held: BTreeMap<u32, Held>,
}

/// One instance's membership and leases.
pub struct Ownership {
    bus: Bus,
    id: String,
    partitions: Partitions,
    state: Mutex<State>,
}

impl Ownership {
    /// Joins: checks the cluster's partition count (the first instance records its own).
    pub async fn join(bus: Bus, id: &str, partitions: Partitions) -> Result<Ownership, BusError> {
        check_id(id)?;
        let ours = partitions.get();
        match bus
            .controls
            .create(PARTITIONS_KEY, Bytes::from(ours.to_string()))
            .await
        {
            Ok(_) => {}
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                let stored = bus
                    .controls
                    .get(PARTITIONS_KEY)
                    .await
                    .map_err(|e| BusError::nats("reading the partition count", e))?;
                let cluster = stored
                    .and_then(|b| std::str::from_utf8(&b).ok()?.trim().parse::<u32>().ok())
                    .ok_or_else(|| {
                        BusError::Config("the stored partition count is not a number".into())
                    })?;
                if cluster != ours {
                    return Err(BusError::PartitionMismatch { cluster, ours });
                }
            }
            Err(e) => return Err(BusError::nats("recording the partition count", e)),
        }
        Ok(Ownership {
            bus,
            id: id.to_string(),
            partitions,
            state: Mutex::new(State::default()),
        })
    }

    /// The connection it leases through.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn partitions(&self) -> Partitions {
        self.partitions
    }

    /// The lease period (the bucket's).
    pub fn lease_ttl(&self) -> Duration {
        self.bus.options.lease_ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Heartbeats, lists the members, and releases, renews and acquires leases toward this
    /// instance's rendezvous share. Run it every quarter of the lease period.
    pub async fn round(&self) -> Result<RoundReport, BusError> {
        let started = Instant::now();
        let ttl = self.lease_ttl();
        let valid_until = started + ttl - ttl / 10;
        let kv = &self.bus.leases;
        kv.put(
            format!("{MEMBER_PREFIX}{}", self.id),
            Bytes::from(self.id.clone()),
        )
        .await
        .map_err(|e| BusError::nats("writing this member's heartbeat", e))?;
        let mut members = self.members().await?;
        if !members.contains(&self.id) {
            members.push(self.id.clone());
            members.sort();
        }
        let wanted: BTreeSet<u32> = self
            .partitions
            .all()
            .filter(|&p| rendezvous(p, &members) == Some(self.id.as_str()))
            .collect();
        let held: Vec<Lease> = self.lock().held.values().map(|h| h.lease.clone()).collect();
        let mut report = RoundReport {
            members: members.clone(),
            ..RoundReport::default()
        };
        // Release first, so a joining member can take its share at its next round.
        let (keep, give): (Vec<Lease>, Vec<Lease>) = held
            .into_iter()
            .partition(|l| wanted.contains(&l.partition));
        for l in &give {
            lease::release(kv, l).await?;
            self.lock().held.remove(&l.partition);
            report.released.push(l.partition);
        }
        let renewed = futures_util::future::join_all(keep.into_iter().map(|mut l| async move {
            let r = lease::renew(kv, &self.id, &mut l).await;
            (l, r)
        }))
        .await;
        let mut first_error = None;
        for (l, r) in renewed {
            match r {
                Ok(true) => {
                    if let Some(h) = self.lock().held.get_mut(&l.partition) {
                        h.lease = l;
                        h.valid_until = valid_until;
                    }
                }
                Ok(false) => {
                    self.lock().held.remove(&l.partition);
                    report.lost.push(l.partition);
                }
                // Kept until its validity runs out; renewed again next round.
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        let missing: Vec<u32> = {
            let st = self.lock();
            wanted
                .iter()
                .copied()
                .filter(|p| !st.held.contains_key(p))
                .collect()
        };
        let acquired = futures_util::future::join_all(
            missing.into_iter().map(|p| lease::acquire(kv, &self.id, p)),
        )
        .await;
        for r in acquired {
            match r {
                Ok(Some(l)) => {
                    report.acquired.push(l.partition);
                    let since_ms = now_ms();
                    self.lock().held.insert(
                        l.partition,
                        Held {
                            lease: l,
                            since_ms,
                            valid_until,
                        },
                    );
                }
                Ok(None) => {}
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        self.lock().members = members;
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// The live members' ids, sorted, each once: the member keys the lease bucket's stream holds
    /// (one stream-info request with a subject filter, no consumer), less those whose last entry
    /// is a deletion (a member that left).
    pub async fn members(&self) -> Result<Vec<String>, BusError> {
        let kv = &self.bus.leases;
        let subjects: Vec<(String, usize)> = kv
            .stream
            .info_with_subjects(format!("{}{MEMBER_PREFIX}*", kv.prefix))
            .await
            .map_err(|e| BusError::nats("listing the members", e))?
            .try_collect()
            .await
            .map_err(|e| BusError::nats("listing the members", e))?;
        let candidates = member_ids(
            subjects
                .iter()
                .filter_map(|(s, _)| s.strip_prefix(kv.prefix.as_str())),
        );
        let live = futures_util::future::join_all(candidates.iter().map(|id| async move {
            kv.get(format!("{MEMBER_PREFIX}{id}"))
                .await
                .map(|v| v.is_some())
                .map_err(|e| BusError::nats(format!("reading member {id}'s heartbeat"), e))
        }))
        .await;
        let mut ids = Vec::with_capacity(candidates.len());
        for (id, alive) in candidates.into_iter().zip(live) {
            if alive? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// The members last seen and the leases still valid now.
    pub fn view(&self) -> OwnershipView {
        let now = Instant::now();
        let st = self.lock();
        OwnershipView {
            members: st.members.clone(),
            held: st
                .held
                .iter()
                .filter(|(_, h)| h.valid_until > now)
                .map(|(p, h)| {
                    let holding = Holding {
                        token: h.lease.token,
                        since_ms: h.since_ms,
                    };
                    (*p, holding)
                })
                .collect(),
        }
    }

    /// The holding of `partition` while this instance's lease of it is valid (no copy of the
    /// whole view: the control loop asks once per workload per pass).
    pub fn holding(&self, partition: u32) -> Option<Holding> {
        let now = Instant::now();
        self.lock()
            .held
            .get(&partition)
            .filter(|h| h.valid_until > now)
            .map(|h| Holding {
                token: h.lease.token,
                since_ms: h.since_ms,
            })
    }

    /// The fence of `partition` while this instance holds a valid lease of it.
    pub fn fence(&self, partition: u32) -> Option<Fence> {
        self.view().held.get(&partition).map(|h| Fence {
            partition,
            token: h.token,
        })
    }

    /// Whether `fence` is still current in the bucket (a read of its lease key).
    pub async fn check(&self, fence: Fence) -> Result<(), FenceError> {
        lease::check(&self.bus.leases, &self.id, fence).await
    }

    /// Leaves the group: releases every lease and deletes the heartbeat, so the others take over
    /// at their next round instead of after the lease period.
    pub async fn leave(&self) -> Result<(), BusError> {
        let held: Vec<Lease> = std::mem::take(&mut self.lock().held)
            .into_values()
            .map(|h| h.lease)
            .collect();
        for l in &held {
            lease::release(&self.bus.leases, l).await?;
        }
        self.bus
            .leases
            .delete(format!("{MEMBER_PREFIX}{}", self.id))
            .await
            .map_err(|e| BusError::nats("deleting this member's heartbeat", e))
    }

    /// Forgets every lease without releasing it (as a process that stalled would): for tests of
    /// fencing only.
    #[doc(hidden)]
    pub fn forget_leases(&self) {
        self.lock().held.clear();
    }
}

/// The member ids among lease-bucket `keys` (`member.<id>`), sorted and each once whatever the
/// listing repeated.
pub fn member_ids<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    keys.into_iter()
        .filter_map(|k| k.strip_prefix(MEMBER_PREFIX))
        .map(str::to_string)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An instance id is one key-value token: 1 to 64 of ASCII letters, digits, `-` and `_`.
pub fn check_id(id: &str) -> Result<(), BusError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(BusError::Config(format!(
            "instance id {id:?}: use 1 to 64 ASCII letters, digits, '-' or '_'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("node-{i}")).collect()
    }

    #[test]
    fn rendezvous_moves_only_the_leavers_partitions() {
        let three = ids(3);
        let two: Vec<String> = three[..2].to_vec();
        let mut counts = BTreeMap::new();
        for p in 0..300 {
            let a = rendezvous(p, &three).unwrap();
            *counts.entry(a).or_insert(0) += 1;
            if a != "node-2" {
                assert_eq!(
                    rendezvous(p, &two),
                    Some(a),
                    "partition {p} moved needlessly"
                );
            }
        }
        assert!(
            counts.values().all(|&c| (70..=130).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(rendezvous(0, &[]), None);
    }

    #[test]
    fn member_ids_are_sorted_and_each_listed_once() {
        // A listing that saw heartbeats rewritten while it ran (as a key listing after a
        // reconnect did: a, b, b, b, c, c).
        let keys = [
            "member.b", "lease.3", "member.a", "member.b", "member.c", "member.b", "member.c",
        ];
        assert_eq!(member_ids(keys), ["a", "b", "c"]);
        assert!(member_ids(["lease.1", "partitions"]).is_empty());
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("node-1_a").is_ok());
        for bad in ["", "a.b", "a b", "*", &"x".repeat(65)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }
}

//! State that follows the owner: a workload's controller snapshot (the acting policy's learned
//! headroom, see `prescale_control::ControllerSnapshot`) is written to the snapshots bucket every
//! [`SNAPSHOT_EVERY`] decisions, when this instance loses or hands over the workload, and on clean
//! shutdown; the instance that takes the workload over reads it before its first decision. A
//! snapshot that is corrupt, from a newer format or for another policy is refused (logged,
//! counted) and the workload starts fresh.

use super::ClusterLink;
use prescale_bus::{Fence, FenceError};
use prescale_control::{Controller, ControllerSnapshot};
use prescale_core::WorkloadId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// An owned workload's snapshot is written after this many of its decisions.
pub const SNAPSHOT_EVERY: usize = 10;
/// Reading a snapshot when taking a workload over waits this long (then it starts fresh).
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The snapshots written at shutdown get this long together.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// What a slot carries for the cluster: the fence it last decided under (a different one means
/// the workload was taken over, by this instance, since) and its decisions since the last
/// snapshot.
#[derive(Debug, Default)]
pub struct Carried {
    fence: Option<Fence>,
    since_snapshot: usize,
}

/// Snapshot counters (`GET /api/v1/cluster`).
#[derive(Debug, Default)]
pub(super) struct SnapshotStats {
    pub written: AtomicU64,
    pub restored: AtomicU64,
    /// Read but refused (corrupt, newer format, another workload's or policy's, out of bounds).
    pub refused: AtomicU64,
    /// Reads or writes that failed on the bus, or writes refused by the fence.
    pub failed: AtomicU64,
}

/// How a workload taken over started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// From the previous owner's snapshot (its writer).
    Restored(String),
    /// This instance's own state in memory is at least as new as the stored snapshot.
    KeptOwn,
    /// No snapshot was stored, or the policy learns nothing to carry.
    Fresh,
    /// The snapshot was refused or could not be read; started fresh.
    Refused(String),
}

impl ClusterLink {
    /// Before a tick of `controller`'s workload: `acting` is the fence it decides under now
    /// (`None`: not owned here). Taking the workload over reads its snapshot; losing it writes
    /// one. Returns how a workload just taken over started. Blocks: call it from the control
    /// loop's plain threads.
    pub fn follow(
        &self,
        carried: &mut Carried,
        controller: &mut Controller,
        acting: Option<Fence>,
    ) -> Option<Resumed> {
        match (carried.fence, acting) {
            (Some(old), None) => {
                // Lost or handed over: leave what was learned for the next owner.
                carried.fence = None;
                self.save(controller, old);
                None
            }
            (previous, Some(f)) if previous != Some(f) => {
                carried.fence = Some(f);
                carried.since_snapshot = 0;
                Some(self.resume(controller))
            }
            _ => None,
        }
    }

    /// After a decision under `fence`: every [`SNAPSHOT_EVERY`] decisions a snapshot is written.
    pub fn decided_under(&self, carried: &mut Carried, controller: &Controller, fence: Fence) {
        carried.since_snapshot += 1;
        if carried.since_snapshot >= SNAPSHOT_EVERY {
            carried.since_snapshot = 0;
            self.save(controller, fence);
        }
    }

    /// Reads `controller`'s workload's snapshot and continues from it when it is another
    /// instance's, or this instance has not decided on the workload yet (a restart).
    pub fn resume(&self, controller: &mut Controller) -> Resumed {
        let workload = controller.spec().workload.clone();
        let store = self.inner.snapshots.clone();
        let w = workload.clone();
        let read = self.inner.handle.block_on(async move {
            match tokio::time::timeout(READ_TIMEOUT, store.get(&w)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {READ_TIMEOUT:?}")),
            }
        });
        let stats = &self.inner.snapshot_stats;
        let bytes = match read {
            Ok(Some(b)) => b,
            Ok(None) => return Resumed::Fresh,
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(workload = %workload, error = %e, "reading the workload's snapshot; it starts fresh");
                return Resumed::Refused(e);
            }
        };
        let refused = |e: String| {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(workload = %workload, error = %e, "snapshot refused; the workload starts fresh");
            Resumed::Refused(e)
        };
        let snapshot = match ControllerSnapshot::decode(workload.as_str(), &bytes) {
            Ok(s) => s,
            Err(e) => return refused(e.to_string()),
        };
        let own = snapshot.written_by == self.id();
        if own && controller.snapshot(self.id()).decisions > 0 {
            return Resumed::KeptOwn;
        }
        match controller.restore(&snapshot) {
            Ok(true) => {
                stats.restored.fetch_add(1, Ordering::Relaxed);
                // One line per workload taken over: debug (a start-up takes over every workload).
                tracing::debug!(workload = %workload, from = %snapshot.written_by, state = ?controller.snapshot(self.id()).headroom, "resumed from the previous owner's snapshot");
                Resumed::Restored(snapshot.written_by)
            }
            Ok(false) => Resumed::Fresh,
            Err(e) => refused(e.to_string()),
        }
    }

    /// Writes `controller`'s snapshot in the background, unless `fence` has been taken by
    /// another instance (a stale owner never overwrites the new owner's state; a lease that
    /// merely ran out or was released, as on a hand-over, still lets it write).
    /// A policy that learns nothing to carry (e.g. `hpa`) writes nothing.
    pub fn save(&self, controller: &Controller, fence: Fence) {
        let Some((workload, bytes)) = self.encoded(controller) else {
            return;
        };
        let link = self.clone();
        self.inner.handle.spawn(async move {
            link.write(workload, fence, bytes).await;
        });
    }

    /// `controller`'s workload and encoded snapshot, when its policy learned something to carry.
    fn encoded(&self, controller: &Controller) -> Option<(WorkloadId, Vec<u8>)> {
        let snapshot = controller.snapshot(self.id());
        snapshot.headroom.as_ref()?;
        Some((controller.spec().workload.clone(), snapshot.encode()))
    }

    /// Writes the snapshot of every `(controller, fence)` and waits for them (at most a few
    /// seconds): the control loop's last act on a clean shutdown. Blocks.
    pub fn save_all<'a>(&self, owned: impl Iterator<Item = (&'a Controller, Fence)>) {
        let items: Vec<(WorkloadId, Fence, Vec<u8>)> = owned
            .filter_map(|(c, f)| self.encoded(c).map(|(w, b)| (w, f, b)))
            .collect();
        if items.is_empty() {
            return;
        }
        let link = self.clone();
        let n = items.len();
        self.inner.handle.block_on(async move {
            let mut set = tokio::task::JoinSet::new();
            for (w, f, b) in items {
                let link = link.clone();
                set.spawn(async move { link.write(w, f, b).await });
            }
            let all = async { while set.join_next().await.is_some() {} };
            if tokio::time::timeout(SHUTDOWN_TIMEOUT, all).await.is_err() {
                tracing::warn!(snapshots = n, "not every snapshot was written at shutdown");
            }
        });
    }

    async fn write(&self, workload: WorkloadId, fence: Fence, bytes: Vec<u8>) {
        let stats = &self.inner.snapshot_stats;
        match self.inner.ownership.check(fence).await {
            Ok(()) | Err(FenceError::Expired { .. }) => {}
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(workload = %workload, error = %e, "snapshot not written");
                return;
            }
        }
        match self.inner.snapshots.put(&workload, bytes).await {
            Ok(_) => {
                stats.written.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(workload = %workload, error = %e, "writing the workload's snapshot");
            }
        }
    }
}

impl Carried {
    /// The fence this slot decides under, while owned here.
    pub fn fence(&self) -> Option<Fence> {
        self.fence
    }
}

//! What the control loop and the API see of the cluster: which workloads this instance owns now
//! (with the fencing token of each one's partition), the fence check before an actuation, and the
//! wake-up of the decision outbox (which publishes from the store's decision log, see
//! [`super::outbox`]).

use prescale_bus::{partition_of, Fence, FenceError, Ownership, Snapshots};
use prescale_core::WorkloadId;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A fence check that takes longer fails (the actuation is refused).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A cheap handle (clones share everything).
#[derive(Clone)]
pub struct ClusterLink {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) ownership: Arc<Ownership>,
    pub(super) handle: tokio::runtime::Handle,
    pub(super) snapshots: Snapshots,
    pub(super) snapshot_stats: super::carry::SnapshotStats,
    pub(super) learn_stats: Arc<super::learning::LearnStats>,
    pub(super) outbox: Arc<super::outbox::OutboxStats>,
    wake: mpsc::Sender<()>,
    configured: Vec<WorkloadId>,
    bad_messages: AtomicU64,
    points_consumed: AtomicU64,
    fenced_off: AtomicU64,
}

/// `GET /api/v1/cluster`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClusterView {
    #[serde(rename = "self")]
    pub id: String,
    pub members: Vec<String>,
    /// The configured workloads whose partition this instance holds a valid lease of.
    pub owned: Vec<String>,
    pub partitions_held: Vec<u32>,
    pub partitions: u32,
    pub lease_ttl_ms: u64,
    pub bad_messages: u64,
    pub points_consumed: u64,
    /// The decision outbox: logged decisions the stream acknowledged as new, acknowledged as
    /// already stored (published again, de-duplicated by message id), failed publish attempts
    /// (each retried: none is dropped), logged decisions not yet acknowledged, and logged
    /// decisions skipped because their record is not JSON.
    pub decisions_published: u64,
    pub decisions_duplicates: u64,
    pub decisions_retries: u64,
    pub decisions_backlog: u64,
    pub decisions_unpublishable: u64,
    /// Actuations refused because the fencing token was no longer current.
    pub fenced_off: u64,
    /// Controller snapshots written, restored from on a take-over, refused (corrupt, newer
    /// format, another policy's), and failed reads or writes.
    pub snapshots_written: u64,
    pub snapshots_restored: u64,
    pub snapshots_refused: u64,
    pub snapshots_failed: u64,
    /// Fleet learning: the instance that learns for the fleet as last seen (`leader.learn`),
    /// feature rows this instance published, rows it skipped as malformed while learning,
    /// results it published as the learner, stored from the learner, and skipped as malformed.
    pub learner: Option<String>,
    pub feature_rows_published: u64,
    pub feature_rows_bad: u64,
    pub profile_rows_published: u64,
    pub profile_rows_bad: u64,
    pub fleet_results_published: u64,
    pub fleet_results_applied: u64,
    pub fleet_results_bad: u64,
    /// Fleet models (gbm, cluster GRU/LSTM) across instances: training histories this instance
    /// published, skipped as malformed while training, or too large to publish; generations
    /// published as the learner, applied from it, refused (malformed, truncated, corrupted);
    /// and the generation in use here.
    pub training_histories_published: u64,
    pub training_histories_bad: u64,
    pub training_histories_too_large: u64,
    pub fleet_models_published: u64,
    pub fleet_models_applied: u64,
    pub fleet_models_bad: u64,
    pub fleet_models_generation: Option<String>,
}

impl ClusterLink {
    /// The cold-start profile partials the fleet's owners published (by workload), as last read.
    pub fn published_partials(
        &self,
    ) -> Arc<std::collections::BTreeMap<WorkloadId, prescale_learn::MemberPartial>> {
        self.inner
            .learn_stats
            .partials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A link over `ownership` (the daemon builds it in [`super::Cluster::start`]; public for
    /// embedding and tests). Fence checks block on `handle`; [`ClusterLink::decided`] sends on
    /// `wake`.
    pub fn new(
        ownership: Arc<Ownership>,
        handle: tokio::runtime::Handle,
        wake: mpsc::Sender<()>,
        configured: Vec<WorkloadId>,
    ) -> ClusterLink {
        ClusterLink {
            inner: Arc::new(Inner {
                snapshots: Snapshots::new(ownership.bus()),
                snapshot_stats: Default::default(),
                learn_stats: Default::default(),
                ownership,
                handle,
                outbox: Default::default(),
                wake,
                configured,
                bad_messages: AtomicU64::new(0),
                points_consumed: AtomicU64::new(0),
                fenced_off: AtomicU64::new(0),
            }),
        }
    }

    /// The fence of `workload` and since when (ms) this instance holds it, while it owns it;
    /// `None` when another instance does (or nobody, while leases change hands or the bus is
    /// away).
    pub fn fence_of(&self, workload: &WorkloadId) -> Option<(Fence, i64)> {
        let o = &self.inner.ownership;
        let partition = partition_of(workload, o.partitions());
        o.holding(partition).map(|h| {
            (
                Fence {
                    partition,
                    token: h.token,
                },
                h.since_ms,
            )
        })
    }

    /// The fence `workload` acts under at `now_ms` with steps of `step_ms`: owned, and no longer
    /// in the step during which this instance took the lease (the previous owner may have acted
    /// in that step; a new owner's first step is the next one, so no step has two actors).
    pub fn acting_fence(&self, workload: &WorkloadId, step_ms: i64, now_ms: i64) -> Option<Fence> {
        let (fence, since) = self.fence_of(workload)?;
        let step = step_ms.max(1);
        (now_ms.div_euclid(step) > since.div_euclid(step)).then_some(fence)
    }

    /// Whether `fence` is still current in the lease bucket (blocks: call it from a plain thread,
    /// as the control loop's ticks run).
    pub fn check(&self, fence: Fence) -> Result<(), FenceError> {
        let o = self.inner.ownership.clone();
        let r = self.inner.handle.block_on(async move {
            match tokio::time::timeout(CHECK_TIMEOUT, o.check(fence)).await {
                Ok(r) => r,
                Err(_) => Err(FenceError::Unreachable {
                    partition: fence.partition,
                    detail: format!("no answer within {CHECK_TIMEOUT:?}"),
                }),
            }
        });
        if r.is_err() {
            self.inner.fenced_off.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// A decision was made (and saved to the decision log): wakes the outbox, which publishes
    /// it from the log (with the fence it was made under while that is still held). A wake-up
    /// already pending covers this one.
    pub fn decided(&self) {
        let _ = self.inner.wake.try_send(());
    }

    /// The fence `workload`'s decision made at `at_ms` was made under, while this instance still
    /// holds it: held since before `at_ms` (a lease lost and taken again since has a new token).
    pub fn fence_at(&self, workload: &WorkloadId, at_ms: i64) -> Option<Fence> {
        self.fence_of(workload)
            .filter(|(_, since)| *since <= at_ms)
            .map(|(f, _)| f)
    }

    /// This instance's id.
    pub fn id(&self) -> &str {
        self.inner.ownership.id()
    }

    pub(super) fn counted(&self, bad: usize, points: usize) {
        self.inner
            .bad_messages
            .fetch_add(bad as u64, Ordering::Relaxed);
        self.inner
            .points_consumed
            .fetch_add(points as u64, Ordering::Relaxed);
    }

    /// This instance's id, the members it last saw, and what it owns now.
    pub fn view(&self) -> ClusterView {
        let i = &self.inner;
        let v = i.ownership.view();
        let parts = i.ownership.partitions();
        let owned = i
            .configured
            .iter()
            .filter(|w| v.held.contains_key(&partition_of(w, parts)))
            .map(|w| w.to_string())
            .collect();
        ClusterView {
            id: i.ownership.id().to_string(),
            members: v.members,
            owned,
            partitions_held: v.held.keys().copied().collect(),
            partitions: parts.get(),
            lease_ttl_ms: u64::try_from(i.ownership.lease_ttl().as_millis()).unwrap_or(u64::MAX),
            bad_messages: i.bad_messages.load(Ordering::Relaxed),
            points_consumed: i.points_consumed.load(Ordering::Relaxed),
            decisions_published: i.outbox.published.load(Ordering::Relaxed),
            decisions_duplicates: i.outbox.duplicates.load(Ordering::Relaxed),
            decisions_retries: i.outbox.retries.load(Ordering::Relaxed),
            decisions_backlog: i.outbox.backlog.load(Ordering::Relaxed),
            decisions_unpublishable: i.outbox.unpublishable.load(Ordering::Relaxed),
            fenced_off: i.fenced_off.load(Ordering::Relaxed),
            snapshots_written: i.snapshot_stats.written.load(Ordering::Relaxed),
            snapshots_restored: i.snapshot_stats.restored.load(Ordering::Relaxed),
            snapshots_refused: i.snapshot_stats.refused.load(Ordering::Relaxed),
            snapshots_failed: i.snapshot_stats.failed.load(Ordering::Relaxed),
            learner: i
                .learn_stats
                .learner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            feature_rows_published: i.learn_stats.rows_published.load(Ordering::Relaxed),
            feature_rows_bad: i.learn_stats.rows_bad.load(Ordering::Relaxed),
            profile_rows_published: i.learn_stats.profiles_published.load(Ordering::Relaxed),
            profile_rows_bad: i.learn_stats.profiles_bad.load(Ordering::Relaxed),
            fleet_results_published: i.learn_stats.results_published.load(Ordering::Relaxed),
            fleet_results_applied: i.learn_stats.results_applied.load(Ordering::Relaxed),
            fleet_results_bad: i.learn_stats.results_bad.load(Ordering::Relaxed),
            training_histories_published: i.learn_stats.histories_published.load(Ordering::Relaxed),
            training_histories_bad: i.learn_stats.histories_bad.load(Ordering::Relaxed),
            training_histories_too_large: i.learn_stats.histories_too_large.load(Ordering::Relaxed),
            fleet_models_published: i.learn_stats.models_published.load(Ordering::Relaxed),
            fleet_models_applied: i.learn_stats.models_applied.load(Ordering::Relaxed),
            fleet_models_bad: i.learn_stats.models_bad.load(Ordering::Relaxed),
            fleet_models_generation: i
                .learn_stats
                .models_generation
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

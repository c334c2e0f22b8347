//! Scale-out (`[cluster]`): instances share one fleet over NATS JetStream.
//!
//! Every source's points are published to the bus (partitioned by workload) instead of written
//! locally; each instance holds the leases of its rendezvous share of the partitions (see
//! prescale-bus), consumes those partitions' points into its own store, runs the control loop only
//! for the workloads of those partitions, checks its lease's fencing token before every actuation,
//! publishes every decision of its store's decision log to `prescale.decisions.<workload>` (an
//! outbox: from a cursor kept in the store, retried until acknowledged, [`outbox`]), and keeps the global mode and kill
//! switch in step with the controls bucket. Each owned workload's learned headroom follows it to
//! its next owner through the snapshots bucket ([`carry`]). Fingerprints and clusters are learned
//! over the whole fleet by one elected instance from every instance's feature rows ([`learning`]),
//! and that instance trains the fleet models on every owner's histories for all ([`fleet_models`]). With the bus away, leases run out:
//! nothing is decided or acted on (the fleet holds) until the bus returns and the leases are
//! taken again.

pub mod api;
pub mod carry;
mod consume;
mod controls_sync;
pub mod fenced;
pub mod fleet_models;
pub mod learning;
pub mod link;
pub mod outbox;
pub mod sink;

pub use carry::{Carried, Resumed};
pub use link::{ClusterLink, ClusterView};

use crate::config::ClusterConfig;
use crate::controls::Controls;
use crate::error::DaemonError;
use crate::writer::WriterHandle;
use prescale_bus::{Bus, BusOptions, Ownership, Partitions, Publisher};
use prescale_core::WorkloadId;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A joined cluster: the link the control loop and API use, and the background tasks.
pub struct Cluster {
    pub link: ClusterLink,
    pub publisher: Publisher,
    ownership: Arc<Ownership>,
    tasks: Vec<JoinHandle<()>>,
}

impl Cluster {
    /// Connects to the bus and joins the group (no lease is held until the first round).
    pub async fn join(cfg: &ClusterConfig) -> Result<(Bus, Arc<Ownership>), DaemonError> {
        let bus = Bus::connect(&cfg.nats, BusOptions::new(&cfg.id, cfg.lease_ttl)).await?;
        let partitions = Partitions::new(cfg.partitions)?;
        let ownership = Ownership::join(bus.clone(), &cfg.id, partitions).await?;
        tracing::info!(id = %cfg.id, nats = %cfg.nats, partitions = cfg.partitions, lease_ttl = %crate::config::show_duration(ownership.lease_ttl()), "joined the cluster");
        Ok((bus, Arc::new(ownership)))
    }

    /// Starts the lease rounds (with the partition consumers writing to `store`, and the
    /// controls sync) and the decision outbox publishing `decisions`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        bus: Bus,
        ownership: Arc<Ownership>,
        controls: Controls,
        configured: Vec<WorkloadId>,
        store: WriterHandle,
        decisions: outbox::DecisionLog,
        shutdown: watch::Receiver<bool>,
    ) -> Cluster {
        let publisher = Publisher::new(bus.js.clone(), ownership.partitions());
        // A wake-up pending is enough: the outbox reads whatever the log holds.
        let (wake_tx, wake_rx) = tokio::sync::mpsc::channel(1);
        let link = ClusterLink::new(
            ownership.clone(),
            tokio::runtime::Handle::current(),
            wake_tx,
            configured,
        );
        let fence_link = link.clone();
        let outbox = outbox::Outbox {
            log: decisions,
            publisher: publisher.clone(),
            instance: ownership.id().to_string(),
            fence_of: Arc::new(move |w: &WorkloadId, at: i64| fence_link.fence_at(w, at)),
            stats: link.inner.outbox.clone(),
        };
        let tasks = vec![
            tokio::spawn(rounds(
                bus,
                ownership.clone(),
                link.clone(),
                controls,
                store,
                shutdown.clone(),
            )),
            tokio::spawn(outbox.run(wake_rx, shutdown)),
        ];
        Cluster {
            link,
            publisher,
            ownership,
            tasks,
        }
    }

    /// Waits for the tasks (shutdown already asked for), then leaves the group so the others
    /// take this instance's partitions at their next round.
    pub async fn shutdown(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        if let Err(e) = self.ownership.leave().await {
            tracing::warn!(error = %e, "leaving the cluster; the others take over when the leases expire");
        }
    }
}

/// Every quarter of the lease period: a lease round, the consumers of the partitions held, and
/// the global controls.
async fn rounds(
    bus: Bus,
    ownership: Arc<Ownership>,
    link: ClusterLink,
    controls: Controls,
    store: WriterHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = ownership.lease_ttl() / 4;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut consumers: BTreeMap<u32, JoinHandle<()>> = BTreeMap::new();
    let mut sync = controls_sync::ControlsSync::new(&bus, controls);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = crate::loops::stopped(&mut shutdown) => break,
            _ = ticker.tick() => {}
        }
        match ownership.round().await {
            Ok(r) => {
                if failing {
                    tracing::info!("the bus is back: lease rounds succeed again");
                    failing = false;
                }
                if !(r.acquired.is_empty() && r.released.is_empty() && r.lost.is_empty()) {
                    tracing::info!(members = ?r.members, acquired = ?r.acquired, released = ?r.released, lost = ?r.lost, "partition ownership changed");
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "lease round failed; leases not renewed run out and their workloads hold");
                }
                failing = true;
            }
        }
        let held = ownership.view().held;
        consumers.retain(|p, task| {
            let keep = held.contains_key(p) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for &p in held.keys() {
            consumers.entry(p).or_insert_with(|| {
                tokio::spawn(consume::partition(
                    bus.clone(),
                    p,
                    store.clone(),
                    link.clone(),
                ))
            });
        }
        sync.round().await;
    }
    for (_, t) in consumers {
        t.abort();
    }
}

//! `[cluster]`: instances sharing one fleet over NATS JetStream (see [`crate::cluster`]).

use super::validate::{Check, MILLI};
use serde::Deserialize;
use std::time::Duration;

/// `[cluster]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCluster {
    /// `nats://host:port` of the JetStream server.
    pub nats: String,
    /// This instance's id: 1 to 64 ASCII letters, digits, '-' or '_'; unique in the cluster.
    pub id: String,
    /// A lease (and a member's heartbeat) not renewed for this long expires (default "10s").
    pub lease_ttl: Option<String>,
    /// Partitions the workloads are spread over (default 64; every instance must agree).
    pub partitions: Option<u64>,
}

/// `[cluster]` validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    pub nats: String,
    pub id: String,
    pub lease_ttl: Duration,
    pub partitions: u32,
}

/// Shortest lease period: renewals go every quarter of it.
const MIN_LEASE: Duration = Duration::from_millis(400);

pub(super) fn cluster(c: &mut Check, f: FileCluster) -> ClusterConfig {
    let nats = f.nats.trim().to_string();
    if !nats.starts_with("nats://") || nats.len() <= "nats://".len() {
        c.fail("cluster.nats", format!("{nats:?} is not a nats:// URL"));
    }
    if let Err(e) = prescale_bus::ownership::check_id(&f.id) {
        c.fail("cluster.id", e.to_string());
    }
    let lease_ttl = c.duration(
        "cluster.lease_ttl",
        f.lease_ttl.as_deref(),
        Duration::from_secs(10),
        MILLI,
    );
    if lease_ttl < MIN_LEASE {
        c.fail("cluster.lease_ttl", "must be at least 400ms");
    }
    let partitions = match f.partitions {
        None => 64,
        Some(n) => match u32::try_from(n)
            .ok()
            .and_then(|n| prescale_bus::Partitions::new(n).ok())
        {
            Some(p) => p.get(),
            None => {
                c.fail(
                    "cluster.partitions",
                    format!(
                        "{n}: must be between 1 and {}",
                        prescale_bus::Partitions::MAX
                    ),
                );
                64
            }
        },
    };
    ClusterConfig {
        nats,
        id: f.id,
        lease_ttl,
        partitions,
    }
}

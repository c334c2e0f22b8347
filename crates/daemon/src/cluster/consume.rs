//! One held partition's consumer task: fetch, write the points to this instance's store and wait
//! until they are durable, then acknowledge; a message that is not a point batch is counted and
//! logged (the bus crate has already terminated it). Aborted when the lease goes: what it fetched
//! and had not acknowledged is delivered again to the next holder.

use super::ClusterLink;
use crate::writer::WriterHandle;
use prescale_bus::{Bus, PartitionConsumer};
use std::time::Duration;

/// Messages per fetch.
const FETCH: usize = 256;
/// How long a fetch waits for the first message.
const WAIT: Duration = Duration::from_millis(500);
/// After a failure (bus away, store refusing), before trying again.
const PAUSE: Duration = Duration::from_millis(500);

pub(super) async fn partition(bus: Bus, p: u32, store: WriterHandle, link: ClusterLink) {
    let consumer = loop {
        match PartitionConsumer::open(&bus, p).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(partition = p, error = %e, "opening the partition's consumer");
                tokio::time::sleep(PAUSE).await;
            }
        }
    };
    loop {
        let mut d = match consumer.fetch(FETCH, WAIT).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(partition = p, error = %e, "fetching points");
                tokio::time::sleep(PAUSE).await;
                continue;
            }
        };
        for bad in &d.bad {
            tracing::warn!(partition = p, error = %bad, "dropped a message that is not a point batch");
        }
        link.counted(d.bad.len(), d.points.len());
        if d.points.is_empty() {
            if let Err(e) = d.ack().await {
                tracing::debug!(partition = p, error = %e, "acknowledging");
            }
            continue;
        }
        let points = std::mem::take(&mut d.points);
        match store.write_acked(points).await {
            Ok(_) => {
                if let Err(e) = d.ack().await {
                    // Delivered again later: the store keeps one value per series and timestamp.
                    tracing::debug!(partition = p, error = %e, "acknowledging");
                }
            }
            Err(e) => {
                tracing::warn!(partition = p, error = %e, "storing consumed points; they are delivered again");
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
}

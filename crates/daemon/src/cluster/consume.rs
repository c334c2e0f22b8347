//! One held partition's consumer task: fetch, write the points to this instance's store and wait
//! until they are durable, then acknowledge; a message that is not a point batch is counted and
//! logged (the bus crate has already terminated it). Aborted when the lease goes: what it fetched
//! and had not acknowledged is delivered again to the next holder. Fetches that keep failing
//! (the server restarted, the consumer is gone) are logged once as a warning and the durable
//! consumer is opened again (created when absent); the first fetch that succeeds after is logged.

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
/// After this many fetches in a row fail, the consumer is opened again.
const REOPEN_AFTER: u32 = 3;

pub(super) async fn partition(bus: Bus, p: u32, store: WriterHandle, link: ClusterLink) {
    let mut consumer = open(&bus, p).await;
    let mut failed = 0u32;
    loop {
        let mut d = match consumer.fetch(FETCH, WAIT).await {
            Ok(d) => {
                if failed > 0 {
                    tracing::info!(partition = p, failed, "fetching points again");
                    failed = 0;
                }
                d
            }
            Err(e) => {
                failed += 1;
                if failed == 1 {
                    tracing::warn!(partition = p, error = %e, "fetching points failed; retrying");
                } else {
                    tracing::debug!(partition = p, error = %e, failed, "fetching points");
                }
                tokio::time::sleep(PAUSE).await;
                if failed.is_multiple_of(REOPEN_AFTER) {
                    consumer = open(&bus, p).await;
                }
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

/// The partition's durable consumer, opened (created when absent) once the bus answers.
async fn open(bus: &Bus, p: u32) -> PartitionConsumer {
    let mut failed = 0u32;
    loop {
        match PartitionConsumer::open(bus, p).await {
            Ok(c) => {
                if failed > 0 {
                    tracing::info!(partition = p, failed, "opened the partition's consumer");
                }
                return c;
            }
            Err(e) => {
                failed += 1;
                if failed == 1 {
                    tracing::warn!(partition = p, error = %e, "opening the partition's consumer; retrying");
                }
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
}

//! The publisher: points grouped by partition, encoded a few thousand to a message, published
//! with a message id derived from the content (JetStream stores a batch sent twice within its
//! duplicate window once), and every acknowledgement awaited.

use crate::codec::encode;
use crate::subject::{decisions_subject, partition_of, points_subject, Partitions};
use crate::{BusError, CodecError};
use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use bytes::Bytes;
use prescale_core::{Point, WorkloadId};
use std::collections::BTreeMap;

/// Points in one message at most (16 bytes a sample: about 64 KiB plus the series' names).
pub const POINTS_PER_MESSAGE: usize = 4096;

/// What a publish sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishReport {
    pub messages: usize,
    pub points: usize,
    /// Payload bytes (the message ids and subjects not counted).
    pub bytes: usize,
    /// Non-finite values left out.
    pub skipped: usize,
    /// Messages the stream had already stored (same id within the duplicate window).
    pub duplicates: usize,
}

/// Publishes points and decisions.
#[derive(Clone)]
pub struct Publisher {
    js: jetstream::Context,
    partitions: Partitions,
}

impl Publisher {
    pub fn new(js: jetstream::Context, partitions: Partitions) -> Publisher {
        Publisher { js, partitions }
    }

    /// Publishes `points` to their partitions' subjects and waits for every acknowledgement.
    pub async fn publish(&self, points: &[Point]) -> Result<PublishReport, BusError> {
        let mut by_partition: BTreeMap<u32, Vec<Point>> = BTreeMap::new();
        for p in points {
            by_partition
                .entry(partition_of(&p.key.workload, self.partitions))
                .or_default()
                .push(p.clone());
        }
        let mut report = PublishReport::default();
        let mut acks: Vec<(String, PublishAckFuture)> = Vec::new();
        for (partition, pts) in by_partition {
            for chunk in pts.chunks(POINTS_PER_MESSAGE) {
                let (payload, skipped) = encode(chunk).map_err(codec_err)?;
                report.skipped += skipped;
                report.points += chunk.len() - skipped;
                report.bytes += payload.len();
                report.messages += 1;
                let subject = points_subject(partition);
                let id = message_id(partition, &payload);
                let ack = self
                    .js
                    .send_publish(
                        subject.clone(),
                        PublishMessage::build()
                            .payload(Bytes::from(payload))
                            .message_id(id),
                    )
                    .await
                    .map_err(|e| BusError::nats(format!("publishing to {subject}"), e))?;
                acks.push((subject, ack));
            }
        }
        for (subject, ack) in acks {
            let ack = ack
                .await
                .map_err(|e| BusError::nats(format!("acknowledgement of {subject}"), e))?;
            report.duplicates += usize::from(ack.duplicate);
        }
        Ok(report)
    }

    /// Publishes one raw message to `subject` (tests of bad input, other producers).
    pub async fn publish_raw(&self, subject: &str, payload: Vec<u8>) -> Result<(), BusError> {
        self.js
            .publish(subject.to_string(), Bytes::from(payload))
            .await
            .map_err(|e| BusError::nats(format!("publishing to {subject}"), e))?
            .await
            .map_err(|e| BusError::nats(format!("acknowledgement of {subject}"), e))?;
        Ok(())
    }

    /// Publishes decisions (JSON) to `prescale.decisions.<workload>`: `batch` in order, all of it
    /// in flight at once, then awaits the acknowledgements in order. Reports how many leading
    /// messages were acknowledged: the first that fails (to send or to be acknowledged) ends the
    /// count, and the messages after it are to be published again (those the stream did store are
    /// then recognised by their ids within its duplicate window, and counted as duplicates).
    pub async fn publish_decisions(&self, batch: &[DecisionMessage]) -> DecisionsAcked {
        let mut acks = Vec::with_capacity(batch.len());
        let mut error = None;
        for m in batch {
            let subject = decisions_subject(&m.workload);
            match self
                .js
                .send_publish(
                    subject.clone(),
                    PublishMessage::build()
                        .payload(Bytes::from(m.json.clone()))
                        .message_id(m.id.as_str()),
                )
                .await
            {
                Ok(ack) => acks.push((subject, ack)),
                Err(e) => {
                    error = Some(BusError::nats(format!("publishing to {subject}"), e));
                    break;
                }
            }
        }
        let mut done = DecisionsAcked::default();
        for (subject, ack) in acks {
            match ack.await {
                Ok(a) => {
                    done.acked += 1;
                    done.duplicates += usize::from(a.duplicate);
                }
                Err(e) => {
                    done.error = Some(BusError::nats(format!("acknowledgement of {subject}"), e));
                    return done;
                }
            }
        }
        done.error = error;
        done
    }
}

/// One decision to publish: its workload (the subject), message id and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionMessage {
    pub workload: WorkloadId,
    /// `<workload>@<step>`: the stream stores a message published again within its duplicate
    /// window once.
    pub id: String,
    pub json: Vec<u8>,
}

/// What [`Publisher::publish_decisions`] came to.
#[derive(Debug, Default)]
pub struct DecisionsAcked {
    /// The leading messages acknowledged, in order.
    pub acked: usize,
    /// Of those, the ones the stream had already stored (same id within its duplicate window).
    pub duplicates: usize,
    /// Why the message after the acknowledged ones failed; `None` when all were acknowledged.
    pub error: Option<BusError>,
}

/// `<partition>-<hash of the payload>-<length>`: the same batch published again (a retry after a
/// lost acknowledgement) gets the same id.
fn message_id(partition: u32, payload: &[u8]) -> String {
    format!(
        "{partition}-{:016x}-{}",
        crate::hash::stable_hash(payload),
        payload.len()
    )
}

fn codec_err(e: CodecError) -> BusError {
    BusError::Config(format!("encoding a point batch: {e}"))
}

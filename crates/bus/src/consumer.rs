//! A partition's durable pull consumer (`points-<partition>`): whoever holds the partition's
//! lease fetches from it, writes the points, then acknowledges them (at least once; the store
//! keeps one value per series and timestamp, so a redelivery changes nothing). A message that is
//! not a point batch is terminated at once (never redelivered) and reported, so it cannot stall
//! the partition.

use crate::codec::{decode, CodecError};
use crate::subject::{points_subject, POINTS_STREAM};
use crate::{Bus, BusError};
use async_nats::jetstream::{consumer, AckKind, Message};
use futures_util::StreamExt;
use prescale_core::Point;
use std::time::Duration;

/// Unacknowledged messages are delivered again after this long: what a holder fetched and never
/// acknowledged (it died, or lost the lease mid-fetch) reaches the next holder this late at most.
/// A store commit slower than this only causes a redelivery (the store keeps one value per series
/// and timestamp).
pub const ACK_WAIT: Duration = Duration::from_secs(5);

/// One partition's consumer.
pub struct PartitionConsumer {
    pub partition: u32,
    consumer: consumer::PullConsumer,
}

/// What one fetch brought.
pub struct Delivery {
    pub points: Vec<Point>,
    /// Messages that were not point batches (already terminated), with why.
    pub bad: Vec<CodecError>,
    /// Messages fetched, good and bad.
    pub messages: usize,
    pending: Vec<Message>,
}

impl Delivery {
    /// Acknowledges the good messages (call once their points are durable). Dropping a delivery
    /// unacknowledged has them redelivered after the acknowledgement wait.
    pub async fn ack(self) -> Result<(), BusError> {
        for m in self.pending {
            m.ack()
                .await
                .map_err(|e| BusError::nats(format!("acknowledging {}", m.subject), e))?;
        }
        Ok(())
    }
}

/// The durable consumer's name of `partition`.
pub fn durable_name(partition: u32) -> String {
    format!("points-{partition}")
}

impl PartitionConsumer {
    /// Opens (creating when absent) the durable consumer of `partition`.
    pub async fn open(bus: &Bus, partition: u32) -> Result<PartitionConsumer, BusError> {
        let stream = bus
            .js
            .get_stream(POINTS_STREAM)
            .await
            .map_err(|e| BusError::nats(format!("opening stream {POINTS_STREAM}"), e))?;
        let name = durable_name(partition);
        let consumer = stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: points_subject(partition),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| BusError::nats(format!("opening consumer {name}"), e))?;
        Ok(PartitionConsumer {
            partition,
            consumer,
        })
    }

    /// Up to `max` messages, waiting at most `wait` for the first.
    pub async fn fetch(&self, max: usize, wait: Duration) -> Result<Delivery, BusError> {
        let what = || format!("fetching from {}", durable_name(self.partition));
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(max)
            .expires(wait)
            .messages()
            .await
            .map_err(|e| BusError::nats(what(), e))?;
        let mut d = Delivery {
            points: Vec::new(),
            bad: Vec::new(),
            messages: 0,
            pending: Vec::new(),
        };
        while let Some(m) = batch.next().await {
            let m = m.map_err(|e| BusError::nats(what(), e))?;
            d.messages += 1;
            match decode(&m.payload) {
                Ok(mut pts) => {
                    d.points.append(&mut pts);
                    d.pending.push(m);
                }
                Err(e) => {
                    m.ack_with(AckKind::Term)
                        .await
                        .map_err(|e| BusError::nats(format!("terminating {}", m.subject), e))?;
                    d.bad.push(e);
                }
            }
        }
        Ok(d)
    }
}

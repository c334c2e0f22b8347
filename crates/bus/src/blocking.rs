//! A publisher for plain threads (the agent's `--publish` mode): its own small runtime, the
//! partition count read from the cluster's controls bucket (so the points land in the partitions
//! the instances consume), and every acknowledgement awaited.

use crate::connect::CONTROLS_BUCKET;
use crate::subject::{Partitions, POINTS_PREFIX, POINTS_STREAM};
use crate::{BusError, PublishReport, Publisher};
use async_nats::jetstream;
use prescale_core::Point;
use std::time::Duration;

/// A connected publisher that blocks the calling thread.
pub struct BlockingPublisher {
    runtime: tokio::runtime::Runtime,
    publisher: Publisher,
    partitions: Partitions,
}

impl BlockingPublisher {
    /// Connects to `url` as `name`. The cluster's partition count must have been recorded (by
    /// any instance that has joined); the points stream is created when absent.
    pub fn connect(url: &str, name: &str) -> Result<BlockingPublisher, BusError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BusError::Config(format!("starting the publisher's runtime: {e}")))?;
        let (publisher, partitions) = runtime.block_on(async {
            let client = async_nats::ConnectOptions::new()
                .name(name)
                .connection_timeout(Duration::from_secs(5))
                .request_timeout(Some(Duration::from_secs(5)))
                .max_reconnects(None)
                .connect(url)
                .await
                .map_err(|e| BusError::Connect {
                    url: url.to_string(),
                    detail: e.to_string(),
                })?;
            let js = jetstream::new(client);
            let controls = js.get_key_value(CONTROLS_BUCKET).await.map_err(|e| {
                BusError::Config(format!(
                    "no prescale cluster on {url} yet (bucket {CONTROLS_BUCKET}: {e}); start an instance with [cluster] first"
                ))
            })?;
            let n = controls
                .get("partitions")
                .await
                .map_err(|e| BusError::nats("reading the partition count", e))?
                .and_then(|b| std::str::from_utf8(&b).ok()?.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    BusError::Config(format!(
                        "no partition count recorded on {url}; start an instance with [cluster] first"
                    ))
                })?;
            let partitions = Partitions::new(n)?;
            js.get_or_create_stream(jetstream::stream::Config {
                name: POINTS_STREAM.into(),
                subjects: vec![format!("{POINTS_PREFIX}.>")],
                max_age: Duration::from_secs(3600),
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::nats(format!("opening stream {POINTS_STREAM}"), e))?;
            Ok::<_, BusError>((Publisher::new(js, partitions), partitions))
        })?;
        Ok(BlockingPublisher {
            runtime,
            publisher,
            partitions,
        })
    }

    /// The cluster's partition count.
    pub fn partitions(&self) -> Partitions {
        self.partitions
    }

    /// Publishes `points` and waits for every acknowledgement.
    pub fn publish(&self, points: &[Point]) -> Result<PublishReport, BusError> {
        self.runtime.block_on(self.publisher.publish(points))
    }
}

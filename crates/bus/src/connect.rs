//! The connection: one NATS client and its JetStream context, the streams and buckets prescale
//! uses, created when absent (idempotently, so every instance may start first).

use crate::subject::{DECISIONS_PREFIX, DECISIONS_STREAM, POINTS_PREFIX, POINTS_STREAM};
use crate::BusError;
use async_nats::jetstream::{self, kv, stream};
use std::time::Duration;

/// Bucket of the partition leases and membership heartbeats (every entry expires after the lease
/// period unless written again).
pub const LEASE_BUCKET: &str = "prescale_leases";
/// Bucket of the controller snapshots a workload's next owner resumes from (kept until replaced).
pub const SNAPSHOT_BUCKET: &str = "prescale_snapshots";
/// Bucket of the cluster-wide settings: the global mode, the kill switch, the partition count.
pub const CONTROLS_BUCKET: &str = "prescale_controls";
/// Bucket of fleet learning: each workload's raw feature row and the elected learner's result
/// (kept a day: a workload nobody publishes any more drops out of the fleet).
pub const LEARNING_BUCKET: &str = "prescale_learning";

/// How the bus is reached and how long things are kept.
#[derive(Debug, Clone)]
pub struct BusOptions {
    /// The client's name as the server shows it (the instance id).
    pub name: String,
    /// A lease (and a member's heartbeat) not renewed for this long expires.
    pub lease_ttl: Duration,
    /// How long points are retained in the stream (for consumers that were away).
    pub points_max_age: Duration,
    /// How long decisions are retained.
    pub decisions_max_age: Duration,
    /// A point batch published twice with the same message id within this window is stored once.
    pub duplicate_window: Duration,
    /// Each request to the server (publish acknowledgement, key-value operation) waits this long.
    pub request_timeout: Duration,
}

impl BusOptions {
    pub fn new(name: impl Into<String>, lease_ttl: Duration) -> BusOptions {
        BusOptions {
            name: name.into(),
            lease_ttl,
            points_max_age: Duration::from_secs(3600),
            decisions_max_age: Duration::from_secs(86_400),
            duplicate_window: Duration::from_secs(120),
            request_timeout: Duration::from_secs(2),
        }
    }
}

/// A connected bus: the client, its JetStream context and the two buckets.
#[derive(Clone)]
pub struct Bus {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub leases: kv::Store,
    pub controls: kv::Store,
    pub snapshots: kv::Store,
    pub learning: kv::Store,
    pub options: BusOptions,
}

impl Bus {
    /// Connects to `url` (`nats://host:port`), retrying in the background when the server goes
    /// away, and makes sure the streams and buckets exist.
    pub async fn connect(url: &str, options: BusOptions) -> Result<Bus, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name(&options.name)
            .connection_timeout(options.request_timeout)
            .request_timeout(Some(options.request_timeout))
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((100 * attempts as u64).min(1000))
            })
            .connect(url)
            .await
            .map_err(|e| BusError::Connect {
                url: url.to_string(),
                detail: e.to_string(),
            })?;
        let js = jetstream::new(client.clone());
        js.get_or_create_stream(stream::Config {
            name: POINTS_STREAM.into(),
            subjects: vec![format!("{POINTS_PREFIX}.>")],
            max_age: options.points_max_age,
            duplicate_window: options.duplicate_window,
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::nats(format!("creating stream {POINTS_STREAM}"), e))?;
        js.get_or_create_stream(stream::Config {
            name: DECISIONS_STREAM.into(),
            subjects: vec![format!("{DECISIONS_PREFIX}.>")],
            max_age: options.decisions_max_age,
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::nats(format!("creating stream {DECISIONS_STREAM}"), e))?;
        let leases = bucket(
            &js,
            kv::Config {
                bucket: LEASE_BUCKET.into(),
                description: "prescale partition leases and member heartbeats".into(),
                history: 1,
                max_age: options.lease_ttl,
                ..Default::default()
            },
        )
        .await?;
        // The first instance's lease period holds for all: validity is counted with the bucket's.
        let mut options = options;
        match leases.status().await {
            Ok(status) if status.max_age() != options.lease_ttl => {
                tracing::warn!(
                    configured = ?options.lease_ttl,
                    bucket = ?status.max_age(),
                    "the lease bucket was created with another lease period; using the bucket's"
                );
                options.lease_ttl = status.max_age();
            }
            Ok(_) => {}
            Err(e) => return Err(BusError::nats(format!("reading bucket {LEASE_BUCKET}"), e)),
        }
        let controls = bucket(
            &js,
            kv::Config {
                bucket: CONTROLS_BUCKET.into(),
                description: "prescale global mode, kill switch and partition count".into(),
                history: 1,
                ..Default::default()
            },
        )
        .await?;
        let snapshots = bucket(
            &js,
            kv::Config {
                bucket: SNAPSHOT_BUCKET.into(),
                description: "prescale controller snapshots, one per workload".into(),
                history: 1,
                ..Default::default()
            },
        )
        .await?;
        let learning = bucket(
            &js,
            kv::Config {
                bucket: LEARNING_BUCKET.into(),
                description: "prescale fleet learning: feature rows and the learner's result"
                    .into(),
                history: 1,
                max_age: Duration::from_secs(86_400),
                ..Default::default()
            },
        )
        .await?;
        Ok(Bus {
            client,
            js,
            leases,
            controls,
            snapshots,
            learning,
            options,
        })
    }
}

/// The bucket, opened when it exists (an instance with another lease period does not change it:
/// the first instance's period holds), else created. Created as its stream: the client's own
/// bucket creation first queries the account, whose reply from a 2.9 server it cannot parse.
async fn bucket(js: &jetstream::Context, config: kv::Config) -> Result<kv::Store, BusError> {
    let name = config.bucket.clone();
    if let Ok(store) = js.get_key_value(&name).await {
        return Ok(store);
    }
    // What the client's bucket creation would send (one value per key kept: history 1).
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{name}"),
        description: Some(config.description),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: config.history.max(1),
        max_age: config.max_age,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(|e| BusError::nats(format!("creating bucket {name}"), e))?;
    js.get_key_value(&name)
        .await
        .map_err(|e| BusError::nats(format!("opening bucket {name}"), e))
}

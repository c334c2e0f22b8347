//! prescale on NATS JetStream: telemetry points published to subjects partitioned by workload,
//! a compact point-batch codec, durable pull consumers per partition, and the ownership of
//! partitions by leases in a JetStream key-value bucket (revision-based fencing tokens, membership
//! heartbeats, rendezvous hashing over the live members), one elected leader per fleet-wide role,
//! and the bucket through which the elected learner sees every instance's workloads and hands
//! every instance the fleet models it trained.

pub mod blocking;
pub mod codec;
pub mod connect;
pub mod consumer;
pub mod controls;
pub mod error;
pub mod hash;
pub mod leader;
pub mod learning;
pub mod lease;
pub mod models;
pub mod ownership;
pub mod publisher;
pub mod snapshots;
pub mod subject;

pub use blocking::BlockingPublisher;
pub use codec::{decode, encode, CodecError};
pub use connect::{Bus, BusOptions};
pub use consumer::{Delivery, PartitionConsumer};
pub use controls::GlobalControls;
pub use error::BusError;
pub use leader::{Leader, LeaderError, LeaderInfo};
pub use learning::{profile_key, row_key, FleetLearning, Stored};
pub use lease::{Fence, FenceError, Lease, LeaseValue};
pub use models::{history_key, FleetModels};
pub use ownership::{rendezvous, Holding, Ownership, OwnershipView, RoundReport};
pub use publisher::{DecisionMessage, DecisionsAcked, PublishReport, Publisher};
pub use snapshots::{snapshot_key, Snapshots};
pub use subject::{decisions_subject, partition_of, points_subject, Partitions};

#[cfg(feature = "testkit")]
pub mod testkit;

//! A KEDA external scaler: serves the predicted demand at the lead time over externalscaler.ExternalScaler gRPC.
//!
//! KEDA calls this server for every `ScaledObject` whose trigger is
//! `type: external` (or `external-push`) with `scalerAddress` pointing here. The trigger's
//! metadata says which workload and metric to serve (see [`query`]); the daemon publishes its
//! forecasts into a [`SharedPredictions`] each tick, and KEDA turns the served value into
//! `replicas = ceil(value / targetSize)`.
//!
//! This crate is async (tonic on tokio) like the daemon; [`PredictionSource`] stays synchronous so
//! the engine can fill it without knowing about gRPC.

pub mod error;
pub mod prediction;
pub mod proto;
pub mod query;
pub mod scaler;
pub mod server;

pub use error::{KedaError, LookupError, MetadataError};
pub use prediction::{Prediction, PredictionSource, SharedPredictions};
pub use query::{Quantile, ScalerQuery};
pub use scaler::{system_clock, Clock, ExternalScalerService, ScalerOptions};
pub use server::{serve, ScalerServer};

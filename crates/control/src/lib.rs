//! prescale-control: the per-workload control step of the live loop, synchronous and clock-free.
//!
//! A [`Controller`] owns one workload's aligned history, rolling forecaster (prescale-engine's
//! `RollingForecaster`, the simulator's) and policy (prescale-policy, the simulator's). Each
//! [`Controller::tick`] aligns the raw window to the decision step, decides once per completed step
//! and returns an explained [`DecisionRecord`]; stale or missing telemetry holds (never scales in).
//! With `resources` in its spec, each decision also sizes per-replica CPU and memory requests
//! ([`rightsize`]); memory from a Go or JVM heap estimate and raised at once after an OOM kill
//! ([`heap`]). [`actuate`] hands an `act`-mode decision to an actuator and records the outcome.

mod actuate;
mod align;
mod controller;
mod error;
pub mod explain;
pub mod fleet;
pub mod graph;
pub mod heap;
pub mod purchase_mix;
mod record;
mod replicas;
mod resources;
pub mod rightsize;
pub mod shadow;
pub mod slo;
mod spec;
pub mod stages;
mod tally;
pub mod warmup;

pub use actuate::actuate;
pub use align::complete_steps;
pub use controller::snapshot::{ControllerSnapshot, SnapshotError, SNAPSHOT_VERSION};
pub use controller::{Controller, OOM_KILLS_TOTAL};
pub use controller::{Current, Decided, Hold, Usage};
pub use error::{ControlError, SignalError};
pub use fleet::{Fleet, Outcome};
pub use record::{
    Actions, Actuation, DecisionRecord, ForecastSummary, Inputs, InstanceChoice, ResourceChoice,
    ResourceDecision, UsageModel,
};
pub use replicas::ReplicaSet;
pub use resources::{ResourceKind, ResourceSpec, ResourceTarget};
pub use shadow::{ShadowReport, ShadowSpec, ShadowView, Shadows};
pub use slo::{SloKind, SloObjective};
pub use spec::{Mode, WorkloadSpec};
pub use tally::{Metrics, Tally};

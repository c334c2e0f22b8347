//! prescale-replay: the replay harness. A recorded demand series drives the forecast stage and the
//! very same policy code the live loop uses, over a simulated replica set with a provisioning
//! delay, and reports cost and under-provisioning per policy against the perfect-foresight oracle
//! (and, with purchase options, dollars against buying the same replicas all on-demand; with an
//! SLO objective, the workload's latency or backlog under each policy's replicas).

pub mod config;
pub mod error;
pub mod purchase;
pub mod simulate;
pub mod slo;

pub use config::SimConfig;
pub use error::ReplayError;
pub use prescale_control::{Metrics, ReplicaSet};
pub use prescale_policy::PolicyKind;
pub use purchase::{PurchaseRun, PurchaseSim};
pub use simulate::{
    replay_history, replay_history_priced, simulate, PolicyRun, SimResult, StepTrace,
};
pub use slo::{PolicySlo, SloError, SloFigures, SloHistory, SloReport};

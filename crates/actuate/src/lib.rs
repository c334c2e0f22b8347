//! Actuators: set a workload's desired state (replicas, resources) through dry-run, webhook, exec or a local process pool.
//!
//! Every actuator implements the synchronous [`Actuator`] trait and is idempotent: a request names the
//! desired state, never a delta. [`Retrying`] wraps any actuator with exponential back-off and a circuit
//! breaker; [`KillSwitch`] stops requests globally or per workload; [`ActuatorConfig`] is the serde form used in the daemon's config file.
//!
//! Unix only: [`Exec`] and [`ProcessPool`] use process groups and signals.

mod actuator;
mod breaker;
mod config;
mod dry_run;
mod error;
mod exec;
mod kill_switch;
mod output;
mod pool_state;
mod process_pool;
mod registry;
mod retry;
mod signal;
mod signature;
mod types;
mod webhook;

pub use actuator::Actuator;
pub use breaker::{BreakerConfig, BreakerState};
pub use config::{
    ActuatorConfig, ConfigProblem, DryRunConfig, ExecConfig, KubernetesTarget, ProcessPoolConfig,
    RetryConfig, WebhookConfig,
};
pub use dry_run::{Change, DryRun, DryRunRecord};
pub use error::ActuateError;
pub use exec::{Exec, ExecOptions};
pub use kill_switch::{KillSwitch, SwitchScope, Switched};
pub use process_pool::{PoolCommand, ProcessPool, ReconcileReport};
pub use registry::{ActuatorKind, Registry};
pub use retry::{Backoff, Retrying};
pub use signature::{sign, verify_signature, SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use types::{ActuationRequest, Applied, DesiredState, OomKill, Resources};
pub use webhook::{Webhook, WebhookOptions};

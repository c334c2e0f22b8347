//! Errors that stop the daemon from starting or running.

use std::net::SocketAddr;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] prescale_store::StoreError),
    #[error("starting the agent: {0}")]
    Agent(#[from] prescale_agent::AgentError),
    #[error("remote store: {0}")]
    Remote(#[from] prescale_remote::RemoteError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("workload {workload}: its retry settings: {problems}")]
    Retry { workload: String, problems: String },
    #[error("workload {workload}: building its actuator: {source}")]
    Actuator {
        workload: String,
        source: prescale_actuate::ActuateError,
    },
    #[error(transparent)]
    Control(#[from] prescale_control::ControlError),
    #[error("cluster: {0}")]
    Cluster(#[from] prescale_bus::BusError),
    #[error("a start-up task failed: {0}")]
    Task(String),
}

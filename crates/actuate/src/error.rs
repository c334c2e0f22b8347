//! Typed actuation errors and which of them are worth retrying.

use std::time::Duration;

/// Why an actuation failed.
#[derive(Debug, thiserror::Error)]
pub enum ActuateError {
    /// The target answered and refused the request (HTTP 4xx other than 408/429). Not retryable.
    #[error("{target} rejected the request with HTTP {status}: {body}")]
    Rejected {
        target: String,
        status: u16,
        body: String,
    },
    /// The target answered with a server error (HTTP 5xx, 408, 429). Retryable.
    #[error("{target} failed with HTTP {status}: {body}")]
    ServerError {
        target: String,
        status: u16,
        body: String,
    },
    /// The target could not be reached (connection refused, reset, DNS). Retryable.
    #[error("cannot reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    /// The operation ran past its deadline (and, for commands, was killed). Retryable.
    #[error("{what} timed out after {after:?}")]
    Timeout { what: String, after: Duration },
    /// A command exited unsuccessfully or was killed by a signal.
    #[error("{program} {}: {stderr_tail}", describe_exit(*code, *signal))]
    CommandFailed {
        program: String,
        /// Exit code; `None` when killed by a signal.
        code: Option<i32>,
        signal: Option<i32>,
        /// The last lines of the command's stderr.
        stderr_tail: String,
        retryable: bool,
    },
    /// A program could not be started (not found, not executable). Not retryable.
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// A local I/O operation failed. Retryable.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The actuator cannot act on this dimension (e.g. resources on a process pool). Not retryable.
    #[error("{actuator} does not support {what}")]
    Unsupported { actuator: String, what: String },
    /// The request itself is invalid for this actuator. Not retryable.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The circuit breaker is open: the call was not attempted. Retryable later.
    #[error("circuit open for {actuator}: not trying for another {retry_after:?}")]
    CircuitOpen {
        actuator: String,
        retry_after: Duration,
    },
    /// A kill switch is engaged: the request was not attempted. Not retryable (the operator decides).
    #[error("actuation for {workload} stopped by the {scope} kill switch")]
    KillSwitch {
        workload: String,
        scope: crate::SwitchScope,
    },
    /// A process pool's state file (its record of running replicas) cannot be read or is not
    /// one. Not retryable: replicas started before a crash could be running unaccounted for.
    #[error("process-pool state file {}: {reason}", path.display())]
    PoolState {
        path: std::path::PathBuf,
        reason: String,
    },
    /// The configuration is invalid; every problem is listed with its path.
    #[error("invalid actuator config: {}", join_problems(.0))]
    Config(Vec<crate::ConfigProblem>),
}

fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exited with code {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        (None, None) => "ended abnormally".to_string(),
    }
}

fn join_problems(problems: &[crate::ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ActuateError {
    /// Whether the same request may succeed if tried again later.
    ///
    /// `CircuitOpen` is retryable in this sense (try again after `retry_after`), but [`crate::Retrying`]
    /// never loops on it.
    pub fn is_retryable(&self) -> bool {
        match self {
            ActuateError::ServerError { .. }
            | ActuateError::Unreachable { .. }
            | ActuateError::Timeout { .. }
            | ActuateError::Io { .. }
            | ActuateError::CircuitOpen { .. } => true,
            ActuateError::CommandFailed { retryable, .. } => *retryable,
            ActuateError::Rejected { .. }
            | ActuateError::Spawn { .. }
            | ActuateError::Unsupported { .. }
            | ActuateError::InvalidRequest(_)
            | ActuateError::KillSwitch { .. }
            | ActuateError::PoolState { .. }
            | ActuateError::Config(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classification() {
        let rejected = ActuateError::Rejected {
            target: "x".into(),
            status: 409,
            body: "conflict".into(),
        };
        assert!(!rejected.is_retryable());
        assert!(rejected.to_string().contains("409"));
        assert!(ActuateError::Timeout {
            what: "x".into(),
            after: Duration::from_secs(1)
        }
        .is_retryable());
        let failed = ActuateError::CommandFailed {
            program: "tf".into(),
            code: Some(75),
            signal: None,
            stderr_tail: "busy".into(),
            retryable: true,
        };
        assert!(failed.is_retryable());
        assert!(failed.to_string().contains("exited with code 75: busy"));
    }
}

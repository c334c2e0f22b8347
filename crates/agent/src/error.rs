//! Errors the agent reports: bad configuration and an unreadable /proc; vanished processes are not errors.

use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Why the agent could not be built or could not take a sample.
#[derive(Debug, Error)]
pub enum AgentError {
    #[error("interval {got:?} is out of range: the agent samples every {min:?} to {max:?} (down to 1 ms for a few processes: [agent.watch])")]
    Interval {
        got: Duration,
        min: Duration,
        max: Duration,
    },
    #[error("{field}: {reason}")]
    Config { field: String, reason: String },
    #[error("regular expression {pattern:?} in {field} is invalid: {source}")]
    Regex {
        field: String,
        pattern: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("grouping rule {index}: {reason}")]
    Rule { index: usize, reason: String },
    #[error("cannot read the process table at {path}: {source}")]
    ProcRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

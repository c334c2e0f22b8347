//! Config errors: the file could not be read or parsed, or its values failed validation (each with its path).

use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// One problem found by validation, e.g. `scrape[2].interval: "0s" must be ≥ 1s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file: `scrape[2].interval`, `store.url`, `agent`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("reading config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing config {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{} invalid in {origin}: {}", plural(problems.len()), join(problems))]
    Invalid {
        /// The file name, or `config` for text that came from elsewhere.
        origin: String,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The validation problems (empty for read and parse errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 setting".to_string()
    } else {
        format!("{n} settings")
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

//! Identifiers: workloads, metrics, labels and the key of one series.

use crate::CoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Free-form labels attached to a series (source file, VM id, unit, `synthetic=true`, ...).
pub type Labels = BTreeMap<String, String>;

fn check_name(what: &'static str, s: &str) -> Result<(), CoreError> {
    if s.trim().is_empty() {
        return Err(CoreError::Empty { what });
    }
    if s.len() > 256 {
        return Err(CoreError::Invalid {
            what,
            value: s.chars().take(40).collect(),
            reason: "longer than 256 bytes",
        });
    }
    if s.chars().any(char::is_control) {
        return Err(CoreError::Invalid {
            what,
            value: s.to_string(),
            reason: "contains control characters",
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A validated ", $what, " (non-empty, at most 256 bytes, no control characters).")]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, CoreError> {
                let s = s.into();
                check_name($what, &s)?;
                Ok($name(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = CoreError;
            fn try_from(s: String) -> Result<Self, CoreError> {
                $name::new(s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(WorkloadId, "workload id");
name_type!(MetricName, "metric name");

/// Identifies one series: a metric of a workload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    pub workload: WorkloadId,
    pub metric: MetricName,
}

impl SeriesKey {
    pub fn new(workload: WorkloadId, metric: MetricName) -> Self {
        SeriesKey { workload, metric }
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.workload, self.metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_names() {
        assert!(WorkloadId::new("").is_err());
        assert!(WorkloadId::new("a\nb").is_err());
        assert!(MetricName::new("x".repeat(300)).is_err());
        assert_eq!(WorkloadId::new("web-1").unwrap().as_str(), "web-1");
    }
}

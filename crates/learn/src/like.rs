//! What a recommendation is for: "like this workload" or "like the workloads with these labels".

use crate::LearnError;
use prescale_core::{Labels, WorkloadId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One `key=value` label matcher (exact match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelMatcher {
    pub key: String,
    pub value: String,
}

impl LabelMatcher {
    pub fn matches(&self, labels: &Labels) -> bool {
        labels.get(&self.key) == Some(&self.value)
    }
}

impl fmt::Display for LabelMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// Parses `k=v,k2=v2` (at least one matcher; keys non-empty).
pub fn parse_matchers(text: &str) -> Result<Vec<LabelMatcher>, LearnError> {
    let out = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok(LabelMatcher {
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            }),
            _ => Err(crate::error::invalid(
                "label matcher",
                p,
                "expected key=value",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if out.is_empty() {
        return Err(crate::error::invalid(
            "label matchers",
            text,
            "expected key=value[,key=value…]",
        ));
    }
    Ok(out)
}

/// The workload a recommendation is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Like {
    /// An existing workload: use its cluster (or its nearest cluster).
    Workload(WorkloadId),
    /// A workload not started yet, described by labels its siblings carry.
    Labels(Vec<LabelMatcher>),
}

impl fmt::Display for Like {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Like::Workload(w) => write!(f, "{w}"),
            Like::Labels(m) => {
                let parts: Vec<String> = m.iter().map(ToString::to_string).collect();
                write!(f, "{}", parts.join(","))
            }
        }
    }
}

impl std::str::FromStr for Like {
    type Err = LearnError;

    /// `k=v[,k=v…]` (labels its siblings carry) or, without `=`, a workload id.
    fn from_str(text: &str) -> Result<Like, LearnError> {
        if text.contains('=') {
            parse_matchers(text).map(Like::Labels)
        } else {
            WorkloadId::new(text.trim())
                .map(Like::Workload)
                .map_err(|_| {
                    crate::error::invalid(
                        "like",
                        text,
                        "expected a workload id or key=value[,key=value…]",
                    )
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let m = parse_matchers(" team=web , tier=front").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].to_string(), "tier=front");
        let mut l = Labels::new();
        l.insert("team".into(), "web".into());
        assert!(m[0].matches(&l) && !m[1].matches(&l));
        assert!(parse_matchers("=x").is_err());
        assert!(parse_matchers("novalue").is_err());
        assert!(parse_matchers(" , ").is_err());
        assert_eq!(Like::Labels(m).to_string(), "team=web,tier=front");
        assert_eq!("team=web".parse::<Like>().unwrap().to_string(), "team=web");
        assert_eq!(
            " api ".parse::<Like>().unwrap(),
            Like::Workload(WorkloadId::new("api").unwrap())
        );
        assert!("=x".parse::<Like>().is_err());
        assert!("".parse::<Like>().is_err());
    }
}

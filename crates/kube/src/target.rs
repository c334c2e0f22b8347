//! What the Kubernetes actuator scales: a Deployment or StatefulSet (and optionally one container of it).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::KubeError;

/// The kind of workload resource; both expose the `scale` subresource and a pod template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    /// The plural resource name in URLs (`deployments`, `statefulsets`).
    pub fn plural(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
        })
    }
}

impl FromStr for WorkloadKind {
    type Err = KubeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" => Ok(WorkloadKind::Deployment),
            "statefulset" | "statefulsets" | "sts" => Ok(WorkloadKind::StatefulSet),
            _ => Err(KubeError::InvalidTarget {
                input: s.to_string(),
                why: "kind must be Deployment or StatefulSet".to_string(),
            }),
        }
    }
}

/// One Kubernetes workload to act on.
///
/// `container` names the container whose resources are set; `None` means the first container of the
/// pod template (replica changes never need it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeTarget {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl KubeTarget {
    pub fn new(kind: WorkloadKind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        KubeTarget {
            kind,
            namespace: namespace.into(),
            name: name.into(),
            container: None,
        }
    }

    pub fn deployment(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(WorkloadKind::Deployment, namespace, name)
    }

    pub fn statefulset(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(WorkloadKind::StatefulSet, namespace, name)
    }

    /// The same target with its resources applied to the named container.
    pub fn with_container(mut self, container: impl Into<String>) -> Self {
        self.container = Some(container.into());
        self
    }
}

impl fmt::Display for KubeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)?;
        if let Some(c) = &self.container {
            write!(f, ":{c}")?;
        }
        Ok(())
    }
}

/// Parses `KIND/NAMESPACE/NAME[:CONTAINER]`, e.g. `deployment/shop/web:app` (the `Display` form).
impl FromStr for KubeTarget {
    type Err = KubeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| KubeError::InvalidTarget {
            input: s.to_string(),
            why: why.to_string(),
        };
        let (path, container) = match s.split_once(':') {
            Some((p, c)) if !c.is_empty() => (p, Some(c.to_string())),
            Some(_) => return Err(invalid("empty container after ':'")),
            None => (s, None),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let [kind, namespace, name] = parts.as_slice() else {
            return Err(invalid("expected KIND/NAMESPACE/NAME[:CONTAINER]"));
        };
        if namespace.is_empty() || name.is_empty() {
            return Err(invalid("namespace and name must not be empty"));
        }
        Ok(KubeTarget {
            kind: kind
                .parse()
                .map_err(|_| invalid("kind must be Deployment or StatefulSet"))?,
            namespace: namespace.to_string(),
            name: name.to_string(),
            container,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        let t: KubeTarget = "deployment/shop/web:app".parse().unwrap();
        assert_eq!(
            t,
            KubeTarget::deployment("shop", "web").with_container("app")
        );
        assert_eq!(t.to_string().parse::<KubeTarget>().unwrap(), t);
        let s: KubeTarget = "sts/db/pg".parse().unwrap();
        assert_eq!(s.kind, WorkloadKind::StatefulSet);
        assert_eq!(s.container, None);
    }

    #[test]
    fn rejects_malformed_targets() {
        for bad in [
            "",
            "deployment/web",
            "job/ns/x",
            "deployment//x",
            "deployment/ns/x:",
            "a/b/c/d",
        ] {
            assert!(
                bad.parse::<KubeTarget>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}

//! The desired state of a workload (replicas, per-replica resources, instance type): what a
//! control step decides and every actuator is asked to set.

use crate::WorkloadId;
use serde::{Deserialize, Serialize};

/// CPU and memory for one replica. `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_millis: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

/// The state a workload should be in. `None` means "leave this dimension alone".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    pub workload: WorkloadId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
}

impl DesiredState {
    /// A state that only sets the replica count.
    pub fn replicas(workload: WorkloadId, replicas: u32) -> Self {
        DesiredState {
            workload,
            replicas: Some(replicas),
            resources: None,
            instance_type: None,
        }
    }

    /// A state that leaves everything alone (useful as a starting point).
    pub fn unchanged(workload: WorkloadId) -> Self {
        DesiredState {
            workload,
            replicas: None,
            resources: None,
            instance_type: None,
        }
    }

    /// `self` with every dimension `other` sets overriding it (`other`'s workload wins).
    pub fn merged_with(&self, other: &DesiredState) -> DesiredState {
        let resources = match (&self.resources, &other.resources) {
            (Some(a), Some(b)) => Some(Resources {
                cpu_millis: b.cpu_millis.or(a.cpu_millis),
                memory_bytes: b.memory_bytes.or(a.memory_bytes),
            }),
            (a, b) => b.clone().or_else(|| a.clone()),
        };
        DesiredState {
            workload: other.workload.clone(),
            replicas: other.replicas.or(self.replicas),
            resources,
            instance_type: other
                .instance_type
                .clone()
                .or_else(|| self.instance_type.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> WorkloadId {
        WorkloadId::new("web").unwrap()
    }

    #[test]
    fn merge_keeps_unset_dimensions() {
        let mut base = DesiredState::replicas(w(), 3);
        base.resources = Some(Resources {
            cpu_millis: Some(500),
            memory_bytes: Some(1 << 30),
        });
        let mut next = DesiredState::unchanged(w());
        next.resources = Some(Resources {
            cpu_millis: Some(750),
            memory_bytes: None,
        });
        let m = base.merged_with(&next);
        assert_eq!(m.replicas, Some(3));
        assert_eq!(
            m.resources,
            Some(Resources {
                cpu_millis: Some(750),
                memory_bytes: Some(1 << 30)
            })
        );
    }
}

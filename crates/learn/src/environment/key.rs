//! The environment a workload runs in, read once from its series' labels and normalised: an
//! instance type (a cloud provider's name for a machine), a node class (a pool of like nodes), or
//! the host facts the agent records on `environment_info` (CPU model, logical CPUs, memory).

use super::EnvironmentError;
use prescale_core::Labels;
use prescale_policy::instances::{InstanceCatalogue, InstanceType};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Labels naming an instance type, most specific first: a plain label, Kubernetes'
/// `node.kubernetes.io/instance-type` as written on a node and as Prometheus and kube-state-metrics
/// spell it, and the older beta label.
pub const INSTANCE_TYPE_LABELS: [&str; 6] = [
    "instance_type",
    "node.kubernetes.io/instance-type",
    "node_kubernetes_io_instance_type",
    "label_node_kubernetes_io_instance_type",
    "beta.kubernetes.io/instance-type",
    "beta_kubernetes_io_instance_type",
];

/// Labels naming a node class (a pool of like nodes) when no instance type is named.
pub const NODE_CLASS_LABELS: [&str; 4] = [
    "node_class",
    "node_pool",
    "karpenter.sh/nodepool",
    "label_karpenter_sh_nodepool",
];

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Where a workload runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnvironmentKey {
    /// A named machine type, lower-cased (`c6i.large`).
    InstanceType { name: String },
    /// A named pool of like nodes.
    NodeClass { name: String },
    /// The agent's host facts: CPU model (spaces collapsed), logical CPUs and memory in whole GiB.
    Host {
        cpu_model: String,
        cpus: u32,
        memory_gib: u32,
    },
}

impl fmt::Display for EnvironmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvironmentKey::InstanceType { name } => write!(f, "instance type {name}"),
            EnvironmentKey::NodeClass { name } => write!(f, "node class {name}"),
            EnvironmentKey::Host {
                cpu_model,
                cpus,
                memory_gib,
            } => write!(f, "host {cpu_model}, {cpus} CPUs, {memory_gib} GiB"),
        }
    }
}

impl EnvironmentKey {
    /// The key one series' labels give: an instance type label first, then a node class label,
    /// then the agent's host facts (`cpu_model`, `cpu_logical`, `memory_bytes`, all three needed).
    /// `Ok(None)` when the labels name no environment; a label that names one with an unusable
    /// value is an error naming it.
    pub fn from_labels(labels: &Labels) -> Result<Option<EnvironmentKey>, EnvironmentError> {
        if let Some(name) = named(labels, &INSTANCE_TYPE_LABELS)? {
            return Ok(Some(EnvironmentKey::InstanceType { name }));
        }
        if let Some(name) = named(labels, &NODE_CLASS_LABELS)? {
            return Ok(Some(EnvironmentKey::NodeClass { name }));
        }
        let (Some(model), Some(cpus), Some(memory)) = (
            labels.get("cpu_model"),
            labels.get("cpu_logical"),
            labels.get("memory_bytes"),
        ) else {
            return Ok(None);
        };
        let bad = |label: &str, value: &str, reason| EnvironmentError::BadLabel {
            label: label.to_string(),
            value: value.to_string(),
            reason,
        };
        let cpu_model = model.split_whitespace().collect::<Vec<_>>().join(" ");
        if cpu_model.is_empty() {
            return Err(bad("cpu_model", model, "is empty"));
        }
        let cpus = cpus
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad("cpu_logical", cpus, "is not a whole number above 0"))?;
        let bytes = memory
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|b| *b > 0)
            .ok_or_else(|| bad("memory_bytes", memory, "is not a whole number above 0"))?;
        // MemTotal is a little under the nominal size (the kernel keeps some): round to the nearest GiB.
        let memory_gib = ((bytes as f64 / GIB).round() as u32).max(1);
        Ok(Some(EnvironmentKey::Host {
            cpu_model,
            cpus,
            memory_gib,
        }))
    }

    /// The catalogue's type this key names (an instance type key whose name is in the catalogue,
    /// compared without case).
    pub fn catalogue_type<'a>(&self, catalogue: &'a InstanceCatalogue) -> Option<&'a InstanceType> {
        let EnvironmentKey::InstanceType { name } = self else {
            return None;
        };
        catalogue
            .instances
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }
}

/// The first of `keys` present in `labels`, trimmed and lower-cased; an empty value is an error.
fn named(labels: &Labels, keys: &[&str]) -> Result<Option<String>, EnvironmentError> {
    let Some((label, value)) = keys.iter().find_map(|k| labels.get(*k).map(|v| (*k, v))) else {
        return Ok(None);
    };
    let name = value.trim().to_ascii_lowercase();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(EnvironmentError::BadLabel {
            label: label.to_string(),
            value: value.clone(),
            reason: "must be one word",
        });
    }
    Ok(Some(name))
}

/// One workload's environment from all its series' labels (`(series name, labels)` pairs): the
/// most specific kind any series gives (instance type, then node class, then host). Two series
/// naming different environments of that kind are a conflict, named with both series.
pub fn workload_environment<'a>(
    series: impl IntoIterator<Item = (String, &'a Labels)>,
) -> Result<Option<EnvironmentKey>, EnvironmentError> {
    let mut found: Option<(String, EnvironmentKey)> = None;
    for (name, labels) in series {
        let Some(key) = EnvironmentKey::from_labels(labels)? else {
            continue;
        };
        found = match found {
            None => Some((name, key)),
            Some((first, have)) => {
                let rank = |k: &EnvironmentKey| match k {
                    EnvironmentKey::InstanceType { .. } => 0,
                    EnvironmentKey::NodeClass { .. } => 1,
                    EnvironmentKey::Host { .. } => 2,
                };
                match rank(&key).cmp(&rank(&have)) {
                    std::cmp::Ordering::Less => Some((name, key)),
                    std::cmp::Ordering::Greater => Some((first, have)),
                    std::cmp::Ordering::Equal if key == have => Some((first, have)),
                    std::cmp::Ordering::Equal => {
                        return Err(EnvironmentError::Conflicting {
                            first_series: first,
                            first: have.to_string(),
                            second_series: name,
                            second: key.to_string(),
                        })
                    }
                }
            }
        };
    }
    Ok(found.map(|(_, k)| k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn instance_type_then_node_class_then_host() {
        let host = [
            ("cpu_model", "Intel(R)  Xeon(R) Platinum 8375C "),
            ("cpu_logical", "4"),
            ("memory_bytes", "16312532992"),
        ];
        let k = EnvironmentKey::from_labels(&labels(&host))
            .unwrap()
            .unwrap();
        assert_eq!(
            k,
            EnvironmentKey::Host {
                cpu_model: "Intel(R) Xeon(R) Platinum 8375C".into(),
                cpus: 4,
                memory_gib: 15,
            }
        );
        let mut with_class = host.to_vec();
        with_class.push(("node_pool", "HighCPU"));
        assert_eq!(
            EnvironmentKey::from_labels(&labels(&with_class)).unwrap(),
            Some(EnvironmentKey::NodeClass {
                name: "highcpu".into()
            })
        );
        with_class.push(("label_node_kubernetes_io_instance_type", " C6i.Large"));
        let k = EnvironmentKey::from_labels(&labels(&with_class))
            .unwrap()
            .unwrap();
        assert_eq!(
            k,
            EnvironmentKey::InstanceType {
                name: "c6i.large".into()
            }
        );
        let cat = InstanceCatalogue::builtin();
        assert_eq!(k.catalogue_type(&cat).unwrap().name, "c6i.large");
        let other = EnvironmentKey::InstanceType {
            name: "x9.huge".into(),
        };
        assert!(other.catalogue_type(&cat).is_none());
        assert_eq!(EnvironmentKey::from_labels(&labels(&[])).unwrap(), None);
    }

    #[test]
    fn unusable_values_are_named() {
        let e = EnvironmentKey::from_labels(&labels(&[("instance_type", "  ")])).unwrap_err();
        assert!(e.to_string().contains("instance_type"), "{e}");
        let e = EnvironmentKey::from_labels(&labels(&[
            ("cpu_model", "EPYC"),
            ("cpu_logical", "zero"),
            ("memory_bytes", "1"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("cpu_logical=\"zero\""), "{e}");
        let e = EnvironmentKey::from_labels(&labels(&[
            ("cpu_model", "EPYC"),
            ("cpu_logical", "2"),
            ("memory_bytes", "-5"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("memory_bytes"), "{e}");
    }

    #[test]
    fn a_workload_takes_its_most_specific_key_and_conflicts_are_named() {
        let host = labels(&[
            ("cpu_model", "EPYC 7R13"),
            ("cpu_logical", "2"),
            ("memory_bytes", "4294967296"),
        ]);
        let typed = labels(&[("instance_type", "c6a.large")]);
        let k = workload_environment([
            ("w/environment_info".to_string(), &host),
            ("w/requests".to_string(), &typed),
        ])
        .unwrap();
        assert_eq!(
            k,
            Some(EnvironmentKey::InstanceType {
                name: "c6a.large".into()
            })
        );
        let other = labels(&[("instance_type", "m6a.large")]);
        let e = workload_environment([
            ("w/requests".to_string(), &typed),
            ("w/cpu".to_string(), &other),
        ])
        .unwrap_err();
        assert!(
            e.to_string().contains("w/requests") && e.to_string().contains("m6a.large"),
            "{e}"
        );
    }
}

//! OOM kills seen in pod status: a container whose `lastState.terminated.reason` is `OOMKilled`
//! and whose `restartCount` is new since the previous listing of the workload's pods.
//!
//! [`container_restarts`] reads one listing (the target's container, or the pod's first);
//! [`OomTracker`] turns successive listings into new kills: the first listing is the base (a
//! kill already in it is not new), a pod first seen later counts its OOMKilled `lastState` as
//! new, and a `lastState` seen again with the same `restartCount` is never counted twice.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::Client;
use prescale_actuate::OomKill;
use prescale_core::Timestamp;

use crate::error::KubeError;
use crate::resize::selector;
use crate::target::KubeTarget;
use crate::template::read_template;

/// The reason Kubernetes gives a container killed by the kernel's OOM killer.
pub const OOM_KILLED: &str = "OOMKilled";

/// One container's restart state in a pod listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRestart {
    /// `metadata.uid` (the pod's name when the API gave no uid): a recreated pod is another pod.
    pub pod_uid: String,
    /// `namespace/name`.
    pub pod: String,
    pub container: String,
    pub restart_count: u32,
    /// Whether `lastState.terminated.reason` is `OOMKilled`.
    pub oom_killed: bool,
    /// `lastState.terminated.finishedAt`, when given.
    pub finished_at: Option<Timestamp>,
}

/// The restart state of `container` (or, `None`, each pod's first container) in `pods`; pods
/// without a status for it are left out.
pub fn container_restarts(pods: &[Pod], container: Option<&str>) -> Vec<ContainerRestart> {
    let mut out = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let wanted = container.map(str::to_string).or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.containers.first())
                .map(|c| c.name.clone())
        });
        let Some(wanted) = wanted else {
            continue;
        };
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        let Some(status) = statuses.iter().find(|c| c.name == wanted) else {
            continue;
        };
        let terminated = status
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref());
        out.push(ContainerRestart {
            pod_uid: pod.metadata.uid.clone().unwrap_or_else(|| name.clone()),
            pod: format!("{ns}/{name}"),
            container: wanted,
            restart_count: u32::try_from(status.restart_count.max(0)).unwrap_or(0),
            oom_killed: terminated.is_some_and(|t| t.reason.as_deref() == Some(OOM_KILLED)),
            finished_at: terminated
                .and_then(|t| t.finished_at.as_ref())
                .map(|t| Timestamp(t.0.as_millisecond())),
        });
    }
    out
}

/// Reads the target's pod template (its selector and sized container) and lists its pods' restart
/// state for that container. An empty selector lists nothing (it would match every pod).
pub async fn list_restarts(
    client: &Client,
    target: &KubeTarget,
) -> Result<Vec<ContainerRestart>, KubeError> {
    let view = read_template(client, target).await?;
    if view.match_labels.is_empty() {
        return Ok(Vec::new());
    }
    let pods = Api::<Pod>::namespaced(client.clone(), &target.namespace)
        .list(&ListParams::default().labels(&selector(&view.match_labels)))
        .await
        .map_err(|e| KubeError::from_kube(format!("list pods of {target}"), e))?;
    Ok(container_restarts(
        &pods.items,
        Some(&view.resources.container),
    ))
}

/// The restart counts of one workload's containers as last listed.
#[derive(Debug, Clone, Default)]
pub struct OomTracker {
    /// `None` before the first listing.
    seen: Option<HashMap<(String, String), u32>>,
}

impl OomTracker {
    /// Takes a listing; returns the OOM kills new since the previous one.
    pub fn update(&mut self, listing: &[ContainerRestart]) -> Vec<OomKill> {
        let before = self.seen.take();
        let mut kills = Vec::new();
        let mut now = HashMap::with_capacity(listing.len());
        for r in listing {
            let key = (r.pod_uid.clone(), r.container.clone());
            let new_restart = match before.as_ref() {
                None => false,
                Some(b) => match b.get(&key) {
                    Some(prev) => r.restart_count > *prev,
                    None => r.restart_count > 0,
                },
            };
            if new_restart && r.oom_killed {
                kills.push(OomKill {
                    pod: r.pod.clone(),
                    container: r.container.clone(),
                    restart_count: r.restart_count,
                    finished_at: r.finished_at,
                });
            }
            now.insert(key, r.restart_count);
        }
        self.seen = Some(now);
        kills
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restart(uid: &str, count: u32, oom: bool) -> ContainerRestart {
        ContainerRestart {
            pod_uid: uid.into(),
            pod: format!("shop/{uid}"),
            container: "app".into(),
            restart_count: count,
            oom_killed: oom,
            finished_at: Some(Timestamp(1_000)),
        }
    }

    #[test]
    fn only_new_oom_restarts_are_kills() {
        let mut t = OomTracker::default();
        assert!(t.update(&[restart("a", 2, true)]).is_empty(), "the base");
        assert!(t.update(&[restart("a", 2, true)]).is_empty(), "seen again");
        let k = t.update(&[restart("a", 3, true)]);
        assert_eq!((k.len(), k[0].restart_count), (1, 3));
        assert!(t.update(&[restart("a", 4, false)]).is_empty(), "not OOM");
        // A pod first seen after the base: its OOMKilled lastState is new.
        let k = t.update(&[restart("a", 4, false), restart("b", 1, true)]);
        assert_eq!(k[0].pod, "shop/b");
        // A new pod that never restarted has no kill to report.
        assert!(t.update(&[restart("c", 0, true)]).is_empty());
    }
}

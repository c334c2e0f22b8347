//! In-place resize of running pods through the `pods/{name}/resize` subresource (Kubernetes 1.33+).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::json;

use crate::error::KubeError;
use crate::options::LimitsPolicy;
use crate::target::KubeTarget;
use crate::template::{container_resources, resources_match, resources_patch};
use prescale_actuate::Resources;

/// How many running pods were resized and how many already matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResizeReport {
    pub resized: usize,
    pub already: usize,
}

pub(crate) fn selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Lists the pods matching `match_labels` and patches each one whose `container` differs from `desired`.
///
/// An empty selector resizes nothing (it would match every pod in the namespace).
pub async fn resize_pods(
    client: &Client,
    target: &KubeTarget,
    container: &str,
    match_labels: &BTreeMap<String, String>,
    desired: &Resources,
    limits: LimitsPolicy,
    field_manager: &str,
) -> Result<ResizeReport, KubeError> {
    let mut report = ResizeReport::default();
    if match_labels.is_empty() {
        return Ok(report);
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), &target.namespace);
    let list = pods
        .list(&ListParams::default().labels(&selector(match_labels)))
        .await
        .map_err(|e| KubeError::from_kube(format!("list pods of {target}"), e))?;
    let pp = PatchParams {
        field_manager: Some(field_manager.to_string()),
        ..PatchParams::default()
    };
    let body = json!({
        "spec": { "containers": [ { "name": container, "resources": resources_patch(desired, limits) } ] }
    });
    for pod in list.items {
        let Some(name) = pod.metadata.name.clone() else {
            continue;
        };
        let current = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.iter().find(|c| c.name == container))
            .map(container_resources)
            .transpose()?;
        match current {
            None => continue,
            Some(c) if resources_match(&c, desired, limits) => report.already += 1,
            Some(_) => {
                pods.patch_resize(&name, &pp, &Patch::Strategic(&body))
                    .await
                    .map_err(|e| {
                        KubeError::from_kube(format!("resize pod {}/{name}", target.namespace), e)
                    })?;
                report.resized += 1;
            }
        }
    }
    Ok(report)
}

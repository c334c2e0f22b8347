//! CPU/memory of a pod template's container: read from the workload, set with a strategic-merge patch.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Map, Value};

use crate::error::KubeError;
use crate::options::LimitsPolicy;
use crate::quantity::{
    format_cpu_millis, format_memory_bytes, parse_cpu_millis, parse_memory_bytes,
};
use crate::target::{KubeTarget, WorkloadKind};
use prescale_actuate::Resources;

/// Requests and limits of one container, in prescale's units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerResources {
    pub container: String,
    pub requests: Resources,
    pub limits: Resources,
}

/// What was read from a workload: its pod template's chosen container and the pod selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateView {
    pub resource_version: Option<String>,
    pub resources: ContainerResources,
    /// `spec.selector.matchLabels` (used to find running pods for in-place resize).
    pub match_labels: BTreeMap<String, String>,
}

fn resources_of(map: Option<&BTreeMap<String, Quantity>>) -> Result<Resources, KubeError> {
    let Some(map) = map else {
        return Ok(Resources::default());
    };
    Ok(Resources {
        cpu_millis: map.get("cpu").map(|q| parse_cpu_millis(&q.0)).transpose()?,
        memory_bytes: map
            .get("memory")
            .map(|q| parse_memory_bytes(&q.0))
            .transpose()?,
    })
}

/// Picks the named container, or the first one when no name is given.
pub(crate) fn pick_container<'a>(
    containers: &'a [Container],
    target: &KubeTarget,
) -> Result<&'a Container, KubeError> {
    let found = match &target.container {
        Some(name) => containers.iter().find(|c| &c.name == name),
        None => containers.first(),
    };
    found.ok_or_else(|| KubeError::ContainerNotFound {
        target: target.to_string(),
        container: target
            .container
            .clone()
            .unwrap_or_else(|| "<first>".to_string()),
    })
}

pub(crate) fn container_resources(container: &Container) -> Result<ContainerResources, KubeError> {
    let req = container.resources.as_ref();
    Ok(ContainerResources {
        container: container.name.clone(),
        requests: resources_of(req.and_then(|r| r.requests.as_ref()))?,
        limits: resources_of(req.and_then(|r| r.limits.as_ref()))?,
    })
}

fn view(
    target: &KubeTarget,
    resource_version: Option<String>,
    template: Option<&PodTemplateSpec>,
    match_labels: Option<BTreeMap<String, String>>,
) -> Result<TemplateView, KubeError> {
    let containers = template
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    let container = pick_container(containers, target)?;
    Ok(TemplateView {
        resource_version,
        resources: container_resources(container)?,
        match_labels: match_labels.unwrap_or_default(),
    })
}

/// `GET` the Deployment/StatefulSet and extract the chosen container's resources.
pub async fn read_template(
    client: &Client,
    target: &KubeTarget,
) -> Result<TemplateView, KubeError> {
    let op = || format!("get {target}");
    match target.kind {
        WorkloadKind::Deployment => {
            let d = Api::<Deployment>::namespaced(client.clone(), &target.namespace)
                .get(&target.name)
                .await
                .map_err(|e| KubeError::from_kube(op(), e))?;
            let spec = d.spec.as_ref();
            view(
                target,
                d.metadata.resource_version.clone(),
                spec.map(|s| &s.template),
                spec.and_then(|s| s.selector.match_labels.clone()),
            )
        }
        WorkloadKind::StatefulSet => {
            let s = Api::<StatefulSet>::namespaced(client.clone(), &target.namespace)
                .get(&target.name)
                .await
                .map_err(|e| KubeError::from_kube(op(), e))?;
            let spec = s.spec.as_ref();
            view(
                target,
                s.metadata.resource_version.clone(),
                spec.map(|s| &s.template),
                spec.and_then(|s| s.selector.match_labels.clone()),
            )
        }
    }
}

/// The values `desired` sets, as a Kubernetes resource map (`{"cpu":"500m","memory":"256Mi"}`).
fn quantity_map(desired: &Resources) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(c) = desired.cpu_millis {
        m.insert("cpu".into(), Value::String(format_cpu_millis(c)));
    }
    if let Some(b) = desired.memory_bytes {
        m.insert("memory".into(), Value::String(format_memory_bytes(b)));
    }
    m
}

/// Whether `current` already has every value `desired` sets.
fn satisfies(current: &Resources, desired: &Resources) -> bool {
    desired
        .cpu_millis
        .is_none_or(|c| current.cpu_millis == Some(c))
        && desired
            .memory_bytes
            .is_none_or(|b| current.memory_bytes == Some(b))
}

/// Whether the container already matches `desired` under the limits policy.
pub fn resources_match(
    current: &ContainerResources,
    desired: &Resources,
    limits: LimitsPolicy,
) -> bool {
    satisfies(&current.requests, desired)
        && match limits {
            LimitsPolicy::Unchanged => true,
            LimitsPolicy::MatchRequests => satisfies(&current.limits, desired),
        }
}

/// The `resources` object to patch into a container.
pub fn resources_patch(desired: &Resources, limits: LimitsPolicy) -> Value {
    let q = quantity_map(desired);
    match limits {
        LimitsPolicy::Unchanged => json!({ "requests": q }),
        LimitsPolicy::MatchRequests => json!({ "requests": q.clone(), "limits": q }),
    }
}

/// Strategic-merge `PATCH` of `spec.template.spec.containers[name=container].resources`, preconditioned on
/// `resource_version` when given. Containers merge by name, so other containers and fields are kept.
pub async fn patch_template(
    client: &Client,
    target: &KubeTarget,
    container: &str,
    desired: &Resources,
    limits: LimitsPolicy,
    resource_version: Option<&str>,
    field_manager: &str,
) -> Result<(), KubeError> {
    let op = || format!("patch pod template of {target}");
    let mut body = json!({
        "spec": { "template": { "spec": { "containers": [
            { "name": container, "resources": resources_patch(desired, limits) }
        ] } } }
    });
    if let Some(rv) = resource_version {
        body["metadata"] = json!({ "resourceVersion": rv });
    }
    let pp = PatchParams {
        field_manager: Some(field_manager.to_string()),
        ..PatchParams::default()
    };
    let patch = Patch::Strategic(&body);
    match target.kind {
        WorkloadKind::Deployment => {
            Api::<Deployment>::namespaced(client.clone(), &target.namespace)
                .patch(&target.name, &pp, &patch)
                .await
                .map(drop)
        }
        WorkloadKind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), &target.namespace)
                .patch(&target.name, &pp, &patch)
                .await
                .map(drop)
        }
    }
    .map_err(|e| KubeError::from_kube(op(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(cpu: Option<u64>, mem: Option<u64>) -> Resources {
        Resources {
            cpu_millis: cpu,
            memory_bytes: mem,
        }
    }

    #[test]
    fn match_respects_unset_dimensions_and_limits_policy() {
        let current = ContainerResources {
            container: "app".into(),
            requests: res(Some(500), Some(1 << 30)),
            limits: res(None, None),
        };
        assert!(resources_match(
            &current,
            &res(Some(500), None),
            LimitsPolicy::Unchanged
        ));
        assert!(!resources_match(
            &current,
            &res(Some(600), None),
            LimitsPolicy::Unchanged
        ));
        assert!(!resources_match(
            &current,
            &res(Some(500), None),
            LimitsPolicy::MatchRequests
        ));
    }

    #[test]
    fn patch_body_uses_kubernetes_quantities() {
        let p = resources_patch(
            &res(Some(1500), Some(256 << 20)),
            LimitsPolicy::MatchRequests,
        );
        assert_eq!(p["requests"]["cpu"], "1500m");
        assert_eq!(p["limits"]["memory"], "256Mi");
        let p = resources_patch(&res(Some(2000), None), LimitsPolicy::Unchanged);
        assert_eq!(p, json!({"requests": {"cpu": "2"}}));
    }
}

//! Replicas through the `scale` subresource: `GET`/`PATCH …/{deployments|statefulsets}/{name}/scale`.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v1::Scale;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde_json::json;

use crate::error::KubeError;
use crate::target::{KubeTarget, WorkloadKind};

/// The scale subresource as read: the desired replica count and the resourceVersion it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleView {
    pub replicas: u32,
    pub resource_version: Option<String>,
}

impl ScaleView {
    fn from_scale(scale: Scale) -> Self {
        let replicas = scale
            .spec
            .and_then(|s| s.replicas)
            .map_or(0, |r| u32::try_from(r).unwrap_or(0));
        ScaleView {
            replicas,
            resource_version: scale.metadata.resource_version,
        }
    }
}

/// `GET …/scale`.
pub async fn read_scale(client: &Client, target: &KubeTarget) -> Result<ScaleView, KubeError> {
    let op = || format!("get scale of {target}");
    let scale = match target.kind {
        WorkloadKind::Deployment => {
            Api::<Deployment>::namespaced(client.clone(), &target.namespace)
                .get_scale(&target.name)
                .await
        }
        WorkloadKind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), &target.namespace)
                .get_scale(&target.name)
                .await
        }
    }
    .map_err(|e| KubeError::from_kube(op(), e))?;
    Ok(ScaleView::from_scale(scale))
}

/// `PATCH …/scale` with a JSON merge patch `{"spec":{"replicas":N}}`, preconditioned on `resource_version`
/// when given (a concurrent writer then makes the API answer 409 Conflict).
pub async fn patch_scale(
    client: &Client,
    target: &KubeTarget,
    replicas: u32,
    resource_version: Option<&str>,
    field_manager: &str,
) -> Result<ScaleView, KubeError> {
    let op = || format!("patch scale of {target}");
    let replicas = i32::try_from(replicas).map_err(|_| {
        KubeError::OutOfRange(format!("{target}: {replicas} replicas exceeds i32::MAX"))
    })?;
    let mut body = json!({ "spec": { "replicas": replicas } });
    if let Some(rv) = resource_version {
        body["metadata"] = json!({ "resourceVersion": rv });
    }
    let pp = PatchParams {
        field_manager: Some(field_manager.to_string()),
        ..PatchParams::default()
    };
    let patch = Patch::Merge(&body);
    let scale = match target.kind {
        WorkloadKind::Deployment => {
            Api::<Deployment>::namespaced(client.clone(), &target.namespace)
                .patch_scale(&target.name, &pp, &patch)
                .await
        }
        WorkloadKind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), &target.namespace)
                .patch_scale(&target.name, &pp, &patch)
                .await
        }
    }
    .map_err(|e| KubeError::from_kube(op(), e))?;
    Ok(ScaleView::from_scale(scale))
}

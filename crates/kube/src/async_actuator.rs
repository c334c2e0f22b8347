//! The async Kubernetes actuator: idempotent replicas and resources for registered workloads.

use std::collections::HashMap;
use std::future::Future;

use kube::Client;
use prescale_actuate::{ActuationRequest, Applied, DesiredState, Resources};
use prescale_core::WorkloadId;

use crate::error::KubeError;
use crate::hpa::{HpaGuard, HpaRef};
use crate::options::KubeOptions;
use crate::quantity::{format_cpu_millis, format_memory_bytes};
use crate::resize::{resize_pods, ResizeReport};
use crate::scale::{patch_scale, read_scale};
use crate::target::KubeTarget;
use crate::template::{patch_template, read_template, resources_match, ContainerResources};

/// The outcome of setting one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<T> {
    pub from: T,
    pub to: T,
    /// `false` when the object already had the value (no PATCH was sent).
    pub changed: bool,
}

/// The outcome of setting resources: the pod-template change and, when enabled, the in-place resizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcesChange {
    pub template: Change<ContainerResources>,
    pub resize: Option<ResizeReport>,
}

/// Runs `attempt` and, on 409 Conflict, once more (each attempt re-reads the object first).
async fn with_one_conflict_retry<T, F, Fut>(mut attempt: F) -> Result<T, KubeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, KubeError>>,
{
    match attempt().await {
        Err(e) if e.is_conflict() => {
            tracing::debug!(error = %e, "conflict; re-reading and retrying once");
            attempt().await
        }
        other => other,
    }
}

/// Sets replicas and CPU/memory on Deployments and StatefulSets through the Kubernetes API.
///
/// Every operation reads first and patches only what differs; patches carry the `resourceVersion` just
/// read, so a concurrent writer makes the API answer 409, after which the object is re-read and the patch
/// retried once. A second conflict is returned (retryable).
///
/// [`apply`](Self::apply) first makes sure no HorizontalPodAutoscaler scales the target (see
/// [`HpaGuard`]) and refuses with [`KubeError::HpaConflict`] when one does; the low-level setters
/// ([`set_replicas`](Self::set_replicas), [`set_resources`](Self::set_resources)) do not check.
#[derive(Clone)]
pub struct AsyncKubeActuator {
    client: Client,
    options: KubeOptions,
    targets: HashMap<WorkloadId, KubeTarget>,
    hpa: HpaGuard,
}

impl AsyncKubeActuator {
    /// An actuator using `client` (build it from `options.configure(config)`).
    pub fn new(client: Client, options: KubeOptions) -> Self {
        AsyncKubeActuator {
            client,
            hpa: HpaGuard::new(options.hpa_cache),
            options,
            targets: HashMap::new(),
        }
    }

    /// Connects with `config` (after [`KubeOptions::configure`]). Must run inside a tokio runtime.
    pub fn connect(config: kube::Config, options: KubeOptions) -> Result<Self, KubeError> {
        let client = Client::try_from(options.configure(config))
            .map_err(|e| KubeError::from_kube("build client", e))?;
        Ok(Self::new(client, options))
    }

    /// Maps a prescale workload to the Kubernetes object it scales; returns the previous target.
    pub fn register(&mut self, workload: WorkloadId, target: KubeTarget) -> Option<KubeTarget> {
        self.targets.insert(workload, target)
    }

    /// The target registered for `workload`.
    pub fn target(&self, workload: &WorkloadId) -> Option<&KubeTarget> {
        self.targets.get(workload)
    }

    pub fn options(&self) -> &KubeOptions {
        &self.options
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The HorizontalPodAutoscaler guard [`apply`](Self::apply) consults (shared by clones).
    pub fn hpa_guard(&self) -> &HpaGuard {
        &self.hpa
    }

    /// The HorizontalPodAutoscaler that scales `target`, if one does (from the guard's cache while fresh).
    pub async fn hpa_conflict(&self, target: &KubeTarget) -> Result<Option<HpaRef>, KubeError> {
        self.hpa.conflict(&self.client, target).await
    }

    /// The desired replica count in `spec.replicas` of the scale subresource.
    pub async fn replicas(&self, target: &KubeTarget) -> Result<u32, KubeError> {
        Ok(read_scale(&self.client, target).await?.replicas)
    }

    /// Sets the replica count through the scale subresource; no PATCH when it already has it.
    pub async fn set_replicas(
        &self,
        target: &KubeTarget,
        replicas: u32,
    ) -> Result<Change<u32>, KubeError> {
        with_one_conflict_retry(|| async move {
            let current = read_scale(&self.client, target).await?;
            if current.replicas == replicas {
                return Ok(Change {
                    from: current.replicas,
                    to: replicas,
                    changed: false,
                });
            }
            patch_scale(
                &self.client,
                target,
                replicas,
                current.resource_version.as_deref(),
                &self.options.field_manager,
            )
            .await?;
            Ok(Change {
                from: current.replicas,
                to: replicas,
                changed: true,
            })
        })
        .await
    }

    /// The pod template's requests and limits for the target's container.
    pub async fn resources(&self, target: &KubeTarget) -> Result<ContainerResources, KubeError> {
        Ok(read_template(&self.client, target).await?.resources)
    }

    /// Sets the container's requests (and limits per [`KubeOptions::limits`]) in the pod template, then, when
    /// [`KubeOptions::in_place_resize`] is on, resizes running pods. `None` fields are left alone.
    pub async fn set_resources(
        &self,
        target: &KubeTarget,
        desired: &Resources,
    ) -> Result<ResourcesChange, KubeError> {
        let limits = self.options.limits;
        let (template, view) = with_one_conflict_retry(|| async move {
            let view = read_template(&self.client, target).await?;
            let from = view.resources.clone();
            if resources_match(&from, desired, limits) {
                let change = Change {
                    to: from.clone(),
                    from,
                    changed: false,
                };
                return Ok((change, view));
            }
            patch_template(
                &self.client,
                target,
                &from.container,
                desired,
                limits,
                view.resource_version.as_deref(),
                &self.options.field_manager,
            )
            .await?;
            let mut to = from.clone();
            merge_into(&mut to.requests, desired);
            if limits == crate::options::LimitsPolicy::MatchRequests {
                merge_into(&mut to.limits, desired);
            }
            Ok((
                Change {
                    from,
                    to,
                    changed: true,
                },
                view,
            ))
        })
        .await?;
        let resize = if self.options.in_place_resize {
            Some(
                resize_pods(
                    &self.client,
                    target,
                    &template.from.container,
                    &view.match_labels,
                    desired,
                    limits,
                    &self.options.field_manager,
                )
                .await?,
            )
        } else {
            None
        };
        Ok(ResourcesChange { template, resize })
    }

    /// The restart state of the target's sized container in each of its pods (see
    /// [`crate::OomTracker`] for turning listings into new OOM kills).
    pub async fn container_restarts(
        &self,
        target: &KubeTarget,
    ) -> Result<Vec<crate::ContainerRestart>, KubeError> {
        crate::pod_oom::list_restarts(&self.client, target).await
    }

    fn lookup(&self, workload: &WorkloadId) -> Result<&KubeTarget, KubeError> {
        self.targets
            .get(workload)
            .ok_or_else(|| KubeError::UnknownWorkload(workload.to_string()))
    }

    /// Drives the registered target toward `req.desired` (replicas first, then resources).
    ///
    /// Refused with [`KubeError::HpaConflict`] (nothing read or written) when a HorizontalPodAutoscaler
    /// scales the target. `instance_type` cannot be set through these objects; it is ignored and said
    /// so in the detail.
    pub async fn apply(&self, req: &ActuationRequest) -> Result<Applied, KubeError> {
        let target = self.lookup(&req.desired.workload)?;
        if req.desired.replicas.is_some() || req.desired.resources.is_some() {
            self.hpa.check(&self.client, target).await?;
        }
        let mut changed = false;
        let mut parts = Vec::new();
        if let Some(replicas) = req.desired.replicas {
            let c = self.set_replicas(target, replicas).await?;
            changed |= c.changed;
            parts.push(if c.changed {
                format!("replicas {}→{}", c.from, c.to)
            } else {
                format!("replicas already {}", c.to)
            });
        }
        if let Some(desired) = &req.desired.resources {
            let c = self.set_resources(target, desired).await?;
            changed |= c.template.changed;
            parts.push(describe_resources(&c, desired));
            if let Some(r) = c.resize {
                changed |= r.resized > 0;
            }
        }
        if let Some(it) = &req.desired.instance_type {
            parts.push(format!(
                "instance type {it:?} ignored (not settable on {})",
                target.kind
            ));
        }
        if parts.is_empty() {
            parts.push("nothing to set".to_string());
        }
        tracing::info!(target = %target, decision = %req.decision_id, changed, "kubernetes actuation");
        Ok(Applied {
            changed,
            detail: format!("{target}: {}", parts.join("; ")),
        })
    }

    /// The workload's current replicas and container requests; `None` when no target is registered.
    pub async fn current(&self, workload: &WorkloadId) -> Result<Option<DesiredState>, KubeError> {
        let Some(target) = self.targets.get(workload) else {
            return Ok(None);
        };
        let replicas = self.replicas(target).await?;
        let resources = self.resources(target).await?;
        Ok(Some(DesiredState {
            workload: workload.clone(),
            replicas: Some(replicas),
            resources: Some(resources.requests),
            instance_type: None,
        }))
    }
}

fn merge_into(current: &mut Resources, desired: &Resources) {
    if desired.cpu_millis.is_some() {
        current.cpu_millis = desired.cpu_millis;
    }
    if desired.memory_bytes.is_some() {
        current.memory_bytes = desired.memory_bytes;
    }
}

fn describe(r: &Resources) -> String {
    let cpu = r.cpu_millis.map_or("-".to_string(), format_cpu_millis);
    let mem = r.memory_bytes.map_or("-".to_string(), format_memory_bytes);
    format!("cpu {cpu} memory {mem}")
}

fn describe_resources(c: &ResourcesChange, desired: &Resources) -> String {
    let name = &c.template.from.container;
    let mut s = if c.template.changed {
        format!(
            "container {name} requests {} → {}",
            describe(&c.template.from.requests),
            describe(&c.template.to.requests)
        )
    } else {
        format!("container {name} already {}", describe(desired))
    };
    if let Some(r) = c.resize {
        s.push_str(&format!(
            " (resized {} pods in place, {} already)",
            r.resized, r.already
        ));
    }
    s
}

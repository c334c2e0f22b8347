//! The Kubernetes actuator: replicas via the scale subresource, CPU/memory via pod-template patches, the PredictiveScaler resource.
//!
//! * [`AsyncKubeActuator`] — async API over kube-rs: [`set_replicas`](AsyncKubeActuator::set_replicas)
//!   (`PATCH …/{deployments|statefulsets}/{name}/scale`, JSON merge patch),
//!   [`set_resources`](AsyncKubeActuator::set_resources) (strategic-merge patch of the pod template's
//!   container `resources`, optionally followed by in-place `pods/{name}/resize`), and the shared
//!   contract's `apply`/`current`. Every write reads first and is skipped when the object already has the
//!   value (`changed == false`); a 409 Conflict re-reads and retries once.
//! * [`KubeActuator`] — the same behind the synchronous `prescale_actuate::Actuator` trait, by owning a
//!   tokio current-thread runtime. Wrap it in `prescale_actuate::Retrying` for back-off and a circuit
//!   breaker; kube-rs' own retry layer is off by default ([`KubeOptions::client_retry`]).
//! * [`PredictiveScaler`] — the `prescale.io/v1alpha1` custom resource; its CRD is committed in
//!   `deploy/crd.yaml` (a test fails when the file is stale). [`ScalerSource`] lists scalers and patches the
//!   status subresource from a [`ScalerReport`]; the daemon turns each spec into its one typed workload
//!   config and validates it there (problems named by the spec's paths, e.g. `spec.leadTime`).
//!
//! * OOM kills from pod status: [`KubeActuator`]'s `oom_kills` lists the target's pods and reports
//!   each sized container whose `lastState.terminated.reason` is `OOMKilled` with a new
//!   `restartCount` ([`OomTracker`]); the daemon hands them to the controller, which raises memory
//!   at once as it does for the agent's cgroup `oom_kill` counter.
//! * [`HpaGuard`] — before acting, [`AsyncKubeActuator::apply`] lists the target namespace's
//!   HorizontalPodAutoscalers (kept for [`KubeOptions::hpa_cache`]) and refuses with
//!   [`KubeError::HpaConflict`] when one (KEDA's included) scales the same object.
//!
//! Errors are [`KubeError`]: 409, 429, 5xx and connection failures are retryable; 403, 404, 422 and
//! other 4xx are permanent and carry the API's `metav1.Status` message.
//!
//! Kubernetes version: this crate enables `k8s-openapi`'s `v1_33` feature (the first release with the
//! `pods/resize` subresource). `k8s-openapi` allows exactly one version feature per build, so binaries
//! that depend on this crate must not enable another one.
//!
//! Testing: no Kubernetes API server can run on the machines this project is built on, so the
//! integration tests (`tests/`) run against an **in-process fake API server** — not a real one — that
//! speaks the real HTTP paths, verbs, patch content types, `resourceVersion` preconditions and
//! `metav1.Status` error bodies (404, 409, 415, 422, 5xx), with injectable faults.

mod async_actuator;
mod crd;
mod error;
mod hpa;
mod kind;
mod options;
mod pod_oom;
pub mod quantity;
mod resize;
mod scale;
mod scaler_settings;
mod scaler_status;
mod scalers;
mod sync_actuator;
mod target;
mod template;

pub use async_actuator::{AsyncKubeActuator, Change, ResourcesChange};
pub use crd::{
    PredictiveScaler, PredictiveScalerSpec, PredictiveScalerStatus, ScaleTargetRef,
    ScalerCondition, ScalerEvent, ScalerGate, ScalerMetric, ScalerMode, ScalerPredictor,
    ScalerPurchase, ScalerResource, ScalerResources, ScalerRetry, ScalerShadow, ScalerSlo,
    ScalerStages, ScalerWarmup, ScalerWarmupAction, ScalerWarmupType, SpecProblem,
};
pub use error::KubeError;
pub use hpa::{HpaGuard, HpaRef, KEDA_SCALED_OBJECT_LABEL};
pub use kind::KubeKind;
pub use options::{KubeOptions, LimitsPolicy};
pub use pod_oom::{container_restarts, ContainerRestart, OomTracker, OOM_KILLED};
pub use resize::ResizeReport;
pub use scale::ScaleView;
pub use scaler_settings::{format_duration, workload_id, ResourceBound, ResourceSettings};
pub use scaler_status::{
    parse_rfc3339, ConditionState, ConditionStatus, DecisionSummary, ForecastSummary, ScalerReport,
};
pub use scalers::{AsyncScalerSource, ScalerEntry, ScalerScope, ScalerSource};
pub use sync_actuator::{to_actuate_error, KubeActuator};
pub use target::{KubeTarget, WorkloadKind};
pub use template::{ContainerResources, TemplateView};

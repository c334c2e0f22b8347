//! Reads `PredictiveScaler` resources as the control loop's configuration and writes their status back.
//!
//! [`AsyncScalerSource`] lists scalers (`GET /apis/prescale.io/v1alpha1[/namespaces/{ns}]/predictivescalers`)
//! and merge-patches `…/predictivescalers/{name}/status`; [`ScalerSource`] is the same behind a blocking
//! API with its own current-thread runtime (like [`KubeActuator`](crate::KubeActuator)).
//!
//! Items are decoded one by one, so a scaler whose spec does not even decode is returned with a
//! `spec` problem instead of failing the whole list, and every invalid scaler comes back with its
//! problems for the caller to report.

use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
use prescale_core::WorkloadId;
use serde_json::json;
use tokio::runtime::{Builder, Runtime};

use crate::crd::{PredictiveScaler, PredictiveScalerSpec, ScalerCondition, SpecProblem};
use crate::error::KubeError;
use crate::options::KubeOptions;
use crate::scaler_settings::workload_id;
use crate::scaler_status::{build_status, ScalerReport};
use crate::sync_actuator::ensure_not_nested;
use crate::target::KubeTarget;

/// Which scalers a source sees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ScalerScope {
    /// Every namespace (needs a ClusterRole, as in `deploy/kustomize/overlays/cluster-wide`).
    #[default]
    AllNamespaces,
    /// One namespace.
    Namespace(String),
}

/// One `PredictiveScaler` as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerEntry {
    pub namespace: String,
    pub name: String,
    /// `metadata.generation` (bumped on spec changes); reported back as `observedGeneration`.
    pub generation: Option<i64>,
    pub resource_version: Option<String>,
    /// See [`workload_id`](crate::workload_id): `spec.workload`, else `{namespace}/{targetRef.name}`.
    /// `None` only when no valid id can be formed (then `problems` says why) or the spec did not decode.
    pub workload: Option<WorkloadId>,
    /// `None` when the spec did not decode (then `problems` has a `spec` entry with the decode error).
    pub spec: Option<PredictiveScalerSpec>,
    /// The object to scale; `None` when the spec did not decode.
    pub target: Option<KubeTarget>,
    /// What listing found wrong: a spec that does not decode, or no valid workload id. The values
    /// themselves are validated where the spec becomes a workload (the daemon's one workload
    /// validation), which reports its problems back through the status too.
    pub problems: Vec<SpecProblem>,
    /// The conditions currently in the status (to keep `lastTransitionTime` of unchanged ones).
    pub conditions: Vec<ScalerCondition>,
}

impl ScalerEntry {
    /// `namespace/name` of the resource.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn is_valid(&self) -> bool {
        self.problems.is_empty() && self.spec.is_some()
    }

    /// Builds an entry from one listed object.
    fn from_object(obj: DynamicObject) -> Option<ScalerEntry> {
        let (Some(namespace), Some(name)) =
            (obj.metadata.namespace.clone(), obj.metadata.name.clone())
        else {
            tracing::warn!(
                name = ?obj.metadata.name,
                "PredictiveScaler without namespace or name in the list; skipped"
            );
            return None;
        };
        let conditions = obj
            .data
            .get("status")
            .and_then(|s| s.get("conditions"))
            .and_then(|c| serde_json::from_value::<Vec<ScalerCondition>>(c.clone()).ok())
            .unwrap_or_default();
        let decoded = obj
            .data
            .get("spec")
            .cloned()
            .ok_or_else(|| "the object has no spec".to_string())
            .and_then(|v| {
                serde_json::from_value::<PredictiveScalerSpec>(v).map_err(|e| e.to_string())
            });
        let (spec, target, workload, problems) = match decoded {
            Ok(spec) => {
                let (workload, problems) = match workload_id(&namespace, &spec) {
                    Ok(w) => (Some(w), Vec::new()),
                    Err(p) => (None, vec![p]),
                };
                let target = spec.target(&namespace);
                (Some(spec), Some(target), workload, problems)
            }
            Err(message) => (
                None,
                None,
                None,
                vec![SpecProblem {
                    path: "spec".to_string(),
                    message: format!("could not be decoded: {message}"),
                }],
            ),
        };
        Some(ScalerEntry {
            namespace,
            name,
            generation: obj.metadata.generation,
            resource_version: obj.metadata.resource_version,
            workload,
            spec,
            target,
            problems,
            conditions,
        })
    }
}

/// Lists `PredictiveScaler`s and patches their status, asynchronously.
#[derive(Clone)]
pub struct AsyncScalerSource {
    client: Client,
    options: KubeOptions,
    scope: ScalerScope,
    resource: ApiResource,
}

impl AsyncScalerSource {
    pub fn new(client: Client, options: KubeOptions, scope: ScalerScope) -> Self {
        AsyncScalerSource {
            client,
            options,
            scope,
            resource: ApiResource::erase::<PredictiveScaler>(&()),
        }
    }

    /// Connects with `config` (after [`KubeOptions::configure`]). Must run inside a tokio runtime.
    pub fn connect(
        config: kube::Config,
        options: KubeOptions,
        scope: ScalerScope,
    ) -> Result<Self, KubeError> {
        let client = Client::try_from(options.configure(config))
            .map_err(|e| KubeError::from_kube("build client", e))?;
        Ok(Self::new(client, options, scope))
    }

    pub fn scope(&self) -> &ScalerScope {
        &self.scope
    }

    fn api(&self, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &self.resource),
            None => Api::all_with(self.client.clone(), &self.resource),
        }
    }

    /// Every scaler in scope, sorted by namespace and name, invalid ones with their problems.
    pub async fn list(&self) -> Result<Vec<ScalerEntry>, KubeError> {
        let (api, op) = match &self.scope {
            ScalerScope::AllNamespaces => (self.api(None), "list PredictiveScalers".to_string()),
            ScalerScope::Namespace(ns) => (
                self.api(Some(ns)),
                format!("list PredictiveScalers in namespace {ns}"),
            ),
        };
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| KubeError::from_kube(op, e))?;
        let mut entries: Vec<ScalerEntry> = list
            .items
            .into_iter()
            .filter_map(ScalerEntry::from_object)
            .collect();
        entries.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(entries)
    }

    /// Merge-patches the scaler's `status` subresource with `observedGeneration`, the conditions and
    /// whatever the report carries (see [`ScalerReport`]). A deleted scaler answers 404 (permanent).
    pub async fn report(
        &self,
        entry: &ScalerEntry,
        report: &ScalerReport,
    ) -> Result<(), KubeError> {
        let status = build_status(entry.generation, &entry.problems, &entry.conditions, report);
        let body = json!({ "status": status });
        let pp = PatchParams {
            field_manager: Some(self.options.field_manager.clone()),
            ..PatchParams::default()
        };
        self.api(Some(&entry.namespace))
            .patch_status(&entry.name, &pp, &Patch::Merge(&body))
            .await
            .map_err(|e| {
                KubeError::from_kube(
                    format!("patch status of PredictiveScaler {}", entry.key()),
                    e,
                )
            })?;
        tracing::debug!(scaler = %entry.key(), valid = entry.is_valid(), "PredictiveScaler status reported");
        Ok(())
    }
}

/// [`AsyncScalerSource`] behind a blocking API, with its own current-thread runtime.
///
/// Call it from plain threads (or `spawn_blocking`); from inside a tokio runtime it answers
/// [`KubeError::NestedRuntime`].
pub struct ScalerSource {
    runtime: Runtime,
    inner: AsyncScalerSource,
}

fn runtime() -> Result<Runtime, KubeError> {
    ensure_not_nested()?;
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KubeError::Runtime(e.to_string()))
}

impl ScalerSource {
    /// Connects to the API server described by `config` (e.g. `kube::Config::new(url)`).
    pub fn new(
        config: kube::Config,
        options: KubeOptions,
        scope: ScalerScope,
    ) -> Result<Self, KubeError> {
        let runtime = runtime()?;
        let inner =
            runtime.block_on(async { AsyncScalerSource::connect(config, options, scope) })?;
        Ok(ScalerSource { runtime, inner })
    }

    /// Connects with the inferred configuration (in-cluster service account, or `$KUBECONFIG`).
    pub fn infer(options: KubeOptions, scope: ScalerScope) -> Result<Self, KubeError> {
        let runtime = runtime()?;
        let inner = runtime.block_on(async {
            let config = kube::Config::infer().await.map_err(|e| KubeError::Client {
                operation: "infer Kubernetes config".to_string(),
                message: e.to_string(),
            })?;
            AsyncScalerSource::connect(config, options, scope)
        })?;
        Ok(ScalerSource { runtime, inner })
    }

    pub fn as_async(&self) -> &AsyncScalerSource {
        &self.inner
    }

    /// [`AsyncScalerSource::list`], blocking.
    pub fn list(&mut self) -> Result<Vec<ScalerEntry>, KubeError> {
        ensure_not_nested()?;
        self.runtime.block_on(self.inner.list())
    }

    /// [`AsyncScalerSource::report`], blocking.
    pub fn report(&mut self, entry: &ScalerEntry, report: &ScalerReport) -> Result<(), KubeError> {
        ensure_not_nested()?;
        self.runtime.block_on(self.inner.report(entry, report))
    }
}

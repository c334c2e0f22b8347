//! The synchronous `Actuator`: the async actuator driven by a runtime it owns (tokio current-thread).

use std::collections::HashMap;

use prescale_actuate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState, OomKill};
use prescale_core::WorkloadId;
use tokio::runtime::{Builder, Runtime};

use crate::async_actuator::AsyncKubeActuator;
use crate::error::KubeError;
use crate::options::KubeOptions;
use crate::pod_oom::OomTracker;
use crate::target::KubeTarget;

/// The Kubernetes actuator behind prescale's synchronous [`Actuator`] trait.
///
/// It owns a current-thread tokio runtime and blocks on the async [`AsyncKubeActuator`]. Call it from
/// plain threads (or `spawn_blocking`); called from inside a tokio runtime it returns
/// [`KubeError::NestedRuntime`] instead of panicking — async code should use [`AsyncKubeActuator`].
pub struct KubeActuator {
    runtime: Runtime,
    inner: AsyncKubeActuator,
    /// Per workload, the pods' restart counts as last listed for [`Actuator::oom_kills`].
    oom: HashMap<WorkloadId, OomTracker>,
}

impl KubeActuator {
    /// Connects to the API server described by `config` (e.g. `kube::Config::new(url)`).
    pub fn new(config: kube::Config, options: KubeOptions) -> Result<Self, KubeError> {
        ensure_not_nested()?;
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| KubeError::Runtime(e.to_string()))?;
        // The client spawns its buffer task, so it must be built inside the runtime.
        let inner = runtime.block_on(async { AsyncKubeActuator::connect(config, options) })?;
        Ok(KubeActuator {
            runtime,
            inner,
            oom: HashMap::new(),
        })
    }

    /// Connects with the inferred configuration (in-cluster service account, or `$KUBECONFIG`).
    pub fn infer(options: KubeOptions) -> Result<Self, KubeError> {
        ensure_not_nested()?;
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| KubeError::Runtime(e.to_string()))?;
        let inner = runtime.block_on(async {
            let config = kube::Config::infer().await.map_err(|e| KubeError::Client {
                operation: "infer Kubernetes config".to_string(),
                message: e.to_string(),
            })?;
            AsyncKubeActuator::connect(config, options)
        })?;
        Ok(KubeActuator {
            runtime,
            inner,
            oom: HashMap::new(),
        })
    }

    /// Maps a prescale workload to the Kubernetes object it scales; returns the previous target.
    pub fn register(&mut self, workload: WorkloadId, target: KubeTarget) -> Option<KubeTarget> {
        self.inner.register(workload, target)
    }

    /// The async actuator inside (shares the client).
    pub fn as_async(&self) -> &AsyncKubeActuator {
        &self.inner
    }

    /// Runs one async operation of the inner actuator to completion.
    pub fn block_on<T>(
        &self,
        f: impl AsyncFnOnce(&AsyncKubeActuator) -> Result<T, KubeError>,
    ) -> Result<T, KubeError> {
        ensure_not_nested()?;
        self.runtime.block_on(f(&self.inner))
    }

    /// [`AsyncKubeActuator::apply`], blocking, with the crate's own error type.
    pub fn apply_kube(&self, req: &ActuationRequest) -> Result<Applied, KubeError> {
        self.block_on(async |a| a.apply(req).await)
    }

    /// [`AsyncKubeActuator::current`], blocking, with the crate's own error type.
    pub fn current_kube(&self, workload: &WorkloadId) -> Result<Option<DesiredState>, KubeError> {
        self.block_on(async |a| a.current(workload).await)
    }

    /// OOM kills of the workload's sized container new since the previous call (the first call
    /// takes the pods' state as the base); none when no target is registered.
    pub fn oom_kills_kube(&mut self, workload: &WorkloadId) -> Result<Vec<OomKill>, KubeError> {
        let Some(target) = self.inner.target(workload).cloned() else {
            return Ok(Vec::new());
        };
        let listing = self.block_on(async |a| a.container_restarts(&target).await)?;
        Ok(self
            .oom
            .entry(workload.clone())
            .or_default()
            .update(&listing))
    }

    fn target_name(&self, workload: &WorkloadId) -> String {
        self.inner
            .target(workload)
            .map_or_else(|| workload.to_string(), ToString::to_string)
    }
}

pub(crate) fn ensure_not_nested() -> Result<(), KubeError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        Err(KubeError::NestedRuntime)
    } else {
        Ok(())
    }
}

impl Actuator for KubeActuator {
    fn name(&self) -> &str {
        "kubernetes"
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        self.apply_kube(req)
            .map_err(|e| to_actuate_error(self.target_name(&req.desired.workload), e))
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        self.current_kube(workload)
            .map_err(|e| to_actuate_error(self.target_name(workload), e))
    }

    fn oom_kills(&mut self, workload: &WorkloadId) -> Result<Vec<OomKill>, ActuateError> {
        self.oom_kills_kube(workload)
            .map_err(|e| to_actuate_error(self.target_name(workload), e))
    }
}

/// Maps a [`KubeError`] onto the shared error type, keeping its retryable/permanent class.
pub fn to_actuate_error(target: String, err: KubeError) -> ActuateError {
    match err {
        KubeError::Api {
            code,
            reason,
            message,
            operation,
        } => {
            let body = format!("{operation}: {reason}: {message}");
            if code == 409 || code == 429 || code >= 500 {
                ActuateError::ServerError {
                    target,
                    status: code,
                    body,
                }
            } else {
                ActuateError::Rejected {
                    target,
                    status: code,
                    body,
                }
            }
        }
        KubeError::Connection { operation, message } => ActuateError::Unreachable {
            target,
            reason: format!("{operation}: {message}"),
        },
        // The message names the object, the HPA and why: it is what the decision log shows.
        e @ KubeError::HpaConflict { .. } => ActuateError::InvalidRequest(e.to_string()),
        KubeError::NestedRuntime => ActuateError::Unsupported {
            actuator: "kubernetes".to_string(),
            what: "being called from inside a tokio runtime (use AsyncKubeActuator)".to_string(),
        },
        other => ActuateError::InvalidRequest(format!("{target}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_keeps_retryability() {
        for (code, retryable) in [
            (409, true),
            (429, true),
            (503, true),
            (403, false),
            (404, false),
            (422, false),
        ] {
            let e = KubeError::Api {
                operation: "op".into(),
                code,
                reason: "R".into(),
                message: "msg".into(),
            };
            assert_eq!(e.is_retryable(), retryable);
            let a = to_actuate_error("t".into(), e);
            assert_eq!(a.is_retryable(), retryable, "{code}");
            assert!(a.to_string().contains("msg"));
        }
        let e = KubeError::Connection {
            operation: "o".into(),
            message: "refused".into(),
        };
        assert!(to_actuate_error("t".into(), e).is_retryable());
    }
}

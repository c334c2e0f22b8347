//! Typed errors of the Kubernetes actuator, classified as retryable (conflict, throttling, 5xx, network) or permanent.

use thiserror::Error;

/// An error talking to the Kubernetes API or interpreting what it returned.
#[derive(Debug, Error)]
pub enum KubeError {
    /// The API server answered with a `metav1.Status` failure.
    #[error("{operation}: API server answered {code} {reason}: {message}")]
    Api {
        /// What we were doing, e.g. `patch scale of Deployment/shop/web`.
        operation: String,
        code: u16,
        /// The Status `reason` (`NotFound`, `Conflict`, `Forbidden`, `Invalid`, ...).
        reason: String,
        /// The Status `message`, verbatim.
        message: String,
    },
    /// The request did not get an HTTP answer (connect refused, reset, timeout).
    #[error("{operation}: connection to the API server failed: {message}")]
    Connection { operation: String, message: String },
    /// The answer could not be decoded.
    #[error("{operation}: could not decode the API server's answer: {message}")]
    Decode { operation: String, message: String },
    /// The client could not be built or the request could not be formed.
    #[error("{operation}: {message}")]
    Client { operation: String, message: String },
    /// No Kubernetes target is registered for the workload.
    #[error("no Kubernetes target registered for workload {0:?}")]
    UnknownWorkload(String),
    /// The target string or spec is malformed.
    #[error("invalid Kubernetes target {input:?}: {why}")]
    InvalidTarget { input: String, why: String },
    /// The pod template has no container with that name (or no containers at all).
    #[error("{target}: no container {container:?} in the pod template")]
    ContainerNotFound { target: String, container: String },
    /// A quantity in the object could not be parsed.
    #[error("invalid {field} quantity {value:?}")]
    Quantity { field: String, value: String },
    /// A value does not fit what the API accepts (e.g. replicas above i32::MAX).
    #[error("{0}")]
    OutOfRange(String),
    /// The synchronous API was called from inside an async runtime (use the async API there).
    #[error("the synchronous KubeActuator was called from inside a tokio runtime; use AsyncKubeActuator there")]
    NestedRuntime,
    /// A HorizontalPodAutoscaler (perhaps KEDA's) scales the same object: prescale refuses to act on it.
    /// Not retryable as such; the next decision checks again (after the guard's cache expires).
    #[error("{}", crate::hpa::conflict_message(target, hpa))]
    HpaConflict {
        /// `Kind/namespace/name` of the object prescale was asked to change.
        target: String,
        /// The HPA that scales it.
        hpa: Box<crate::hpa::HpaRef>,
    },
    /// The actuator's own runtime could not be created.
    #[error("could not start the actuator's tokio runtime: {0}")]
    Runtime(String),
}

impl KubeError {
    /// Whether trying again later may succeed: 409 Conflict, 429, 5xx and connection failures.
    /// 4xx validation/permission/not-found answers and local errors are permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            KubeError::Api { code, .. } => *code == 409 || *code == 429 || *code >= 500,
            KubeError::Connection { .. } => true,
            _ => false,
        }
    }

    /// Whether this is a 409 Conflict (stale resourceVersion).
    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Api { code: 409, .. })
    }

    /// The HTTP status code when the API server answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            KubeError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Classifies a kube-rs error raised while doing `operation`.
    pub(crate) fn from_kube(operation: impl Into<String>, err: kube::Error) -> Self {
        let operation = operation.into();
        match err {
            kube::Error::Api(status) => KubeError::Api {
                operation,
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            kube::Error::HyperError(e) => KubeError::Connection {
                operation,
                message: e.to_string(),
            },
            kube::Error::Service(e) => KubeError::Connection {
                operation,
                message: e.to_string(),
            },
            kube::Error::SerdeError(e) => KubeError::Decode {
                operation,
                message: e.to_string(),
            },
            kube::Error::FromUtf8(e) => KubeError::Decode {
                operation,
                message: e.to_string(),
            },
            other => KubeError::Client {
                operation,
                message: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> KubeError {
        KubeError::Api {
            operation: "op".into(),
            code,
            reason: "R".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn classification() {
        for code in [409, 429, 500, 503, 504] {
            assert!(api(code).is_retryable(), "{code}");
        }
        for code in [400, 401, 403, 404, 415, 422] {
            assert!(!api(code).is_retryable(), "{code}");
        }
        assert!(api(409).is_conflict());
        assert!(KubeError::Connection {
            operation: "o".into(),
            message: "refused".into()
        }
        .is_retryable());
        assert!(!KubeError::UnknownWorkload("w".into()).is_retryable());
    }
}

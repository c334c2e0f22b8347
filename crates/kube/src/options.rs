//! Knobs of the Kubernetes actuator: field manager, limits policy, in-place resize, timeouts, the HPA list's lifetime.

use std::time::Duration;

/// What to do with container limits when requests are set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LimitsPolicy {
    /// Leave limits as they are (the default).
    #[default]
    Unchanged,
    /// Set limits equal to the new requests (Guaranteed QoS when both CPU and memory are set).
    MatchRequests,
}

/// Options of [`crate::AsyncKubeActuator`] / [`crate::KubeActuator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeOptions {
    /// `fieldManager` sent with every patch.
    pub field_manager: String,
    /// Whether limits follow requests.
    pub limits: LimitsPolicy,
    /// After patching the pod template, also resize running pods in place through the `pods/{name}/resize`
    /// subresource (Kubernetes 1.33+; the container's `resizePolicy` decides whether it restarts).
    pub in_place_resize: bool,
    /// Read/write timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Keep kube-rs' own retry layer (429/503/504). Off by default: retries and the circuit breaker belong
    /// to `prescale_actuate::Retrying`, which sees every failure.
    pub client_retry: bool,
    /// How long a namespace's list of HorizontalPodAutoscalers is kept before the actuator lists it
    /// again to make sure no HPA scales the object it is about to change (see [`crate::HpaGuard`]).
    pub hpa_cache: Duration,
}

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            field_manager: "prescale".to_string(),
            limits: LimitsPolicy::Unchanged,
            in_place_resize: false,
            request_timeout: Duration::from_secs(30),
            client_retry: false,
            hpa_cache: Duration::from_secs(30),
        }
    }
}

impl KubeOptions {
    /// Applies the options that live in the client configuration.
    pub fn configure(&self, mut config: kube::Config) -> kube::Config {
        config.read_timeout = Some(self.request_timeout);
        config.write_timeout = Some(self.request_timeout);
        config.default_retry = self.client_retry;
        config
    }
}

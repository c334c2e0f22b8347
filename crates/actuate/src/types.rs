//! The shared contract: what an actuator is asked to set and what it reports back.

use prescale_core::Timestamp;
use serde::{Deserialize, Serialize};

pub use prescale_core::desired::{DesiredState, Resources};

/// One request to an actuator: the desired state plus where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActuationRequest {
    pub desired: DesiredState,
    /// Idempotency key: the same decision sent twice must have the same effect as once.
    pub decision_id: String,
    /// The decision's explanation (free text or JSON), passed through to webhooks and commands.
    pub reason: String,
    pub issued_at: Timestamp,
}

/// What an actuator did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// `false` when the target was already in the desired state.
    pub changed: bool,
    /// Human-readable summary ("3 running (started 2)", "HTTP 200", ...).
    pub detail: String,
}

/// One OOM kill of a workload's container that an actuator saw (Kubernetes: a pod container whose
/// `lastState.terminated.reason` is `OOMKilled`, its `restartCount` new).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomKill {
    /// Where: `namespace/pod`.
    pub pod: String,
    pub container: String,
    /// The container's restart count when the kill was seen.
    pub restart_count: u32,
    /// When the killed container finished (`lastState.terminated.finishedAt`), when reported.
    pub finished_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::WorkloadId;

    fn w() -> WorkloadId {
        WorkloadId::new("web").unwrap()
    }

    #[test]
    fn request_round_trips_as_json() {
        let req = ActuationRequest {
            desired: DesiredState::replicas(w(), 4),
            decision_id: "d-1".into(),
            reason: "{\"rule\":\"predictive\"}".into(),
            issued_at: Timestamp(1_700_000_000_000),
        };
        let text = serde_json::to_string(&req).unwrap();
        assert!(text.contains("\"replicas\":4"));
        assert!(!text.contains("resources"));
        let back: ActuationRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, req);
    }
}

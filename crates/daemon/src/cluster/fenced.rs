//! The actuation path under a lease: before the inner actuator is asked to act, the fencing token
//! the decision was made under is checked against the lease bucket; a stale or unreadable token
//! refuses the actuation (recorded as failed, so the controller knows it was not applied).

use super::ClusterLink;
use prescale_actuate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState};
use prescale_bus::Fence;
use prescale_core::WorkloadId;

/// `reason` (a JSON object) with `"fence": {"instance", "partition", "token"}` added; a reason
/// that is not an object is wrapped as `{"reason": ..., "fence": ...}`.
pub fn with_fence(reason: &str, instance: &str, fence: Fence) -> String {
    let f = serde_json::json!({
        "instance": instance,
        "partition": fence.partition,
        "token": fence.token,
    });
    let mut v = match serde_json::from_str::<serde_json::Value>(reason) {
        Ok(serde_json::Value::Object(m)) => serde_json::Value::Object(m),
        Ok(other) => serde_json::json!({ "reason": other }),
        Err(_) => serde_json::json!({ "reason": reason }),
    };
    v["fence"] = f;
    v.to_string()
}

/// `inner` behind the check of `fence`.
pub struct Fenced<'a> {
    pub inner: &'a mut dyn Actuator,
    pub link: &'a ClusterLink,
    pub fence: Fence,
}

impl Actuator for Fenced<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        if let Err(e) = self.link.check(self.fence) {
            tracing::warn!(workload = %req.desired.workload, error = %e, "actuation refused: this instance no longer holds the workload's lease");
            return Err(ActuateError::InvalidRequest(format!(
                "fencing token {} refused: {e}",
                self.fence.token
            )));
        }
        // The token travels with the request (in the reason JSON webhooks and commands receive),
        // so a target can refuse a token older than one it has seen.
        let mut carried = req.clone();
        carried.reason = with_fence(&req.reason, self.link.id(), self.fence);
        self.inner.apply(&carried)
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        self.inner.current(workload)
    }

    fn oom_kills(
        &mut self,
        workload: &WorkloadId,
    ) -> Result<Vec<prescale_actuate::OomKill>, ActuateError> {
        self.inner.oom_kills(workload)
    }
}

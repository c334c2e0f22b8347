//! The `Actuator` trait every backend implements.

use crate::{ActuateError, ActuationRequest, Applied, DesiredState, OomKill};
use prescale_core::WorkloadId;

/// Sets a workload's desired state. Implementations must be idempotent: applying the same request
/// twice leaves the target as applying it once does.
pub trait Actuator: Send {
    /// Short name for logs and explanations ("dry-run", "webhook", ...).
    fn name(&self) -> &str;
    /// Drive the target toward `req.desired`.
    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError>;
    /// What the actuator knows of the workload's current state; `None` when it knows nothing.
    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError>;
    /// OOM kills of the workload's containers first seen since the previous call (the first call
    /// only takes note of what is there). Actuators that cannot see kills report none; wrappers
    /// must forward it.
    fn oom_kills(&mut self, _workload: &WorkloadId) -> Result<Vec<OomKill>, ActuateError> {
        Ok(Vec::new())
    }
}

impl<A: Actuator + ?Sized> Actuator for Box<A> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        (**self).apply(req)
    }
    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        (**self).current(workload)
    }
    fn oom_kills(&mut self, workload: &WorkloadId) -> Result<Vec<OomKill>, ActuateError> {
        (**self).oom_kills(workload)
    }
}

//! The `Actuator` trait every backend implements.

use crate::{ActuateError, ActuationRequest, Applied, DesiredState};
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
}

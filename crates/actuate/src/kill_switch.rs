//! A global and per-workload kill switch that stops requests before they reach an actuator.

use crate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState};
use prescale_core::WorkloadId;
use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError, RwLock};

/// Shared switch state; clones control the same switch (hand one to the API, one to the loop).
#[derive(Debug, Clone, Default)]
pub struct KillSwitch {
    inner: Arc<RwLock<SwitchState>>,
}

#[derive(Debug, Default)]
struct SwitchState {
    global: bool,
    workloads: BTreeSet<WorkloadId>,
}

impl KillSwitch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops (or resumes) actuation for every workload.
    pub fn set_global(&self, engaged: bool) {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .global = engaged;
    }

    /// Stops (or resumes) actuation for one workload.
    pub fn set_workload(&self, workload: &WorkloadId, engaged: bool) {
        let mut s = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if engaged {
            s.workloads.insert(workload.clone());
        } else {
            s.workloads.remove(workload);
        }
    }

    pub fn is_global(&self) -> bool {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .global
    }

    /// Whether actuation for `workload` is stopped, and by which switch.
    pub fn engaged_for(&self, workload: &WorkloadId) -> Option<SwitchScope> {
        let s = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        if s.global {
            Some(SwitchScope::Global)
        } else if s.workloads.contains(workload) {
            Some(SwitchScope::Workload)
        } else {
            None
        }
    }

    /// Wraps `inner` so that it is not called while the switch is engaged for a request's workload.
    pub fn guard<A: Actuator>(&self, inner: A) -> Switched<A> {
        Switched {
            inner,
            switch: self.clone(),
        }
    }
}

/// Which switch stopped a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchScope {
    Global,
    Workload,
}

impl std::fmt::Display for SwitchScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SwitchScope::Global => "global",
            SwitchScope::Workload => "per-workload",
        })
    }
}

/// An actuator behind a [`KillSwitch`]: engaged → [`ActuateError::KillSwitch`], inner untouched.
#[derive(Debug)]
pub struct Switched<A: Actuator> {
    inner: A,
    switch: KillSwitch,
}

impl<A: Actuator> Switched<A> {
    pub fn inner(&self) -> &A {
        &self.inner
    }
    pub fn inner_mut(&mut self) -> &mut A {
        &mut self.inner
    }
}

impl<A: Actuator> Actuator for Switched<A> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        if let Some(scope) = self.switch.engaged_for(&req.desired.workload) {
            return Err(ActuateError::KillSwitch {
                workload: req.desired.workload.to_string(),
                scope,
            });
        }
        self.inner.apply(req)
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        self.inner.current(workload)
    }

    fn oom_kills(&mut self, workload: &WorkloadId) -> Result<Vec<crate::OomKill>, ActuateError> {
        self.inner.oom_kills(workload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DryRun;
    use prescale_core::Timestamp;

    fn req(w: &str) -> ActuationRequest {
        ActuationRequest {
            desired: DesiredState::replicas(WorkloadId::new(w).unwrap(), 2),
            decision_id: "d".into(),
            reason: "r".into(),
            issued_at: Timestamp(0),
        }
    }

    #[test]
    fn global_and_per_workload_switches_block_only_their_scope() {
        let switch = KillSwitch::new();
        let mut a = switch.guard(DryRun::new(10));
        assert!(a.apply(&req("web")).is_ok());
        switch.set_workload(&WorkloadId::new("web").unwrap(), true);
        let err = a.apply(&req("web")).unwrap_err();
        assert!(matches!(
            err,
            ActuateError::KillSwitch {
                scope: SwitchScope::Workload,
                ..
            }
        ));
        assert!(!err.is_retryable());
        assert!(a.apply(&req("batch")).is_ok());
        switch.set_global(true);
        assert!(matches!(
            a.apply(&req("batch")),
            Err(ActuateError::KillSwitch {
                scope: SwitchScope::Global,
                ..
            })
        ));
        switch.set_global(false);
        switch.set_workload(&WorkloadId::new("web").unwrap(), false);
        assert!(a.apply(&req("web")).is_ok());
        assert_eq!(
            a.inner().len(),
            3,
            "blocked requests never reach the actuator"
        );
    }
}

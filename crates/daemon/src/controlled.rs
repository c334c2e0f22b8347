//! The workloads the control loop decides for right now: the configured ones and, while they
//! exist, the `PredictiveScaler`s' — read by the API (kill switch, forecasts, `/metrics`, what-if
//! replays of their controllers), kept current by the loop.

use prescale_control::WorkloadSpec;
use prescale_core::WorkloadId;
use std::sync::{Arc, PoisonError, RwLock};

/// A shared, ordered list of the controlled workloads' specs (configured first, in config order).
#[derive(Debug, Clone, Default)]
pub struct Controlled(Arc<RwLock<Vec<WorkloadSpec>>>);

impl Controlled {
    pub fn new(specs: Vec<WorkloadSpec>) -> Self {
        Controlled(Arc::new(RwLock::new(specs)))
    }

    pub fn contains(&self, w: &WorkloadId) -> bool {
        self.spec(w).is_some()
    }

    /// The controlled workloads' ids, in order.
    pub fn list(&self) -> Vec<WorkloadId> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|s| s.workload.clone())
            .collect()
    }

    /// The spec `w`'s controller runs with, when it is controlled.
    pub fn spec(&self, w: &WorkloadId) -> Option<WorkloadSpec> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|s| &s.workload == w)
            .cloned()
    }

    /// Replaces the list (the loop calls it after slots were added or removed).
    pub fn set(&self, specs: Vec<WorkloadSpec>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = specs;
    }
}

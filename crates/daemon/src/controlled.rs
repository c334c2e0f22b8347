//! The workloads the control loop decides for right now: the configured ones and, while they
//! exist, the `PredictiveScaler`s' — read by the API (kill switch, forecasts, `/metrics`), kept
//! current by the loop.

use prescale_core::WorkloadId;
use std::sync::{Arc, PoisonError, RwLock};

/// A shared, ordered list of workload ids (configured first, in config order).
#[derive(Debug, Clone, Default)]
pub struct Controlled(Arc<RwLock<Vec<WorkloadId>>>);

impl Controlled {
    pub fn new(ids: Vec<WorkloadId>) -> Self {
        Controlled(Arc::new(RwLock::new(ids)))
    }

    pub fn contains(&self, w: &WorkloadId) -> bool {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(w)
    }

    pub fn list(&self) -> Vec<WorkloadId> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the list (the loop calls it after slots were added or removed).
    pub fn set(&self, ids: Vec<WorkloadId>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = ids;
    }
}

//! What a policy sees at one step, and the `Policy` trait.

use crate::Decision;
use prescale_core::Forecast;

/// Everything a policy may use at decision step `step`.
///
/// Demand values are in the workload's own unit; `capacity_per_replica` converts them to replicas.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// Decision step index (0-based).
    pub step: usize,
    /// Length of one step in seconds (rate limits and windows given in seconds convert with it).
    pub step_seconds: f64,
    /// Demand observed at this step.
    pub demand: f64,
    /// Demand observed so far, oldest first; its last element is `demand`.
    pub history: &'a [f64],
    /// Replicas ready to serve at this step (before this decision).
    pub ready: u32,
    /// Replicas requested before this decision (ready plus starting).
    pub requested: u32,
    /// Demand one replica serves.
    pub capacity_per_replica: f64,
    /// Steps an added replica takes to become ready (provisioning lead time).
    pub lead_steps: usize,
    /// Forecast of demand for the next steps: index 0 is step + 1. `None` before enough history.
    pub forecast: Option<&'a Forecast>,
    /// Future demand, index 0 is step + 1. Only the simulator fills it, and only for the oracle.
    pub lookahead: Option<&'a [f64]>,
}

impl PolicyInput<'_> {
    /// Whether the current step is under-provisioned: demand > capacity × ready.
    pub fn under_provisioned(&self) -> bool {
        self.demand > self.capacity_per_replica * f64::from(self.ready)
    }
}

/// A scaling policy: deterministic given its inputs, no I/O, no clock.
pub trait Policy: Send {
    /// Decides the requested replica count for this step.
    fn decide(&mut self, input: &PolicyInput) -> Decision;

    /// The policy's learned headroom multiplier after its last decision, if it learns one.
    fn learned_headroom(&self) -> Option<f64> {
        None
    }

    /// The learned headroom state to carry to another instance (`None`: nothing to carry).
    fn headroom_state(&self) -> Option<crate::HeadroomState> {
        None
    }

    /// Continues from a headroom state learned elsewhere; `Ok(false)` when this policy learns
    /// none to continue, an error when the state is out of this policy's bounds.
    fn restore_headroom(
        &mut self,
        _state: &crate::HeadroomState,
    ) -> Result<bool, crate::PolicyError> {
        Ok(false)
    }

    /// Whether this policy acts on forecasts (the simulator only produces them when one does).
    fn wants_forecast(&self) -> bool {
        false
    }
}

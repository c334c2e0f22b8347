//! Static provisioning at the trace's peak need: what plain over-provisioning costs.

use crate::guards::{Bounds, Guards};
use crate::{Decision, Policy, PolicyInput, Reason};

/// Always requests the same count (the simulator passes the peak need of the whole trace).
#[derive(Debug, Clone)]
pub struct StaticPeak {
    replicas: u32,
    guards: Guards,
}

impl StaticPeak {
    /// A static policy at `replicas` within `bounds`.
    pub fn new(replicas: u32, bounds: Bounds) -> Self {
        StaticPeak {
            replicas,
            guards: Guards::bounded(bounds),
        }
    }
}

impl Policy for StaticPeak {
    fn decide(&mut self, input: &PolicyInput) -> Decision {
        self.guards.apply(
            input.step,
            input.step_seconds,
            input.requested,
            self.replicas,
            Reason::Peak {
                replicas: self.replicas,
            },
        )
    }
}

//! The oracle: perfect foresight, the cost lower bound of any never-under-provisioned policy.
//!
//! requested = max(need now, need at every step until an added replica is ready), need =
//! ceil(demand / capacity). For a delay of one step this is exactly max(need now, need at t + 1);
//! for longer delays the steps in between are covered too, because a lower request in between
//! would cancel replicas that are still starting.

use crate::guards::{Bounds, Guards};
use crate::{replicas_for, Decision, Policy, PolicyInput, Reason};

/// The oracle policy; it needs `PolicyInput::lookahead`.
#[derive(Debug, Clone)]
pub struct Oracle {
    guards: Guards,
}

impl Oracle {
    /// An oracle within `bounds`.
    pub fn new(bounds: Bounds) -> Self {
        Oracle {
            guards: Guards::bounded(bounds),
        }
    }

    /// The oracle's request at a step with demand `now` and future demand `ahead` (index 0 = next).
    pub fn need(now: f64, ahead: &[f64], lead_steps: usize, per_replica: f64) -> u32 {
        ahead
            .iter()
            .take(lead_steps)
            .map(|&d| replicas_for(d, per_replica))
            .fold(replicas_for(now, per_replica), u32::max)
    }
}

impl Policy for Oracle {
    fn decide(&mut self, input: &PolicyInput) -> Decision {
        let c = input.capacity_per_replica;
        let (wanted, cause) = match input.lookahead {
            Some(ahead) => {
                let need = Oracle::need(input.demand, ahead, input.lead_steps, c);
                (need, Reason::Foresight { need })
            }
            None => {
                let need = replicas_for(input.demand, c);
                (need, Reason::NoLookahead { need })
            }
        };
        self.guards.apply(
            input.step,
            input.step_seconds,
            input.requested,
            wanted,
            cause,
        )
    }
}

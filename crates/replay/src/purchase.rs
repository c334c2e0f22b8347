//! Purchase options in a replay: each lane's replicas bought as `prescale_policy::purchase` mixes
//! them (committed base, spot, on-demand), the dollars that costs against the same replicas all
//! on-demand, and spot interruptions drawn from a seeded generator.
//!
//! A running spot replica is reclaimed with the instance type's step hazard; the request does not
//! change (the platform replaces it), but the replica is missing — not serving — for
//! `max(delay, 1)` steps while its replacement starts. Missing replicas are taken off the ready
//! count the step is scored against (so they count in the under-provisioned share) and the
//! controller sees. Interruptions of one lane depend only on the seed, the lane's name and what
//! it bought, so adding a policy does not change another's draws.

use crate::{ReplayError, SimConfig};
use prescale_math::SplitMix64;
use prescale_policy::{
    HeadroomConfig, PlannerParams, PolicyKind, PricedInstance, PurchasePlanner, PurchaseSpec, Spot,
};
use std::collections::VecDeque;

/// What a replay buys and how it draws interruptions.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseSim {
    /// The priced instance type one replica runs on.
    pub instance: PricedInstance,
    /// The workload's purchase settings (its `instance_type` must be `instance`'s name).
    pub spec: PurchaseSpec,
    /// Seed of the interruption draws.
    pub seed: u64,
}

impl PurchaseSim {
    /// The same purchase with its draws keyed to `series` too, so every trace of a suite gets its
    /// own interruption stream from one seed.
    pub fn for_series(&self, series: &str) -> PurchaseSim {
        PurchaseSim {
            seed: self.seed ^ fnv1a(series.as_bytes()).rotate_left(17),
            ..self.clone()
        }
    }

    /// Checks the settings and that they name this instance type.
    pub fn validate(&self) -> Result<(), ReplayError> {
        self.spec.validate()?;
        if self.spec.instance_type != self.instance.name {
            return Err(prescale_policy::PricingError::UnknownInstance {
                name: self.spec.instance_type.clone(),
                known: vec![self.instance.name.clone()],
            }
            .into());
        }
        Ok(())
    }
}

/// One lane's purchase figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PurchaseRun {
    /// What the mix cost (committed base paid every step, spot at its price, on-demand).
    pub dollars: f64,
    /// What the same requested replicas cost all on-demand.
    pub dollars_on_demand: f64,
    /// Replica-hours by how they were bought (committed ones whether used or not).
    pub committed_hours: f64,
    pub spot_hours: f64,
    pub on_demand_hours: f64,
    /// The committed base at the end.
    pub committed: u32,
    /// Spot replicas reclaimed.
    pub interruptions: u64,
    /// Σ over steps of replicas missing after an interruption.
    pub replica_steps_lost: u64,
}

/// A lane's planner, interruption state and running figures.
pub(crate) struct LanePurchase {
    planner: PurchasePlanner,
    spot: Option<Spot>,
    hazard: f64,
    rng: SplitMix64,
    /// (first step it serves again, count), oldest first.
    lost: VecDeque<(usize, u32)>,
    loss_steps: usize,
    step_seconds: f64,
    run: PurchaseRun,
}

impl LanePurchase {
    pub(crate) fn new(
        sim: &PurchaseSim,
        lane: &str,
        kind: &PolicyKind,
        cfg: &SimConfig,
    ) -> Result<Self, ReplayError> {
        let loss_steps = cfg.delay_steps.max(1);
        let params = PlannerParams {
            step_seconds: cfg.step_seconds,
            loss_steps,
            violation_budget: kind
                .budget()
                .unwrap_or_else(|| HeadroomConfig::default().budget),
        };
        let planner = PurchasePlanner::new(&sim.instance, &sim.spec, &params)?;
        Ok(LanePurchase {
            hazard: planner.hazard(),
            planner,
            spot: sim.instance.spot.clone(),
            rng: SplitMix64(sim.seed ^ fnv1a(lane.as_bytes())),
            lost: VecDeque::new(),
            loss_steps,
            step_seconds: cfg.step_seconds,
            run: PurchaseRun::default(),
        })
    }

    /// Replicas missing at step `t` (reclaimed, replacement not yet serving).
    pub(crate) fn missing(&mut self, t: usize) -> u32 {
        while self.lost.front().is_some_and(|&(back, _)| back <= t) {
            self.lost.pop_front();
        }
        self.lost.iter().map(|&(_, n)| n).sum()
    }

    /// Step `t`: the low band's need is recorded, `requested` replicas are bought and paid for,
    /// and the spot ones among the `ready` draw interruptions. Returns the replicas missing.
    pub(crate) fn step(&mut self, t: usize, requested: u32, ready: u32, low_band_need: u32) -> u32 {
        self.planner.observe_low_band(low_band_need);
        let offset = t as f64 * self.step_seconds;
        let spot_price = self.spot.as_ref().map_or(0.0, |s| s.price_at(offset));
        let mix = self.planner.split(requested, spot_price);
        let hours = self.step_seconds / 3600.0;
        let r = &mut self.run;
        r.dollars += self.planner.hourly_cost(mix, spot_price) * hours;
        r.dollars_on_demand += self.planner.on_demand_cost(requested) * hours;
        r.committed_hours += f64::from(mix.committed) * hours;
        r.spot_hours += f64::from(mix.spot) * hours;
        r.on_demand_hours += f64::from(mix.on_demand) * hours;
        r.committed = mix.committed;
        let already = self.missing(t);
        let running_spot = mix.spot.min(ready.saturating_sub(already));
        let reclaimed = (0..running_spot)
            .filter(|_| self.rng.uniform() < self.hazard)
            .count() as u32;
        if reclaimed > 0 {
            self.run.interruptions += u64::from(reclaimed);
            self.lost.push_back((t + self.loss_steps, reclaimed));
        }
        let missing = already + reclaimed;
        self.run.replica_steps_lost += u64::from(missing);
        missing
    }

    pub(crate) fn finish(self) -> PurchaseRun {
        self.run
    }
}

/// FNV-1a of `bytes`: a stable per-lane seed offset.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_draws_are_in_range_and_repeat() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        for _ in 0..1000 {
            let x = a.uniform();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, b.uniform());
        }
        assert_ne!(fnv1a(b"predictive"), fnv1a(b"hpa"));
    }
}

//! Purchase options: how a replica count is bought — a committed (reserved) base, spot where the
//! workload tolerates interruption, on-demand for the rest — and what it costs. The one home of
//! the purchase-mix math, used by the replay and meant for the live loop.
//!
//! - **Committed base.** A commitment is paid every hour whether used or not, and is never given
//!   back. The planner keeps a histogram of the replicas the forecast's *lower* band needs (the
//!   low quantile: capacity that is almost always in use) and, every review (a day of steps),
//!   raises the base to the count that minimises the expected hourly cost over that histogram,
//!   given what the capacity above the base would cost (spot and on-demand). With on-demand
//!   above, that is the newsvendor quantile `1 − reserved / on_demand` of the low band.
//! - **Spot.** Only for an `interruptible` workload, only while cheaper than on-demand, for at
//!   most `max_spot_share` of the replicas, and for no more replicas than the violation budget
//!   allows: each spot replica is reclaimed with the step hazard `h`, and a reclaimed one is
//!   missing until its replacement is ready (`loss_steps`), so `s` spot replicas cost at most
//!   `s × h × loss_steps` of the budget's share of under-provisioned steps; half the policy's
//!   violation budget is given to interruptions ([`INTERRUPTION_SHARE`]).
//! - **On-demand** for whatever remains.

use crate::pricing::{PricedInstance, PricingError};
use std::collections::BTreeMap;

/// Share of the violation budget spot interruptions may use.
pub const INTERRUPTION_SHARE: f64 = 0.5;

/// A workload's purchase settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseSpec {
    /// The instance type one replica runs on (a name in the pricing catalogue).
    pub instance_type: String,
    /// Whether the workload tolerates spot interruptions.
    pub interruptible: bool,
    /// Highest share of the replicas bought on spot (0–1).
    pub max_spot_share: f64,
}

impl PurchaseSpec {
    /// Settings for `instance_type`: not interruptible, spot share 1 once it is.
    pub fn new(instance_type: impl Into<String>) -> Self {
        PurchaseSpec {
            instance_type: instance_type.into(),
            interruptible: false,
            max_spot_share: 1.0,
        }
    }

    /// Checks the settings against nothing but themselves.
    pub fn validate(&self) -> Result<(), PricingError> {
        if !(self.max_spot_share.is_finite() && (0.0..=1.0).contains(&self.max_spot_share)) {
            return Err(PricingError::Setting {
                field: "max_spot_share",
                value: self.max_spot_share.to_string(),
                reason: "must be within 0..=1",
            });
        }
        Ok(())
    }
}

/// How one step's replicas are bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mix {
    /// Committed replicas (paid whether used or not; may exceed the request).
    pub committed: u32,
    pub spot: u32,
    pub on_demand: u32,
}

/// How the planner prices and limits, fixed for one workload and step length.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerParams {
    /// Step length in seconds.
    pub step_seconds: f64,
    /// Steps a reclaimed spot replica is missing (until its replacement is ready), at least 1.
    pub loss_steps: usize,
    /// The policy's violation budget (share of steps under-provisioned).
    pub violation_budget: f64,
}

/// Decides the purchase mix step by step (see the module docs).
#[derive(Debug, Clone)]
pub struct PurchasePlanner {
    on_demand: f64,
    reserved: Option<f64>,
    /// (planning price, most spot replicas the budget allows: `None` = no limit), when spot is used.
    spot: Option<(f64, Option<u32>)>,
    max_spot_share: f64,
    hazard: f64,
    review_steps: usize,
    low_band: BTreeMap<u32, u64>,
    observed: usize,
    committed: u32,
}

impl PurchasePlanner {
    /// A planner for `spec` on `instance` (which must be the type the spec names).
    pub fn new(
        instance: &PricedInstance,
        spec: &PurchaseSpec,
        params: &PlannerParams,
    ) -> Result<Self, PricingError> {
        spec.validate()?;
        if instance.name != spec.instance_type {
            return Err(PricingError::UnknownInstance {
                name: spec.instance_type.clone(),
                known: vec![instance.name.clone()],
            });
        }
        if !(params.step_seconds.is_finite() && params.step_seconds > 0.0) {
            return Err(PricingError::Setting {
                field: "step_seconds",
                value: params.step_seconds.to_string(),
                reason: "must be finite and > 0",
            });
        }
        if !(params.violation_budget.is_finite() && params.violation_budget >= 0.0) {
            return Err(PricingError::Setting {
                field: "violation_budget",
                value: params.violation_budget.to_string(),
                reason: "must be finite and >= 0",
            });
        }
        let hazard = instance
            .spot
            .as_ref()
            .map_or(0.0, |s| s.step_hazard(params.step_seconds));
        let spot = instance
            .spot
            .as_ref()
            .filter(|_| spec.interruptible && spec.max_spot_share > 0.0)
            .map(|s| {
                let cap = spot_cap(
                    INTERRUPTION_SHARE * params.violation_budget,
                    hazard,
                    params.loss_steps.max(1),
                );
                (s.planning_price(), cap)
            });
        let review_steps = ((86_400.0 / params.step_seconds).round() as usize).max(1);
        Ok(PurchasePlanner {
            on_demand: instance.on_demand,
            reserved: instance.reserved,
            spot,
            max_spot_share: spec.max_spot_share,
            hazard,
            review_steps,
            low_band: BTreeMap::new(),
            observed: 0,
            committed: 0,
        })
    }

    /// Records the replicas the forecast's lower band needs this step; every `review` steps the
    /// committed base is raised to the cheapest count for what has been seen (never lowered).
    pub fn observe_low_band(&mut self, need: u32) {
        *self.low_band.entry(need).or_insert(0) += 1;
        self.observed += 1;
        if self.observed.is_multiple_of(self.review_steps) {
            self.committed = self.committed.max(self.best_commitment());
        }
    }

    /// Replicas committed so far.
    pub fn committed(&self) -> u32 {
        self.committed
    }

    /// The per-step chance that a running spot replica is reclaimed.
    pub fn hazard(&self) -> f64 {
        self.hazard
    }

    /// Steps between reviews of the committed base (a day).
    pub fn review_steps(&self) -> usize {
        self.review_steps
    }

    /// How `requested` replicas are bought now, with spot at `spot_price` (per hour).
    pub fn split(&self, requested: u32, spot_price: f64) -> Mix {
        let spot_price = self.spot.map(|(_, cap)| (spot_price, cap));
        split(
            requested,
            self.committed,
            spot_price,
            self.on_demand,
            self.max_spot_share,
        )
    }

    /// Dollars per hour of `mix` with spot at `spot_price`.
    pub fn hourly_cost(&self, mix: Mix, spot_price: f64) -> f64 {
        f64::from(mix.committed) * self.reserved.unwrap_or(self.on_demand)
            + f64::from(mix.spot) * spot_price
            + f64::from(mix.on_demand) * self.on_demand
    }

    /// Dollars per hour of `requested` replicas all bought on demand.
    pub fn on_demand_cost(&self, requested: u32) -> f64 {
        f64::from(requested) * self.on_demand
    }

    /// The committed count with the least expected hourly cost over the low-band histogram (the
    /// smallest of equals). Each sample's cost is piecewise linear in the commitment with kinks
    /// at its need and where its spot share saturates, so only those counts are tried.
    fn best_commitment(&self) -> u32 {
        let Some(reserved) = self.reserved else {
            return 0;
        };
        let spot = self.spot;
        let mut candidates: Vec<u32> = vec![0];
        for &n in self.low_band.keys() {
            candidates.push(n);
            let s = split(n, 0, spot, self.on_demand, self.max_spot_share).spot;
            candidates.push(n - s);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let cost = |r: u32| -> f64 {
            self.low_band
                .iter()
                .map(|(&n, &count)| {
                    let m = split(n, r, spot, self.on_demand, self.max_spot_share);
                    let spot_cost = spot.map_or(0.0, |(p, _)| p) * f64::from(m.spot);
                    count as f64
                        * (f64::from(r) * reserved
                            + spot_cost
                            + f64::from(m.on_demand) * self.on_demand)
                })
                .sum()
        };
        let mut best = (0, cost(0));
        for &r in &candidates[1..] {
            let c = cost(r);
            if c < best.1 - 1e-12 * best.1.abs().max(1.0) {
                best = (r, c);
            }
        }
        best.0
    }
}

/// The most spot replicas whose expected interruptions (`s × hazard × loss_steps` steps short per
/// step) stay within `budget`; `None` when spot is never reclaimed.
pub fn spot_cap(budget: f64, hazard: f64, loss_steps: usize) -> Option<u32> {
    if hazard <= 0.0 {
        return None;
    }
    let cap = budget / (hazard * loss_steps.max(1) as f64);
    Some(if cap >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        cap.floor().max(0.0) as u32
    })
}

/// `requested` over a committed base: spot (price and cap, when allowed) while cheaper than
/// on-demand and within the share, on-demand for the rest.
fn split(
    requested: u32,
    committed: u32,
    spot: Option<(f64, Option<u32>)>,
    on_demand: f64,
    max_spot_share: f64,
) -> Mix {
    let rest = requested.saturating_sub(committed);
    let spot_n = match spot {
        Some((price, cap)) if price < on_demand => {
            let by_share = (max_spot_share * f64::from(requested) + 1e-9).floor() as u32;
            rest.min(by_share).min(cap.unwrap_or(u32::MAX))
        }
        _ => 0,
    };
    Mix {
        committed,
        spot: spot_n,
        on_demand: rest - spot_n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{Spot, SpotPrice};

    fn instance(reserved: Option<f64>, spot: Option<(f64, f64)>) -> PricedInstance {
        PricedInstance {
            name: "m5.large".into(),
            vcpu: 2.0,
            memory_gib: 8.0,
            on_demand: 0.1,
            reserved,
            spot: spot.map(|(price, rate)| Spot {
                price: SpotPrice::Fixed(price),
                interruption_rate: rate,
            }),
            burstable_baseline: None,
            line: 1,
        }
    }

    fn params() -> PlannerParams {
        PlannerParams {
            step_seconds: 3600.0,
            loss_steps: 1,
            violation_budget: 0.01,
        }
    }

    #[test]
    fn the_base_is_the_newsvendor_quantile_of_the_low_band() {
        // reserved / on_demand = 0.6: commit the count the low band reaches 40% of the time.
        let mut p = PurchasePlanner::new(
            &instance(Some(0.06), None),
            &PurchaseSpec::new("m5.large"),
            &params(),
        )
        .unwrap();
        assert_eq!(p.review_steps(), 24);
        // Needs 1..=10, each 10% of the time: P(need >= r) = (11 - r) / 10 > 0.6 up to r = 4;
        // r = 5 breaks even, the smaller is kept.
        for i in 0..24 * 10 {
            p.observe_low_band(1 + (i % 10) as u32);
            if i < 23 {
                assert_eq!(p.committed(), 0, "no commitment before the first review");
            }
        }
        assert_eq!(p.committed(), 4);
        let m = p.split(7, 0.0);
        assert_eq!(
            m,
            Mix {
                committed: 4,
                spot: 0,
                on_demand: 3
            }
        );
        assert!((p.hourly_cost(m, 0.0) - (4.0 * 0.06 + 3.0 * 0.1)).abs() < 1e-12);
        // Fewer replicas than committed: the base is still paid.
        assert_eq!(
            p.split(2, 0.0),
            Mix {
                committed: 4,
                spot: 0,
                on_demand: 0
            }
        );
        // The base is never lowered.
        for _ in 0..24 * 100 {
            p.observe_low_band(1);
        }
        assert_eq!(p.committed(), 4);
    }

    #[test]
    fn spot_only_where_interruptible_cheaper_and_within_share_and_budget() {
        let inst = instance(Some(0.06), Some((0.04, 0.1)));
        let mut spec = PurchaseSpec::new("m5.large");
        let fixed = PurchasePlanner::new(&inst, &spec, &params()).unwrap();
        assert_eq!(fixed.split(10, 0.04).spot, 0, "not interruptible: no spot");
        spec.interruptible = true;
        spec.max_spot_share = 0.5;
        let mut p = PurchasePlanner::new(&inst, &spec, &params()).unwrap();
        assert_eq!(
            p.split(10, 0.04),
            Mix {
                committed: 0,
                spot: 5,
                on_demand: 5
            }
        );
        assert_eq!(p.split(10, 0.2).spot, 0, "spot dearer than on-demand now");
        // With half the replicas on spot, committing the other half pays.
        for _ in 0..24 {
            p.observe_low_band(10);
        }
        assert_eq!(p.committed(), 5);
        assert_eq!(
            p.split(10, 0.04),
            Mix {
                committed: 5,
                spot: 5,
                on_demand: 0
            }
        );
        // All spot allowed and cheaper than reserved: nothing is committed.
        spec.max_spot_share = 1.0;
        let mut all = PurchasePlanner::new(&inst, &spec, &params()).unwrap();
        for _ in 0..24 {
            all.observe_low_band(10);
        }
        assert_eq!(all.committed(), 0);
        assert_eq!(all.split(10, 0.04).spot, 10);
    }

    #[test]
    fn the_budget_caps_spot_replicas() {
        // A monthly rate of 1 reclaims every replica every step: no spot at all.
        assert_eq!(spot_cap(0.005, 1.0, 1), Some(0));
        assert_eq!(spot_cap(0.005, 0.001, 1), Some(5));
        assert_eq!(spot_cap(0.005, 0.001, 2), Some(2));
        assert_eq!(spot_cap(0.005, 0.0, 1), None);
        let mut spec = PurchaseSpec::new("m5.large");
        spec.interruptible = true;
        let p = PurchasePlanner::new(&instance(None, Some((0.04, 1.0))), &spec, &params()).unwrap();
        assert_eq!(p.split(10, 0.04).spot, 0);
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut spec = PurchaseSpec::new("m5.large");
        spec.max_spot_share = 1.5;
        assert!(
            PurchasePlanner::new(&instance(None, None), &spec, &params())
                .unwrap_err()
                .to_string()
                .contains("max_spot_share = 1.5")
        );
        let other = PurchaseSpec::new("c5.large");
        assert!(matches!(
            PurchasePlanner::new(&instance(None, None), &other, &params()),
            Err(PricingError::UnknownInstance { .. })
        ));
    }
}

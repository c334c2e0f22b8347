//! The purchase mix a live decision would buy (`[workload.purchase]`): the replicas it asks for
//! split into a committed (reserved) base, spot where the workload tolerates interruption, and
//! on-demand for the rest, with what that costs per hour against buying them all on demand.
//!
//! The math is `prescale_policy::purchase` (the one home, also used by `prescale simulate
//! --pricing`): once per decided step the replicas the forecast's *lower* band needs are recorded,
//! and every day of steps the committed base is raised to the expected-cost minimum over them
//! (never lowered). Spot is priced at the catalogue's fixed price, or at its recorded history at
//! this time of the history (repeated past its end). Nothing is bought: the mix is recorded with
//! the decision (`actions.purchase`) and exported on `/metrics` for whoever buys capacity.

use prescale_core::Timestamp;
use prescale_policy::need::replicas_for;
use prescale_policy::{
    PlannerParams, PricedInstance, PricingError, PurchasePlanner, PurchaseSpec, SpotPrice,
};
use serde::{Deserialize, Serialize};

use crate::{DecisionRecord, WorkloadSpec};

/// A workload's validated purchase settings: the priced type one replica runs on and how it may
/// be bought.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseMixSpec {
    pub instance: PricedInstance,
    pub spec: PurchaseSpec,
}

/// What one decision would buy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurchaseRecord {
    pub instance_type: String,
    /// Committed replicas (paid whether used or not; may exceed the request).
    pub committed: u32,
    pub spot: u32,
    pub on_demand: u32,
    /// Dollars per hour of the mix (the committed base at its reserved price, spot at `spot_price`).
    pub hourly_cost: f64,
    /// Dollars per hour of the requested replicas all bought on demand.
    pub hourly_cost_on_demand: f64,
    /// The spot price counted (per hour), when spot may be bought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_price: Option<f64>,
    /// Replicas the forecast's lower band needs (what the committed base is learned from), when
    /// the decision had a forecast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_band_replicas: Option<u32>,
}

/// The live planner of one workload.
#[derive(Debug, Clone)]
pub struct LivePurchase {
    planner: PurchasePlanner,
    instance: PricedInstance,
    capacity_per_replica: f64,
    step_ms: i64,
    /// The last step whose low band was recorded.
    last_step: Option<i64>,
}

impl LivePurchase {
    /// A planner for `mix` under the workload's `spec` (its step, lead and violation budget).
    pub fn new(mix: &PurchaseMixSpec, spec: &WorkloadSpec) -> Result<Self, PricingError> {
        let params = PlannerParams {
            step_seconds: spec.step_ms() as f64 / 1000.0,
            loss_steps: spec.decision_lead_steps().max(1),
            violation_budget: spec.budget,
        };
        Ok(LivePurchase {
            planner: PurchasePlanner::new(&mix.instance, &mix.spec, &params)?,
            instance: mix.instance.clone(),
            capacity_per_replica: spec.capacity_per_replica,
            step_ms: spec.step_ms(),
            last_step: None,
        })
    }

    /// The mix `record` would buy; its forecast's lower band is recorded once per step. `None`
    /// when the record asks for no replica count.
    pub fn record(&mut self, record: &DecisionRecord) -> Option<PurchaseRecord> {
        let requested = record.replicas_after?;
        let low_band = record
            .forecast
            .as_ref()
            .filter(|f| f.lower.is_finite())
            .map(|f| replicas_for(f.lower.max(0.0), self.capacity_per_replica));
        let step = record.at.0.div_euclid(self.step_ms);
        if self.last_step.is_none_or(|s| step > s) {
            if let Some(need) = low_band {
                self.planner.observe_low_band(need);
                self.last_step = Some(step);
            }
        }
        let spot_price = self.spot_price(record.at);
        let mix = self.planner.split(requested, spot_price.unwrap_or(0.0));
        Some(PurchaseRecord {
            instance_type: self.instance.name.clone(),
            committed: mix.committed,
            spot: mix.spot,
            on_demand: mix.on_demand,
            hourly_cost: self.planner.hourly_cost(mix, spot_price.unwrap_or(0.0)),
            hourly_cost_on_demand: self.planner.on_demand_cost(requested),
            spot_price: spot_price.filter(|_| mix.spot > 0),
            low_band_replicas: low_band,
        })
    }

    /// The spot price at `at`: the fixed one, or the history's at this time of it (repeated).
    fn spot_price(&self, at: Timestamp) -> Option<f64> {
        let spot = self.instance.spot.as_ref()?;
        let offset = match &spot.price {
            SpotPrice::Fixed(_) => 0.0,
            SpotPrice::History(h) => {
                let first = h.points().first().map_or(0, |p| p.0);
                (at.0.div_euclid(1000) - first) as f64
            }
        };
        Some(spot.price_at(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ForecastSummary, Inputs};
    use crate::Mode;
    use prescale_core::{MetricName, WorkloadId};
    use prescale_policy::{PricingCatalogue, PurchaseSpec};
    use std::time::Duration;

    const CATALOGUE: &str = r#"
[[instance]]
name = "m5.large"
vcpu = 2
memory_gib = 8
on_demand = 0.1
reserved = 0.06
spot = { price = 0.04, interruption_rate = 0.1 }
"#;

    fn spec() -> WorkloadSpec {
        let mut s = WorkloadSpec::new(
            WorkloadId::new("api").unwrap(),
            MetricName::new("rps").unwrap(),
            10.0,
        );
        s.step = Duration::from_secs(3600);
        s.budget = 0.05;
        s
    }

    fn record(at_h: i64, replicas: u32, lower: f64) -> DecisionRecord {
        DecisionRecord {
            workload: WorkloadId::new("api").unwrap(),
            at: Timestamp(at_h * 3_600_000 + 1_000),
            mode: Mode::Act,
            policy: "predictive".into(),
            replicas_before: None,
            replicas_after: Some(replicas),
            pre_guard: None,
            bound_by: None,
            reason: String::new(),
            reason_json: serde_json::Value::Null,
            forecast: Some(ForecastSummary {
                point: lower * 1.5,
                lower,
                upper: lower * 2.0,
                level: 95.0,
                horizon_steps: 1,
            }),
            model: None,
            inputs: Inputs::default(),
            feedback: Vec::new(),
            resources: None,
            actuation: None,
            actions: Default::default(),
        }
    }

    fn mix(interruptible: bool) -> PurchaseMixSpec {
        let c = PricingCatalogue::parse(CATALOGUE, |_| Err("none".into())).unwrap();
        PurchaseMixSpec {
            instance: c.instances[0].clone(),
            spec: PurchaseSpec {
                interruptible,
                ..PurchaseSpec::new("m5.large")
            },
        }
    }

    #[test]
    fn a_day_of_low_band_commits_a_base_and_the_rest_is_on_demand_or_spot() {
        let mut p = LivePurchase::new(&mix(false), &spec()).unwrap();
        // The first day: nothing committed yet, all on demand.
        let first = p.record(&record(0, 8, 50.0)).unwrap();
        assert_eq!((first.committed, first.spot, first.on_demand), (0, 0, 8));
        assert_eq!(first.low_band_replicas, Some(5));
        assert!((first.hourly_cost - 0.8).abs() < 1e-12);
        assert_eq!(first.hourly_cost, first.hourly_cost_on_demand);
        // The same step seen again is not a second observation; a day of steps with a lower
        // band needing 5 replicas commits 5 (reserved 0.06 < on demand 0.1).
        for h in 0..24 {
            p.record(&record(h, 8, 50.0));
        }
        let r = p.record(&record(24, 8, 50.0)).unwrap();
        assert_eq!((r.committed, r.spot, r.on_demand), (5, 0, 3));
        assert!((r.hourly_cost - (5.0 * 0.06 + 3.0 * 0.1)).abs() < 1e-12);
        assert!((r.hourly_cost_on_demand - 0.8).abs() < 1e-12);
        // A hold without a replica count buys nothing.
        let mut hold = record(25, 8, 50.0);
        hold.replicas_after = None;
        assert!(p.record(&hold).is_none());

        // Interruptible: the rest above the base goes to spot (within the budget's cap).
        let mut s = LivePurchase::new(&mix(true), &spec()).unwrap();
        let r = s.record(&record(0, 8, 50.0)).unwrap();
        assert!(r.spot > 0 && r.spot + r.on_demand == 8, "{r:?}");
        assert_eq!(r.spot_price, Some(0.04));
    }

    #[test]
    fn a_purchase_for_another_instance_type_is_refused() {
        let mut m = mix(false);
        m.spec.instance_type = "c5.large".into();
        let e = LivePurchase::new(&m, &spec()).unwrap_err().to_string();
        assert!(e.contains("c5.large"), "{e}");
    }
}

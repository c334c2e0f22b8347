//! What a configuration costs and how well it serves, step by step: the replay's per-policy
//! figures and a shadow's counterfactual ones (one home for both).

/// Cost and service figures of one policy on one trace (or one shadow over its live steps).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Steps simulated.
    pub steps: usize,
    /// Steps with demand > capacity × ready.
    pub under_steps: usize,
    /// Under-provisioned steps in percent of all steps (0–100).
    pub under_pct: f64,
    /// Σ max(0, demand − capacity × ready) / Σ demand, in percent (0 when demand sums to 0).
    pub unserved_pct: f64,
    /// Σ requested replicas × step, in replica-hours.
    pub cost: f64,
    /// `cost × price` when a price per replica-hour was given.
    pub cost_money: Option<f64>,
    /// cost ÷ the oracle's cost on the same trace (`None` when the oracle costs nothing).
    pub cost_vs_oracle: Option<f64>,
    /// Steps where the requested count changed.
    pub actions: usize,
    /// Largest single change of the requested count.
    pub max_step: u32,
}

/// Accumulates `Metrics` step by step.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    steps: usize,
    under_steps: usize,
    unserved: f64,
    demand: f64,
    replica_steps: f64,
    actions: usize,
    max_step: u32,
}

impl Tally {
    /// One step: `demand` against `served` capacity, the request going `from` → `to`.
    pub fn add(&mut self, demand: f64, served: f64, from: u32, to: u32) {
        self.steps += 1;
        if demand > served {
            self.under_steps += 1;
            self.unserved += demand - served;
        }
        self.demand += demand;
        self.replica_steps += f64::from(to);
        if to != from {
            self.actions += 1;
            self.max_step = self.max_step.max(to.abs_diff(from));
        }
    }

    /// The figures so far: cost in replica-hours (× `price` when given), against the oracle's cost.
    pub fn finish(
        &self,
        step_seconds: f64,
        price: Option<f64>,
        oracle_cost: Option<f64>,
    ) -> Metrics {
        let cost = self.replica_steps * step_seconds / 3600.0;
        let pct = |a: f64, b: f64| if b > 0.0 { 100.0 * a / b } else { 0.0 };
        Metrics {
            steps: self.steps,
            under_steps: self.under_steps,
            under_pct: pct(self.under_steps as f64, self.steps as f64),
            unserved_pct: pct(self.unserved, self.demand),
            cost,
            cost_money: price.map(|p| p * cost),
            cost_vs_oracle: oracle_cost.filter(|&o| o > 0.0).map(|o| cost / o),
            actions: self.actions,
            max_step: self.max_step,
        }
    }
}

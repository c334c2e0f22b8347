//! The stored, explained form of one control decision: inputs and their freshness, model, forecast
//! and band, the rule that decided, the guard that bound the result and what it would have been
//! without it, and what the actuator did.

use crate::Mode;
use prescale_core::{Timestamp, WorkloadId};
use serde::{Deserialize, Serialize};

/// One decision of one workload at one tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub workload: WorkloadId,
    pub at: Timestamp,
    pub mode: Mode,
    /// The policy's label (`predictive`, `hpa@0.50`, ...).
    pub policy: String,
    /// Replicas known before the decision (the actuator's report, else the last decision); `None`
    /// when nothing is known yet.
    pub replicas_before: Option<u32>,
    /// Replicas the decision asks for; `None` on a hold with nothing known to hold.
    pub replicas_after: Option<u32>,
    /// What the policy wanted before its guards changed it (`None` when no guard changed it or no
    /// policy ran).
    pub pre_guard: Option<u32>,
    /// The guard that bound the result last (e.g. `bounds [1, 10]`), if any.
    pub bound_by: Option<String>,
    /// The explanation, rendered.
    pub reason: String,
    /// The explanation as structured JSON (`rule` names the variant).
    pub reason_json: serde_json::Value,
    pub forecast: Option<ForecastSummary>,
    /// The forecasting model used, when a forecast was made.
    pub model: Option<String>,
    pub inputs: Inputs,
    /// What the feedback loop noticed since the last decision: anomalous steps kept out of
    /// training, drift and the refit it forced, a refit rejected for a worse fit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<String>,
    /// Per-replica CPU and memory requests, when the workload sizes them (`[workload.resources]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceDecision>,
    /// What the actuator did (`None` until [`crate::actuate`] ran).
    pub actuation: Option<Actuation>,
    /// Orchestration beside the replica count: a warm-up fired, a staged change, an upstream's
    /// predicted rise carried over.
    #[serde(default, skip_serializing_if = "Actions::is_empty")]
    pub actions: Actions,
}

/// What a decision did beside sizing (each `None` when it did not apply).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<crate::warmup::WarmupFired>,
    /// A change going in stages: this decision's stage and what the health gate said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<crate::stages::StageRecord>,
    /// An upstream's predicted rise raised the replicas (see [`crate::graph`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<crate::graph::UpstreamRecord>,
    /// How the replicas asked for would be bought (`[workload.purchase]`; see
    /// [`crate::purchase_mix`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase: Option<crate::purchase_mix::PurchaseRecord>,
}

impl Actions {
    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self == &Actions::default()
    }
}

impl DecisionRecord {
    /// The idempotency key of this decision: `workload@at_ms`.
    pub fn decision_id(&self) -> String {
        format!("{}@{}", self.workload, self.at.0)
    }

    /// Whether the decision changes a per-replica request.
    pub fn is_resize(&self) -> bool {
        self.resources
            .as_ref()
            .is_some_and(ResourceDecision::changes)
    }

    /// Whether the decision changes the replica count.
    pub fn is_scale(&self) -> bool {
        matches!((self.replicas_before, self.replicas_after), (Some(b), Some(a)) if a != b)
            || (self.replicas_before.is_none() && self.replicas_after.is_some())
    }
}

/// The CPU and memory part of a decision (see [`crate::rightsize`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceDecision {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ResourceChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ResourceChoice>,
    /// The cheapest instance type one replica fits, when a catalogue is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceChoice>,
}

impl ResourceDecision {
    /// Whether any request changes (or is set for the first time).
    pub fn changes(&self) -> bool {
        let requests = [&self.cpu, &self.memory]
            .into_iter()
            .flatten()
            .any(|c| c.after.is_some() && c.after != c.before);
        let instance = self
            .instance
            .as_ref()
            .is_some_and(|i| i.after.is_some() && i.after != i.before);
        requests || instance
    }

    /// The per-replica requests to set: every sized resource with a value.
    pub fn desired(&self) -> Option<prescale_actuate::Resources> {
        let cpu = self.cpu.as_ref().and_then(|c| c.after);
        let memory = self.memory.as_ref().and_then(|c| c.after);
        (cpu.is_some() || memory.is_some()).then(|| prescale_actuate::Resources {
            cpu_millis: cpu.map(|c| (c * 1000.0).round() as u64),
            memory_bytes: memory.map(|m| m.round() as u64),
        })
    }
}

/// The instance type chosen for one replica's requests, and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceChoice {
    /// The type known before (the actuator's report, else the last decision).
    pub before: Option<String>,
    /// The type asked for (`before` when nothing fits).
    pub after: Option<String>,
    pub vcpu: Option<f64>,
    pub memory_gib: Option<f64>,
    pub hourly_price: Option<f64>,
    /// `hourly_price × replicas`.
    pub hourly_cost: Option<f64>,
    /// Work per core on the chosen type over the cores the requests were measured on, when
    /// speeds were learned (`prescale_learn::environment`); 1 for a type without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Where the chosen type's speed came from: measured, borrowed from similar workloads, or
    /// the catalogue only (no speed learned for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<prescale_policy::instances::CapacitySource>,
    pub reason: String,
}

/// One resource's per-replica request: before, after, what the model asked for before the guards,
/// which guard bound it, the use it was sized on and the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChoice {
    /// The series of the workload's total use.
    pub metric: String,
    /// `cores` or `bytes`.
    pub unit: String,
    /// Per-replica request known before (the actuator's report, else the last decision).
    pub before: Option<f64>,
    /// Per-replica request asked for; `None` on a hold with nothing known.
    pub after: Option<f64>,
    /// Per-replica request before the guards.
    pub recommended: Option<f64>,
    /// The guard that bound the result last, if any.
    pub bound_by: Option<String>,
    /// Total use in the last complete step.
    pub usage: Option<f64>,
    /// Age of the newest use sample in seconds.
    pub freshness_s: Option<f64>,
    /// The fitted use model (`None` while the recent peak stands in).
    pub model: Option<UsageModel>,
    /// Memory sized from the runtime's live heap after GC (see [`crate::heap`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<crate::heap::HeapSizing>,
    /// Memory raised at once after OOM kills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom: Option<crate::heap::OomBump>,
    pub reason: String,
}

/// Total use ≈ `base + per_unit × demand`, fitted on `steps` steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageModel {
    pub base: f64,
    pub per_unit: f64,
    /// 90th percentile of the fit's residuals, added to the prediction.
    pub residual_p90: f64,
    pub steps: usize,
}

/// The forecast the decision was sized on, at the lead time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastSummary {
    pub point: f64,
    pub lower: f64,
    pub upper: f64,
    /// Interval level in percent.
    pub level: f64,
    /// Steps ahead of the last complete step.
    pub horizon_steps: usize,
}

/// What the decision saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Timestamp of the newest sample in the window.
    pub last_sample_at: Option<Timestamp>,
    /// Samples in the window handed to the tick.
    pub samples: usize,
    /// Age of the newest sample in seconds.
    pub freshness_s: Option<f64>,
    /// Aligned steps of history the controller holds.
    pub history_steps: usize,
    /// Demand of the last complete step (the policy's `demand`).
    pub demand: Option<f64>,
}

/// What happened when the decision was handed to the actuator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Actuation {
    /// Not handed over (forecast-only mode, or nothing to set).
    Skipped { why: String },
    /// The actuator set the state.
    Applied {
        actuator: String,
        changed: bool,
        detail: String,
    },
    /// The actuator failed (after its own retries).
    Failed {
        actuator: String,
        error: String,
        retryable: bool,
    },
    /// The circuit breaker is open: the actuator was not tried.
    CircuitOpen {
        actuator: String,
        retry_after_ms: u64,
    },
    /// A kill switch stopped the request.
    KillSwitch { actuator: String, scope: String },
}

//! The `PredictiveScaler` custom resource (`prescale.io/v1alpha1`): the Kubernetes-native way to configure a workload.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::target::{KubeTarget, WorkloadKind};

/// Which workload a `PredictiveScaler` scales (in its own namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleTargetRef {
    pub kind: WorkloadKind,
    pub name: String,
    /// Container whose CPU/memory is set; the first container when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

/// One demand metric and how much of it one replica serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerMetric {
    /// Metric name as stored by prescale (e.g. `http_requests_per_second`).
    pub name: String,
    /// Load one replica can carry within its SLO (same unit as the metric).
    pub capacity_per_replica: f64,
}

/// One resource sized per replica: the series of the workload's total use and the bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerResource {
    /// Series of the workload's total use (all replicas), as stored by prescale.
    pub metric: String,
    /// Multiplier from the metric's unit to cores (CPU) or bytes (memory); 1 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Smallest per-replica request (a quantity: `50m`, `64Mi`); 10m CPU / 16Mi memory when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    /// Largest per-replica request (a quantity: `4`, `8Gi`); 64 CPU / 256Gi memory when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// Per-replica CPU and memory requests sized ahead of demand, set on the target's container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerResources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<ScalerResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ScalerResource>,
    /// Share added above the predicted use; 0.15 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headroom: Option<f64>,
    /// No change within this share of the current request (each change rolls the pods); 0.1
    /// when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// A lower request waits until every recommendation over this window was lower (e.g. `10m`,
    /// the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization: Option<String>,
}

/// Another series whose demand predicts this workload's (the upstream service's load predicts the
/// downstream one's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerPredictor {
    /// The predicting workload's prescale id.
    pub workload: String,
    /// Its series' metric; the demand metric prescale controls it by when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

/// A known event on the workload's calendar: the fleet forecaster learns what each kind does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerEvent {
    /// When it starts (RFC 3339, e.g. `2025-11-28T08:00:00Z`).
    pub at: String,
    /// `release`, `campaign` or `holiday`.
    pub kind: String,
    /// When it ends (RFC 3339, after `at`); the step holding `at` (a day for a holiday) when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// The workload's service-level objective in its own terms (reported by what-if replays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerSlo {
    /// The workload's own series, e.g. `latency_p99_seconds` or `queue_depth`.
    pub metric: String,
    /// The objective: the series stays at or under this, in its unit.
    pub max: f64,
    /// `latency` (default) or `queue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The replica count series a latency estimate learns from; prescale's decision log when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_metric: Option<String>,
}

/// A candidate configuration that decides beside the acting one without acting (an A/B test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerShadow {
    pub name: String,
    /// A policy name as in `spec.policy`; the acting one's when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation_budget: Option<f64>,
    /// The predictive policy's starting headroom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headroom: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Back-off and circuit breaker around the Kubernetes API calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerRetry {
    /// First wait (default `200ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Longest wait (default `10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    /// Attempts per request including the first (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Consecutive failures that open the breaker (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// How long the breaker stays open (default `60s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for: Option<String>,
}

/// What a warm-up fires: a webhook only (an `exec` program is not accepted from a resource that
/// anyone allowed to write scalers could change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScalerWarmupType {
    #[serde(rename = "webhook")]
    Webhook,
}

/// The webhook a warm-up fires, sent the decision as the webhook actuator is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerWarmupAction {
    #[serde(rename = "type")]
    pub type_: ScalerWarmupType,
    pub url: String,
    /// The environment variable of the daemon holding the signing secret (required: a secret
    /// written in the spec would be readable by anyone who can read scalers).
    pub secret_env: String,
    /// Request timeout (e.g. `5s`); `10s` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// A warm-up action fired ahead of a predicted surge, once per surge (act mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerWarmup {
    /// How long before the predicted surge starts it fires (e.g. `5m`).
    pub before: String,
    /// The predicted rise over the current level that makes a surge, in percent (e.g. 50).
    pub rise_percent: f64,
    pub action: ScalerWarmupAction,
}

/// The health gate between stages: a series of the workload's and its ceiling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerGate {
    /// E.g. `latency_p99_seconds`.
    pub metric: String,
    /// Healthy while the series is at or under this.
    pub max: f64,
}

/// Large replica changes in stages behind a health gate (go on, pause, roll back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerStages {
    /// Most replicas added or removed per stage (at least 1).
    pub max_step: u32,
    /// Least time between stages (e.g. `2m`).
    pub interval: String,
    pub gate: ScalerGate,
    /// Unhealthy checks in a row that roll the change back; 2 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_limit: Option<u32>,
}

/// How the replicas would be bought: each decision records the purchase mix (committed, spot,
/// on-demand) and its hourly cost; nothing is bought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerPurchase {
    /// The name of a pricing catalogue the daemon lists in `[kubernetes] pricing` (a scaler names
    /// one of those, never a file).
    pub pricing: String,
    /// The catalogue's type one replica runs on; its first type when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// The workload tolerates spot interruptions; false (no spot) when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interruptible: Option<bool>,
    /// Highest share of the replicas bought on spot, 0 to 1; 1 when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_spot_share: Option<f64>,
}

/// Whether the scaler only forecasts and records, or also acts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScalerMode {
    #[default]
    #[serde(rename = "forecast-only")]
    ForecastOnly,
    #[serde(rename = "act")]
    Act,
}

impl std::fmt::Display for ScalerMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScalerMode::ForecastOnly => "forecast-only",
            ScalerMode::Act => "act",
        })
    }
}

fn default_violation_budget() -> f64 {
    0.01
}

fn default_lead_time() -> String {
    "5m".to_string()
}

/// Spec of a `PredictiveScaler`.
// `printcolumn(...)` entries repeat `type_ = "string"`, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "prescale.io",
    version = "v1alpha1",
    kind = "PredictiveScaler",
    plural = "predictivescalers",
    shortname = "psc",
    namespaced,
    status = "PredictiveScalerStatus",
    printcolumn(name = "Target", type_ = "string", json_path = ".spec.targetRef.name"),
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.mode"),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.desiredReplicas"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PredictiveScalerSpec {
    pub target_ref: ScaleTargetRef,
    /// The demand metric (a list for forward compatibility; exactly one is supported today).
    #[schemars(length(min = 1, max = 1))]
    pub metrics: Vec<ScalerMetric>,
    /// Lower bound on replicas, whatever the forecast says.
    pub min_replicas: u32,
    /// Upper bound on replicas, whatever the forecast says.
    pub max_replicas: u32,
    /// How far ahead to provision (e.g. `90s`, `5m`): at least the workload's start-up time.
    #[serde(default = "default_lead_time")]
    pub lead_time: String,
    /// Allowed fraction of time above capacity (0 to 1); sets the forecast quantile acted on.
    #[serde(default = "default_violation_budget")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub violation_budget: f64,
    #[serde(default)]
    pub mode: ScalerMode,
    /// The prescale workload id this scaler configures (the id its telemetry is stored under);
    /// `{namespace}/{targetRef.name}` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// Decision step (e.g. `1m`): samples are averaged per step, one decision per step; `1m` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Seasonal period handed to the forecaster (e.g. `1d`); none when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<String>,
    /// Scaling policy: a name — `predictive` (default), `predictive@0.02`, `hpa`, `hpa@0.6`,
    /// `threshold`, `threshold@1.3/0.7` (scale-up / scale-down thresholds as multiples of current
    /// capacity) — or a table tagged by `kind` with the settings a name cannot carry, e.g.
    /// `{kind: threshold, up: 1.3, down: 0.7, resize: 1.1}` or
    /// `{kind: hpa, target: 0.6, tolerance: 0.05, stabilization_seconds: 120}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "policy_schema")]
    pub policy: Option<serde_json::Value>,
    /// Cold start: until the workload has history enough to fit, it is forecast from the profile
    /// of this cluster — another workload's id, or `key=value[,key=value]` labels its siblings
    /// carry — scaled to its own level. Its own nearest cluster when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<String>,
    /// Per-replica CPU and memory requests sized with each decision; replicas only when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ScalerResources>,
    /// Other series whose demand predicts this workload's (at most 2); none when omitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predictors: Vec<ScalerPredictor>,
    /// Known events (besides the annotations tagged `release`, `campaign` or `holiday`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ScalerEvent>,
    /// The forecasting model: `auto` (default, chosen per workload by backtest), `seasonal-naive`,
    /// `ets`, `mstl`, `arima`, `gbm`, `gru`, `lstm`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Hold (never scale in) once the newest sample is older than this (e.g. `10m`); `5m` when
    /// omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_after: Option<String>,
    /// Train on the forecast instead of the actual at anomalous steps; false when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_anomalies: Option<bool>,
    /// The service-level objective in the workload's own terms; none when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<ScalerSlo>,
    /// Candidate configurations deciding beside the acting one without acting; none when omitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadows: Vec<ScalerShadow>,
    /// Back-off and circuit breaker around the API calls; the defaults when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<ScalerRetry>,
    /// A webhook fired ahead of a predicted surge; none when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<ScalerWarmup>,
    /// Large replica changes in stages behind a health gate; one step when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<ScalerStages>,
    /// Upstream workloads (prescale ids) whose predicted rise this one follows; none when omitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// The purchase mix each decision is priced with; none when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase: Option<ScalerPurchase>,
}

/// `spec.policy` is a name or a table: any value is kept for the daemon's one validation to read
/// (a structural schema cannot say "string or object" otherwise).
fn policy_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "Scaling policy: a name (predictive, predictive@0.02, hpa, hpa@0.6, threshold, threshold@1.3/0.7) or a table tagged by kind ({kind: threshold, up: 1.3, down: 0.7}).",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// One condition in the status (`Ready`, `Forecasting`, `Acting`, ...), as in `metav1.Condition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerCondition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// RFC 3339 time of the last status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// Status of a `PredictiveScaler`, written by prescale through `predictivescalers/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredictiveScalerStatus {
    /// The last decision's one-line explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision: Option<String>,
    /// RFC 3339 time of the last decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision_time: Option<String>,
    /// Mode the last decision was made in (`act` decisions were handed to the actuator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision_mode: Option<ScalerMode>,
    /// Replicas before the last decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_replicas: Option<u32>,
    /// Replicas the last decision asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_replicas: Option<u32>,
    /// Per-replica CPU request the last decision asked for (a quantity), when sized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_cpu: Option<String>,
    /// Per-replica memory request the last decision asked for (a quantity), when sized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_memory: Option<String>,
    /// Point forecast of the demand at the lead time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_point: Option<f64>,
    /// Upper bound of the demand forecast at the lead time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_upper: Option<f64>,
    /// The lead time the forecast is for (e.g. `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_lead: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ScalerCondition>,
}

/// One problem with a scaler's spec, with the field path (e.g. `spec.leadTime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl PredictiveScalerSpec {
    /// The actuator target this spec names, in `namespace`.
    pub fn target(&self, namespace: &str) -> KubeTarget {
        KubeTarget {
            kind: self.target_ref.kind,
            namespace: namespace.to_string(),
            name: self.target_ref.name.clone(),
            container: self.target_ref.container.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;

    fn spec() -> PredictiveScalerSpec {
        serde_json::from_value(serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"name": "rps", "capacityPerReplica": 50.0}],
            "minReplicas": 2, "maxReplicas": 20
        }))
        .unwrap()
    }

    #[test]
    fn defaults_and_target() {
        let s = spec();
        assert_eq!(s.mode, ScalerMode::ForecastOnly);
        assert_eq!(s.lead_time, "5m");
        assert_eq!(s.target("shop").to_string(), "Deployment/shop/web");
    }

    #[test]
    fn crd_names() {
        let crd = PredictiveScaler::crd();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("predictivescalers.prescale.io")
        );
        assert_eq!(crd.spec.scope, "Namespaced");
    }
}

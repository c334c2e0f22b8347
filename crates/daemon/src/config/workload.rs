//! One workload's configuration, typed: what a `[[workload]]` table and a `PredictiveScaler` spec
//! both become ([`WorkloadConfig`]), validated by one function into a [`ControlledWorkload`].

use super::error::Problem;
use super::validate::{Check, MILLI, SECOND};
use super::ControlledWorkload;
use prescale_actuate::{ActuatorConfig, KubernetesTarget, Registry};
use prescale_control::Mode;
use prescale_kube::{PredictiveScalerSpec, SpecProblem};
use serde::Deserialize;

/// One workload as written: a `[[workload]]` table (deserialised as is) or a `PredictiveScaler`
/// spec ([`WorkloadConfig::from_scaler`]). Values are checked by [`WorkloadConfig::validate`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    pub workload: String,
    /// The demand series of the workload.
    pub metric: String,
    pub capacity_per_replica: f64,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub lead: Option<String>,
    pub step: Option<String>,
    pub budget: Option<f64>,
    /// `predictive` (default), `hpa`, `hpa@0.6`, `threshold`, `threshold@1.3/0.7`,
    /// `predictive@0.02`: a name (`"hpa@0.6"`) or a table tagged by `kind` (see `prescale_policy::spec`), read in
    /// validation so that its problems are named with their path like every other.
    pub policy: Option<toml::Value>,
    pub stale_after: Option<String>,
    pub season: Option<String>,
    pub mode: Option<String>,
    /// Tagged by `type`: `dry-run` (default), `webhook`, `exec`, `process-pool`, `kubernetes`;
    /// each built by the kind registered for it.
    pub actuator: Option<ActuatorConfig>,
    /// prescale-actuate `RetryConfig`: back-off and circuit breaker around the actuator.
    pub retry: Option<toml::Value>,
    /// Cold start: what the workload is like until its own history can be fitted — another
    /// workload's id, or label matchers `k=v,k2=v2` its siblings carry. Default: its own nearest
    /// cluster, once it has a fingerprint.
    pub like: Option<String>,
    /// Per-replica CPU and memory requests sized ahead of demand (default: replicas only).
    pub resources: Option<ResourcesConfig>,
    /// Other series whose demand predicts this workload's, for the fleet forecaster (at most 2):
    /// `"workload"` (its controlled demand) or `{ workload = "w", metric = "m" }` (a stored series).
    pub predictors: Option<Vec<toml::Value>>,
    /// Known events, for the fleet forecaster: `{ at = <time>, kind = "release|campaign|holiday",
    /// until = <time> }` (RFC 3339 times; `until` optional).
    pub events: Option<Vec<toml::Value>>,
    /// The forecasting model (default `auto`).
    pub model: Option<String>,
    /// Train on the forecast instead of the actual at anomalous steps (default false).
    pub exclude_anomalies: Option<bool>,
    /// `[[workload.shadow]]`: candidate configurations that decide beside the acting one on the
    /// same live data without acting (A/B tests), promotable at run time.
    pub shadow: Option<Vec<ShadowConfig>>,
    /// `[workload.warmup]`: a webhook or exec target fired ahead of a predicted surge.
    pub warmup: Option<super::actions::WarmupConfig>,
    /// `[workload.slo]`: the objective in the workload's own terms (latency or queue series).
    pub slo: Option<super::slo::SloConfig>,
    /// `[workload.stages]`: large replica changes in stages behind a health gate.
    pub stages: Option<super::actions::StagesConfig>,
    /// Upstream workloads (configured `[[workload]]` ids) whose predicted rise this one follows.
    pub depends_on: Option<Vec<String>>,
    /// `[workload.purchase]`: the pricing catalogue and settings each decision's purchase mix is
    /// priced with.
    pub purchase: Option<super::PurchaseConfig>,
}

/// One `[[workload.shadow]]`: the acting configuration with some settings changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowConfig {
    pub name: String,
    /// A policy name or table, as the workload's `policy`.
    pub policy: Option<toml::Value>,
    pub budget: Option<f64>,
    /// The predictive policy's starting headroom.
    pub headroom: Option<f64>,
    pub lead: Option<String>,
    pub model: Option<String>,
}

/// `[workload.resources]`: which series measure the workload's total CPU and memory use, and how
/// the per-replica requests are bounded and changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesConfig {
    pub cpu: Option<ResourceConfig>,
    pub memory: Option<ResourceConfig>,
    /// Share above the predicted use (default 0.15).
    pub headroom: Option<f64>,
    /// Changes within this share of the current request are not made (default 0.1).
    pub tolerance: Option<f64>,
    /// A lower request waits until every recommendation over this window was lower (default 10m).
    pub stabilization: Option<String>,
    /// Steps the use model is fitted on (default 360).
    pub fit_steps: Option<usize>,
    /// `"builtin"` or the path of a TOML file of `[[instance]]` tables (name, vcpu, memory_gib,
    /// hourly_price; a burstable type also `burstable = true` and `baseline_cpu_share`, and only
    /// that share of its vCPU counts): each decision also names the cheapest type one replica fits
    /// (needs both cpu and memory sized).
    pub instance_types: Option<String>,
    /// How a Go or JVM heap estimate (scraped GC gauges) sizes memory instead of its use series.
    pub memory_runtime: Option<super::sizing::MemoryRuntimeConfig>,
}

/// One sized resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The workload's total use, e.g. the agent's `cpu_cores` or `rss_bytes`.
    pub metric: String,
    /// Multiplier to cores or bytes (default 1).
    pub scale: Option<f64>,
    /// Per-replica bounds as Kubernetes quantities: `10m`, `0.5`, `4` for CPU (default 10m and 64),
    /// `64Mi`, `8Gi` for memory (default 16Mi and 256Gi).
    pub min: Option<String>,
    pub max: Option<String>,
}

/// Where a workload's settings were written, for the paths of its problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The config file's `workload[i]`.
    File(usize),
    /// A `PredictiveScaler`'s `spec`.
    Scaler,
}

impl Origin {
    /// The path of `field` (a `[[workload]]` key, possibly followed by `.sub.path`) as its
    /// author wrote it: `workload[2].lead`, or `spec.leadTime` for a scaler.
    pub fn at(self, field: &str) -> String {
        match self {
            Origin::File(i) => format!("workload[{i}].{field}"),
            Origin::Scaler => {
                let (head, rest) = match field.split_once('.') {
                    Some((h, r)) => (h, Some(r)),
                    None => (field, None),
                };
                let head = match head {
                    "spec" => return "spec".to_string(),
                    "workload" => "workload".to_string(),
                    "metric" => "metrics[0].name".to_string(),
                    "capacity_per_replica" => "metrics[0].capacityPerReplica".to_string(),
                    "min" => "minReplicas".to_string(),
                    "max" => "maxReplicas".to_string(),
                    "lead" => "leadTime".to_string(),
                    "budget" => "violationBudget".to_string(),
                    "actuator" => "targetRef".to_string(),
                    other => match other.strip_prefix("shadow[") {
                        Some(index) => format!("shadows[{index}"),
                        None => camel(other),
                    },
                };
                // A shadow's settings are named as the spec names them.
                let rest = rest.map(|r| match r {
                    "lead" if head.starts_with("shadows[") => "leadTime".to_string(),
                    "budget" if head.starts_with("shadows[") => "violationBudget".to_string(),
                    r => camel(r),
                });
                match rest {
                    Some(r) => format!("spec.{head}.{r}"),
                    None => format!("spec.{head}"),
                }
            }
        }
    }

    /// The prefix nested problems are reported under (`workload[2]`, `spec`).
    pub fn root(self) -> String {
        match self {
            Origin::File(i) => format!("workload[{i}]"),
            Origin::Scaler => "spec".to_string(),
        }
    }
}

/// `stale_after` → `staleAfter` (each `_x` → `X`).
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// A scaler's `spec.policy` (a name, or a table tagged by `kind`) as the `policy` a table writes.
fn policy_value(p: &serde_json::Value) -> Result<toml::Value, SpecProblem> {
    match p {
        serde_json::Value::String(name) => Ok(toml::Value::String(name.trim().to_string())),
        other => toml::Value::try_from(other).map_err(|e| SpecProblem {
            path: "spec.policy".into(),
            message: format!("not a policy name or table: {e}"),
        }),
    }
}

/// A scaler's `spec.shadows[i]` as a `[[workload.shadow]]`.
fn shadow_config(s: &prescale_kube::ScalerShadow) -> ShadowConfig {
    ShadowConfig {
        name: s.name.clone(),
        policy: s
            .policy
            .as_deref()
            .map(|p| toml::Value::String(p.trim().to_string())),
        budget: s.violation_budget,
        headroom: s.headroom,
        lead: s.lead_time.clone(),
        model: s.model.clone(),
    }
}

/// A scaler's `spec.retry` as the `retry` table a `[[workload]]` writes.
fn retry_table(r: &prescale_kube::ScalerRetry) -> Result<toml::Value, SpecProblem> {
    let table = prescale_actuate::RetryConfig {
        base: r.base.clone(),
        max: r.max.clone(),
        max_attempts: r.max_attempts,
        failure_threshold: r.failure_threshold,
        open_for: r.open_for.clone(),
    };
    toml::Value::try_from(&table).map_err(|e| SpecProblem {
        path: "spec.retry".into(),
        message: e.to_string(),
    })
}

/// A scaler's `spec.warmup` as a `[workload.warmup]` (its action a webhook, the secret by
/// environment variable).
fn warmup_config(w: &prescale_kube::ScalerWarmup) -> super::actions::WarmupConfig {
    let prescale_kube::ScalerWarmupType::Webhook = w.action.type_;
    super::actions::WarmupConfig {
        before: w.before.clone(),
        rise_percent: w.rise_percent,
        action: ActuatorConfig::Webhook(prescale_actuate::WebhookConfig {
            url: w.action.url.clone(),
            secret: None,
            secret_env: Some(w.action.secret_env.clone()),
            timeout: w.action.timeout.clone(),
            headers: w.action.headers.clone(),
        }),
    }
}

/// A scaler's `spec.stages` as a `[workload.stages]`.
fn stages_config(s: &prescale_kube::ScalerStages) -> super::actions::StagesConfig {
    super::actions::StagesConfig {
        max_step: s.max_step,
        interval: s.interval.clone(),
        gate: super::actions::GateConfig {
            metric: s.gate.metric.clone(),
            max: s.gate.max,
        },
        pause_limit: s.pause_limit,
    }
}

/// A scaler's `spec.purchase` as a `[workload.purchase]`: its catalogue name resolved to the file
/// the daemon lists for it.
fn purchase_config(
    p: &prescale_kube::ScalerPurchase,
    pricing: &std::collections::BTreeMap<String, String>,
) -> Result<super::PurchaseConfig, SpecProblem> {
    let Some(file) = pricing.get(p.pricing.trim()) else {
        let known = pricing.keys().cloned().collect::<Vec<_>>();
        return Err(SpecProblem {
            path: "spec.purchase.pricing".into(),
            message: if known.is_empty() {
                format!(
                    "catalogue {:?}: the daemon lists none ([kubernetes] pricing)",
                    p.pricing
                )
            } else {
                format!(
                    "catalogue {:?} is not one the daemon lists ([kubernetes] pricing: {})",
                    p.pricing,
                    known.join(", ")
                )
            },
        });
    };
    Ok(super::PurchaseConfig {
        pricing: file.clone(),
        instance_type: p.instance_type.clone(),
        interruptible: p.interruptible,
        max_spot_share: p.max_spot_share,
    })
}

impl WorkloadConfig {
    /// The settings a `PredictiveScaler` in `namespace` writes, as a `[[workload]]` would: its
    /// first metric, bounds, lead, step, budget, policy, mode, model, cold start, resources,
    /// exogenous inputs, warm-up, stages, `depends_on` and purchase, and a `kubernetes` actuator
    /// on its target. `pricing` maps the catalogue names a scaler may use to their files
    /// (`[kubernetes] pricing`). Only the workload id, the metric list, an unlisted catalogue and
    /// values TOML cannot hold can fail here; every value is checked by
    /// [`WorkloadConfig::validate`].
    pub fn from_scaler(
        namespace: &str,
        spec: &PredictiveScalerSpec,
        pricing: &std::collections::BTreeMap<String, String>,
    ) -> Result<WorkloadConfig, SpecProblem> {
        let workload = prescale_kube::workload_id(namespace, spec)?;
        let first = match spec.metrics.as_slice() {
            [] => {
                return Err(SpecProblem {
                    path: "spec.metrics".into(),
                    message: "at least one metric is required".into(),
                })
            }
            [one] => one,
            more => {
                return Err(SpecProblem {
                    path: "spec.metrics".into(),
                    message: format!(
                        "{} metrics given: exactly one demand metric is supported",
                        more.len()
                    ),
                })
            }
        };
        let values = |items: Vec<Result<toml::Value, toml::ser::Error>>, path: &str| {
            items
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SpecProblem {
                    path: format!("spec.{path}"),
                    message: e.to_string(),
                })
        };
        let predictors = values(
            spec.predictors.iter().map(toml::Value::try_from).collect(),
            "predictors",
        )?;
        let events = values(
            spec.events.iter().map(toml::Value::try_from).collect(),
            "events",
        )?;
        let resource = |r: &prescale_kube::ScalerResource| ResourceConfig {
            metric: r.metric.clone(),
            scale: r.scale,
            min: r.min.clone(),
            max: r.max.clone(),
        };
        let purchase = spec
            .purchase
            .as_ref()
            .map(|p| purchase_config(p, pricing))
            .transpose()?;
        Ok(WorkloadConfig {
            workload: workload.to_string(),
            metric: first.name.clone(),
            capacity_per_replica: first.capacity_per_replica,
            min: Some(spec.min_replicas),
            max: Some(spec.max_replicas),
            lead: Some(spec.lead_time.clone()),
            step: spec.step.clone(),
            budget: Some(spec.violation_budget),
            policy: spec.policy.as_ref().map(policy_value).transpose()?,
            stale_after: spec.stale_after.clone(),
            season: spec.season.clone(),
            mode: Some(spec.mode.to_string()),
            actuator: Some(ActuatorConfig::Kubernetes(KubernetesTarget::from(
                &spec.target(namespace),
            ))),
            retry: spec.retry.as_ref().map(retry_table).transpose()?,
            like: spec
                .like
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
            resources: spec.resources.as_ref().map(|r| ResourcesConfig {
                cpu: r.cpu.as_ref().map(resource),
                memory: r.memory.as_ref().map(resource),
                headroom: r.headroom,
                tolerance: r.tolerance,
                stabilization: r.stabilization.clone(),
                fit_steps: None,
                instance_types: None,
                memory_runtime: None,
            }),
            predictors: (!predictors.is_empty()).then_some(predictors),
            events: (!events.is_empty()).then_some(events),
            model: spec.model.clone(),
            exclude_anomalies: spec.exclude_anomalies,
            shadow: (!spec.shadows.is_empty())
                .then(|| spec.shadows.iter().map(shadow_config).collect()),
            warmup: spec.warmup.as_ref().map(warmup_config),
            slo: spec.slo.as_ref().map(|o| super::slo::SloConfig {
                metric: o.metric.clone(),
                max: o.max,
                kind: o.kind.clone(),
                replicas_metric: o.replicas_metric.clone(),
            }),
            stages: spec.stages.as_ref().map(stages_config),
            depends_on: (!spec.depends_on.is_empty()).then(|| spec.depends_on.clone()),
            purchase,
        })
    }

    /// The one validation of a workload's settings, wherever they were written (`origin` names
    /// the paths of its problems): every problem, or the controlled workload. `global` is the
    /// mode of a workload without its own; `registry` checks the actuator by its type.
    pub fn validate(
        self,
        origin: Origin,
        global: Mode,
        registry: &Registry,
    ) -> Result<ControlledWorkload, Vec<Problem>> {
        let mut c = Check::default();
        let out = self.check(&mut c, origin, global, registry);
        match (out, c.into_problems()) {
            (Some(w), problems) if problems.is_empty() => Ok(w),
            (_, problems) => Err(problems),
        }
    }

    /// As [`validate`](Self::validate), reporting to `c`; `None` when the workload cannot be
    /// built at all (its id, metric or actuator unusable).
    pub(super) fn check(
        self,
        c: &mut Check,
        origin: Origin,
        global: Mode,
        registry: &Registry,
    ) -> Option<ControlledWorkload> {
        use prescale_control::WorkloadSpec;
        let f = self;
        let at = |field: &str| origin.at(field);
        let workload = prescale_core::WorkloadId::new(f.workload.clone());
        let metric = prescale_core::MetricName::new(f.metric.clone());
        let (workload, metric) = match (workload, metric) {
            (Ok(w), Ok(m)) => (w, m),
            (Err(e), _) => {
                c.fail(at("workload"), e.to_string());
                return None;
            }
            (_, Err(e)) => {
                c.fail(at("metric"), e.to_string());
                return None;
            }
        };
        if f.max == Some(0) {
            c.fail(
                at("max"),
                "must be ≥ 1 (a workload with no replica serves nothing)",
            );
        }
        let mut spec = WorkloadSpec::new(workload, metric, f.capacity_per_replica);
        spec.min = f.min.unwrap_or(spec.min);
        spec.max = f.max.unwrap_or(spec.max);
        spec.lead = c.duration(&at("lead"), f.lead.as_deref(), spec.lead, MILLI);
        spec.step = c.duration(&at("step"), f.step.as_deref(), spec.step, MILLI);
        spec.stale_after = c.duration(
            &at("stale_after"),
            f.stale_after.as_deref(),
            spec.stale_after,
            MILLI,
        );
        if let Some(s) = f.season.as_deref() {
            spec.season = Some(c.duration(&at("season"), Some(s), spec.step, MILLI));
        }
        if let Some(p) = f.policy.clone() {
            match <prescale_policy::PolicyKind as serde::Deserialize>::deserialize(p) {
                Ok(k) => spec.policy = k,
                Err(e) => c.fail(at("policy"), e.to_string()),
            }
        }
        // `budget` wins; else the policy's own (`predictive@0.02`), else the default.
        spec.budget = f
            .budget
            .or_else(|| spec.policy.budget())
            .unwrap_or(spec.budget);
        let own_mode = f.mode.as_deref().map(|m| {
            m.parse::<Mode>().unwrap_or_else(|e| {
                c.fail(at("mode"), e);
                global
            })
        });
        spec.mode = own_mode.unwrap_or(global);
        if let Some(r) = f.resources {
            spec.resources = Some(resources(c, &at("resources"), r));
        }
        spec.exclude_anomalies = f.exclude_anomalies.unwrap_or(false);
        if let Some(o) = f.slo {
            spec.slo = super::slo::slo(c, &at("slo"), o);
        }
        let warmup = f.warmup.and_then(|w| {
            let (when, target) = super::actions::warmup(c, origin, registry, w)?;
            spec.warmup = Some(when);
            Some(target)
        });
        if let Some(s) = f.stages {
            spec.stages = super::actions::stages(c, origin, s);
        }
        if let Some(m) = f.model.as_deref() {
            match m.parse::<prescale_forecast::ModelKind>() {
                Ok(k) => spec.model = k,
                Err(e) => c.fail(at("model"), e.to_string()),
            }
        }
        let retry: prescale_actuate::RetryConfig = c.typed(&at("retry"), f.retry);
        if let Err(problems) = retry.validate_at(&at("retry")) {
            for p in problems {
                c.fail(p.path, p.message);
            }
        }
        if let Err(e) = spec.validate() {
            c.fail(at("spec"), e.to_string());
        }
        let actuator =
            f.actuator
                .unwrap_or(ActuatorConfig::DryRun(prescale_actuate::DryRunConfig {
                    capacity: 1000,
                }));
        match registry.check(&actuator, &at("actuator")) {
            Err(problems) => {
                for p in problems {
                    c.fail(p.path, p.message);
                }
            }
            Ok(()) => {
                if let Err(why) = super::program::runnable(&actuator) {
                    c.fail(at("actuator.program"), why);
                }
            }
        }
        let like = f.like.as_deref().and_then(|text| {
            text.parse::<prescale_learn::Like>()
                .map_err(|e| c.fail(at("like"), e.to_string()))
                .ok()
        });
        let shadows = shadows(c, origin, &spec, f.shadow.unwrap_or_default());
        let drivers = super::drivers::of_workload(
            c,
            &origin.root(),
            (&spec.workload, &spec.metric),
            f.predictors,
            f.events,
        );
        Some(ControlledWorkload {
            spec,
            own_mode,
            actuator,
            retry,
            like,
            drivers,
            shadows,
            warmup,
            depends_on: super::actions::depends_on(c, &at("depends_on"), f.depends_on),
            purchase: f
                .purchase
                .and_then(|p| super::purchase::purchase(c, origin, p)),
        })
    }
}

/// `[[workload.shadow]]` entries into shadow specs, each checked against the workload's spec as
/// the controller will resolve it (unique names, a valid policy, budget, headroom, lead, model).
fn shadows(
    c: &mut Check,
    origin: Origin,
    spec: &prescale_control::WorkloadSpec,
    files: Vec<ShadowConfig>,
) -> Vec<prescale_control::ShadowSpec> {
    let mut out: Vec<prescale_control::ShadowSpec> = Vec::new();
    for (j, f) in files.into_iter().enumerate() {
        let at = |field: &str| origin.at(&format!("shadow[{j}].{field}"));
        let policy = f.policy.and_then(|p| {
            <prescale_policy::PolicyKind as serde::Deserialize>::deserialize(p)
                .map_err(|e| c.fail(at("policy"), e.to_string()))
                .ok()
        });
        let model = f.model.as_deref().and_then(|m| {
            m.parse::<prescale_forecast::ModelKind>()
                .map_err(|e| c.fail(at("model"), e.to_string()))
                .ok()
        });
        let lead = f
            .lead
            .as_deref()
            .map(|l| c.duration(&at("lead"), Some(l), spec.lead, MILLI));
        let s = prescale_control::ShadowSpec {
            name: f.name.trim().to_string(),
            policy,
            budget: f.budget,
            headroom: f.headroom,
            lead,
            model,
        };
        if s.name.is_empty() || out.iter().any(|o| o.name == s.name) {
            c.fail(
                at("name"),
                format!("{:?} must be non-empty and unique", s.name),
            );
        } else if let Err(e) = s.apply(spec) {
            c.fail(origin.at(&format!("shadow[{j}]")), e.to_string());
        }
        out.push(s);
    }
    out
}

/// `[workload.resources]` into a `ResourceSpec`, parsed as a PredictiveScaler's `spec.resources`
/// is (the spec's own range checks run with the workload's).
fn resources(c: &mut Check, path: &str, f: ResourcesConfig) -> prescale_control::ResourceSpec {
    let table = |r: ResourceConfig| prescale_kube::ScalerResource {
        metric: r.metric,
        scale: r.scale,
        min: r.min,
        max: r.max,
    };
    let mut problems = Vec::new();
    let settings = prescale_kube::ResourceSettings::parse(
        path,
        &prescale_kube::ScalerResources {
            cpu: f.cpu.map(table),
            memory: f.memory.map(table),
            headroom: f.headroom,
            tolerance: f.tolerance,
            // Parsed below with the config's own duration rules.
            stabilization: None,
        },
        &mut problems,
    );
    for p in problems {
        c.fail(p.path, p.message);
    }
    let mut out = super::sizing::resource_spec(&settings);
    out.stabilization = c.duration(
        &format!("{path}.stabilization"),
        f.stabilization.as_deref(),
        out.stabilization,
        SECOND,
    );
    out.fit_steps = f.fit_steps.unwrap_or(out.fit_steps);
    if let Some(m) = f.memory_runtime {
        out.memory_runtime = super::sizing::heap_rule(c, &format!("{path}.memory_runtime"), m);
    }
    out.instance_types = f.instance_types.as_deref().and_then(|source| {
        super::sizing::instance_catalogue(source)
            .map_err(|e| c.fail(format!("{path}.instance_types"), e))
            .ok()
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaler(extra: serde_json::Value) -> PredictiveScalerSpec {
        let mut base = serde_json::json!({
            "targetRef": {"kind": "StatefulSet", "name": "db", "container": "main"},
            "metrics": [{"name": "rps", "capacityPerReplica": 50.0}],
            "minReplicas": 2, "maxReplicas": 20, "leadTime": "90s", "violationBudget": 0.02,
            "mode": "act", "step": "30s", "season": "1d", "policy": "threshold@1.3/0.7",
            "model": "ets", "staleAfter": "10m", "excludeAnomalies": true, "like": "shop/api",
            "resources": {"cpu": {"metric": "cpu_cores", "min": "100m"}, "headroom": 0.2},
            "predictors": [{"workload": "shop/front"}],
            "events": [{"at": "2026-12-24T00:00:00Z", "kind": "holiday"}]
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    const SAME_AS_TOML: &str = r#"
workload = "shop/db"
metric = "rps"
capacity_per_replica = 50.0
min = 2
max = 20
lead = "90s"
budget = 0.02
mode = "act"
step = "30s"
season = "1d"
policy = "threshold@1.3/0.7"
model = "ets"
stale_after = "10m"
exclude_anomalies = true
like = "shop/api"
actuator = { type = "kubernetes", kind = "StatefulSet", namespace = "shop", name = "db", container = "main" }
resources = { cpu = { metric = "cpu_cores", min = "100m" }, headroom = 0.2 }
predictors = [{ workload = "shop/front" }]
events = [{ at = "2026-12-24T00:00:00Z", kind = "holiday" }]
"#;

    use super::super::test_support::registry;

    #[test]
    fn a_scaler_and_a_workload_table_become_the_same_workload() {
        let from_toml: WorkloadConfig = toml::from_str(SAME_AS_TOML).unwrap();
        let a = from_toml
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let b = WorkloadConfig::from_scaler(
            "shop",
            &scaler(serde_json::json!({})),
            &Default::default(),
        )
        .unwrap()
        .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
        .unwrap();
        assert_eq!(a.spec, b.spec);
        assert_eq!(a.actuator, b.actuator);
        assert_eq!(a.own_mode, Some(Mode::Act));
        assert_eq!(a.own_mode, b.own_mode);
        assert_eq!(a.drivers, b.drivers);
        assert_eq!(a.retry, b.retry);
        assert_eq!(a.like.map(|l| l.to_string()), b.like.map(|l| l.to_string()));
        // The settings the scaler gained with the shared type reach the controller.
        assert_eq!(b.spec.model, prescale_forecast::ModelKind::Ets);
        assert_eq!(b.spec.stale_after, std::time::Duration::from_secs(600));
        assert!(b.spec.exclude_anomalies);
    }

    #[test]
    fn a_scaler_prices_with_a_catalogue_the_daemon_lists_and_never_names_a_file() {
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/pricing.example.toml")
            .to_str()
            .unwrap()
            .to_string();
        let listed: std::collections::BTreeMap<String, String> =
            [("aws".to_string(), example.clone())].into();
        let purchase = serde_json::json!({"purchase": {
            "pricing": "aws", "instanceType": "c5.large", "interruptible": true, "maxSpotShare": 0.5
        }});
        let b = WorkloadConfig::from_scaler("shop", &scaler(purchase), &listed)
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap();
        // The same purchase as the table writes.
        let a = toml::from_str::<WorkloadConfig>(&format!(
            "{SAME_AS_TOML}[purchase]\npricing = {example:?}\ninstance_type = \"c5.large\"\ninterruptible = true\nmax_spot_share = 0.5\n"
        ))
        .unwrap()
        .validate(Origin::File(0), Mode::ForecastOnly, &registry())
        .unwrap();
        let (a, b) = (a.purchase.unwrap(), b.purchase.unwrap());
        assert_eq!(b.instance.name, "c5.large");
        assert_eq!(a.instance.name, b.instance.name);
        assert_eq!(a.spec, b.spec);

        // A name the daemon does not list, or a file path, is refused naming the known ones.
        for name in ["gcp", example.as_str()] {
            let bad = scaler(serde_json::json!({"purchase": {"pricing": name}}));
            let p = WorkloadConfig::from_scaler("shop", &bad, &listed).unwrap_err();
            assert_eq!(p.path, "spec.purchase.pricing");
            assert!(p.message.contains("aws"), "{p}");
        }
        let none = WorkloadConfig::from_scaler(
            "shop",
            &scaler(serde_json::json!({"purchase": {"pricing": "aws"}})),
            &Default::default(),
        )
        .unwrap_err();
        assert!(none.message.contains("lists none"), "{none}");
        // A bad value is named by the spec's own path.
        let bad = scaler(serde_json::json!({"purchase": {"pricing": "aws", "maxSpotShare": 1.5}}));
        let problems = WorkloadConfig::from_scaler("shop", &bad, &listed)
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.path == "spec.purchase.maxSpotShare"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_scalers_problems_carry_its_own_paths() {
        let bad = scaler(serde_json::json!({
            "model": "crystal-ball", "staleAfter": "soon", "leadTime": "later",
            "policy": "magic", "targetRef": {"kind": "Deployment", "name": "db"},
            "resources": {"cpu": {"metric": "cpu_cores", "min": "lots"}},
            "minReplicas": 30
        }));
        let problems = WorkloadConfig::from_scaler("shop", &bad, &Default::default())
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "spec.model",
            "spec.staleAfter",
            "spec.leadTime",
            "spec.policy",
            "spec.resources.cpu.min",
            "spec",
        ] {
            assert!(paths.contains(&want), "{want} not in {problems:?}");
        }
    }

    #[test]
    fn a_scalers_slo_shadows_and_retry_match_the_tables() {
        let toml_text = format!(
            "{SAME_AS_TOML}retry = {{ base = \"500ms\", max_attempts = 6, open_for = \"2m\" }}\n\
             [slo]\nmetric = \"latency_p99\"\nmax = 0.4\n\
             [[shadow]]\nname = \"lean\"\npolicy = \"predictive@0.05\"\nlead = \"2m\"\n"
        );
        let a = toml::from_str::<WorkloadConfig>(&toml_text)
            .unwrap()
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let b = WorkloadConfig::from_scaler(
            "shop",
            &scaler(serde_json::json!({
                "retry": {"base": "500ms", "maxAttempts": 6, "openFor": "2m"},
                "slo": {"metric": "latency_p99", "max": 0.4},
                "shadows": [{"name": "lean", "policy": "predictive@0.05", "leadTime": "2m"}]
            })),
            &Default::default(),
        )
        .unwrap()
        .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
        .unwrap();
        assert_eq!(a.spec, b.spec);
        assert_eq!(a.retry, b.retry);
        assert_eq!(a.retry.max_attempts, Some(6));
        assert_eq!(a.shadows, b.shadows);
        assert_eq!(b.shadows.len(), 1);
        assert_eq!(b.spec.slo.as_ref().unwrap().max, 0.4);

        // Their problems carry the spec's paths; a second metric is refused, not ignored.
        let bad = scaler(serde_json::json!({
            "retry": {"base": "soon"},
            "slo": {"metric": "latency_p99", "max": -1.0},
            "shadows": [{"name": "x", "leadTime": "later", "violationBudget": 3.0}]
        }));
        let problems = WorkloadConfig::from_scaler("shop", &bad, &Default::default())
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "spec.retry.base",
            "spec.slo.max",
            "spec.shadows[0].leadTime",
            // A shadow's range problems are checked with its whole spec, named at the shadow.
            "spec.shadows[0]",
        ] {
            assert!(paths.contains(&want), "{want} not in {problems:?}");
        }
        let two = scaler(serde_json::json!({"metrics": [
            {"name": "rps", "capacityPerReplica": 50.0},
            {"name": "cpu", "capacityPerReplica": 0.8}
        ]}));
        let p = WorkloadConfig::from_scaler("shop", &two, &Default::default()).unwrap_err();
        assert_eq!(p.path, "spec.metrics");
        assert!(p.message.contains("exactly one"), "{p:?}");
    }

    #[test]
    fn a_scalers_warmup_stages_and_depends_on_match_the_tables() {
        let toml_text = format!(
            "{SAME_AS_TOML}depends_on = [\"shop/front\"]\n\
             [warmup]\nbefore = \"5m\"\nrise_percent = 40\n\
             action = {{ type = \"webhook\", url = \"http://127.0.0.1:9/warm\", secret_env = \"WARM_SECRET\", timeout = \"3s\" }}\n\
             [stages]\nmax_step = 4\ninterval = \"2m\"\npause_limit = 3\n\
             gate = {{ metric = \"latency_p99_seconds\", max = 0.3 }}\n"
        );
        let a = toml::from_str::<WorkloadConfig>(&toml_text)
            .unwrap()
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let fields = serde_json::json!({
            "dependsOn": ["shop/front"],
            "warmup": {"before": "5m", "risePercent": 40.0, "action": {
                "type": "webhook", "url": "http://127.0.0.1:9/warm", "secretEnv": "WARM_SECRET",
                "timeout": "3s"}},
            "stages": {"maxStep": 4, "interval": "2m", "pauseLimit": 3,
                "gate": {"metric": "latency_p99_seconds", "max": 0.3}}
        });
        let b = WorkloadConfig::from_scaler("shop", &scaler(fields.clone()), &Default::default())
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap();
        assert_eq!(a.spec, b.spec);
        assert!(b.spec.warmup.is_some() && b.spec.stages.is_some());
        assert_eq!(b.spec.stages.as_ref().unwrap().pause_limit, 3);
        assert_eq!(a.warmup, b.warmup);
        assert!(matches!(b.warmup, Some(ActuatorConfig::Webhook(_))));
        assert_eq!(a.depends_on, b.depends_on);
        assert_eq!(b.depends_on[0].as_str(), "shop/front");

        // Bad values are refused, each named by the spec's own path.
        let mut bad = fields;
        bad["dependsOn"] = serde_json::json!(["shop/front", ""]);
        bad["warmup"]["before"] = serde_json::json!("soon");
        bad["warmup"]["risePercent"] = serde_json::json!(-5.0);
        bad["warmup"]["action"]["url"] = serde_json::json!("ftp://x");
        bad["stages"]["maxStep"] = serde_json::json!(0);
        bad["stages"]["interval"] = serde_json::json!("often");
        bad["stages"]["pauseLimit"] = serde_json::json!(0);
        bad["stages"]["gate"]["metric"] = serde_json::json!("");
        let problems = WorkloadConfig::from_scaler("shop", &scaler(bad), &Default::default())
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "spec.dependsOn[1]",
            "spec.warmup.before",
            "spec.warmup.risePercent",
            "spec.warmup.action.url",
            "spec.stages.maxStep",
            "spec.stages.interval",
            "spec.stages.pauseLimit",
            "spec.stages.gate.metric",
        ] {
            assert!(paths.contains(&want), "{want} not in {problems:?}");
        }
        // An exec warm-up cannot be written in a scaler: the schema's type admits a webhook only.
        let exec = serde_json::json!({"before": "5m", "risePercent": 40.0,
            "action": {"type": "exec", "url": "x", "secretEnv": "S"}});
        let mut base = serde_json::to_value(scaler(serde_json::json!({}))).unwrap();
        base["warmup"] = exec;
        let e = serde_json::from_value::<PredictiveScalerSpec>(base).unwrap_err();
        assert!(e.to_string().contains("exec"), "{e}");
    }

    #[test]
    fn a_scalers_policy_table_matches_the_toml_table() {
        let toml_text = SAME_AS_TOML.replace(
            "policy = \"threshold@1.3/0.7\"",
            "policy = { kind = \"threshold\", up = 1.4, down = 0.6, resize = 1.2 }",
        );
        let a = toml::from_str::<WorkloadConfig>(&toml_text)
            .unwrap()
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let table = serde_json::json!({"kind": "threshold", "up": 1.4, "down": 0.6, "resize": 1.2});
        let b = WorkloadConfig::from_scaler(
            "shop",
            &scaler(serde_json::json!({ "policy": table })),
            &Default::default(),
        )
        .unwrap()
        .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
        .unwrap();
        assert_eq!(a.spec.policy, b.spec.policy);
        assert_ne!(
            b.spec.policy,
            "threshold@1.3/0.7".parse().unwrap(),
            "the table's own thresholds"
        );
        let bad = scaler(serde_json::json!({"policy": {"kind": "threshold", "upp": 2.0}}));
        let problems = WorkloadConfig::from_scaler("shop", &bad, &Default::default())
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap_err();
        let p = problems.iter().find(|p| p.path == "spec.policy").unwrap();
        assert!(p.message.contains("upp"), "{p:?}");
    }

    #[test]
    fn paths_follow_where_the_setting_was_written() {
        for (field, file, crd) in [
            ("lead", "workload[3].lead", "spec.leadTime"),
            ("min", "workload[3].min", "spec.minReplicas"),
            (
                "capacity_per_replica",
                "workload[3].capacity_per_replica",
                "spec.metrics[0].capacityPerReplica",
            ),
            ("stale_after", "workload[3].stale_after", "spec.staleAfter"),
            (
                "actuator.kind",
                "workload[3].actuator.kind",
                "spec.targetRef.kind",
            ),
            (
                "resources.fit_steps",
                "workload[3].resources.fit_steps",
                "spec.resources.fitSteps",
            ),
            ("spec", "workload[3].spec", "spec"),
        ] {
            assert_eq!(Origin::File(3).at(field), file);
            assert_eq!(Origin::Scaler.at(field), crd);
        }
    }

    #[test]
    fn memory_runtime_reaches_the_spec_and_bad_values_are_named() {
        let text = format!(
            "{SAME_AS_TOML}\n[resources.memory_runtime]\njvm_occupancy = 0.6\nnon_heap = \"300Mi\"\n"
        )
        .replace(
            "resources = { cpu = { metric = \"cpu_cores\", min = \"100m\" }, headroom = 0.2 }",
            "[resources]\ncpu = { metric = \"cpu_cores\", min = \"100m\" }\nmemory = { metric = \"rss_bytes\" }\nheadroom = 0.2",
        );
        // The [resources] table must come after the top-level keys.
        let (head, tail) = text.split_once("[resources]").unwrap();
        let (res, rest) = tail.split_once("predictors").unwrap();
        let (rest_keys, runtime) = rest.split_once("\n[resources.memory_runtime]").unwrap();
        let text = format!(
            "{head}predictors{rest_keys}\n[resources]{res}\n[resources.memory_runtime]{runtime}"
        );
        let w: WorkloadConfig = toml::from_str(&text).unwrap();
        let ok = w
            .clone()
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let rule = ok.spec.resources.unwrap().memory_runtime;
        assert_eq!(rule.jvm_occupancy, 0.6);
        assert_eq!(rule.non_heap_bytes, Some(300.0 * 1024.0 * 1024.0));
        let bad: WorkloadConfig = toml::from_str(
            &text
                .replace("jvm_occupancy = 0.6", "jvm_occupancy = 1.5")
                .replace("\"300Mi\"", "\"lots\""),
        )
        .unwrap();
        let problems = bad
            .validate(Origin::File(2), Mode::ForecastOnly, &registry())
            .unwrap_err();
        let all = format!("{problems:?}");
        assert!(
            all.contains("workload[2].resources.memory_runtime.non_heap"),
            "{all}"
        );
        assert!(all.contains("jvm_occupancy"), "{all}");
    }

    #[test]
    fn an_unknown_actuator_type_is_a_parse_error_naming_it() {
        let text = SAME_AS_TOML.replace("type = \"kubernetes\"", "type = \"nomad\"");
        let e = toml::from_str::<WorkloadConfig>(&text).unwrap_err();
        assert!(e.to_string().contains("nomad"), "{e}");
    }
}

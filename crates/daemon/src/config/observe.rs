//! `[observe]`: forecast-only forecasts of the busiest discovered workloads, typed and validated.

use super::file::FileObserve;
use super::validate::Check;
use prescale_control::{Mode, WorkloadSpec};
use prescale_core::{MetricName, WorkloadId};
use std::time::Duration;

/// Observe mode: every `rescan`, the store's workloads are listed, each one's demand metric is
/// picked (the first of `metrics` it has, else with `any_metric` its series with the most
/// samples), and the `max_workloads` busiest (highest recent mean of that metric) get a
/// forecast-only controller with a dry-run actuator. Configured workloads are never observed.
#[derive(Debug, Clone, PartialEq)]
pub struct ObserveConfig {
    /// Preferred demand metrics, in order.
    pub metrics: Vec<MetricName>,
    /// Whether a workload with none of `metrics` is observed on its most-sampled series.
    pub any_metric: bool,
    pub max_workloads: usize,
    pub step: Duration,
    pub lead: Duration,
    pub capacity_per_replica: f64,
    pub rescan: Duration,
}

/// Refit every this many steps: few, so the first forecast needs little history (the forecaster
/// wants `11 + 2 × refit_every + lead_steps + 1` steps: 26 steps, 130 s at the defaults).
pub const OBSERVE_REFIT_EVERY: usize = 4;
/// Steps of history fitted (an hour at the default step).
pub const OBSERVE_HISTORY_STEPS: usize = 720;
/// Replica bound of what an observed workload would do (high: it only reports).
pub const OBSERVE_MAX_REPLICAS: u32 = 10_000;

impl Default for ObserveConfig {
    fn default() -> Self {
        ObserveConfig {
            metrics: vec![MetricName::new("cpu_cores").expect("a valid metric name")],
            any_metric: true,
            max_workloads: 200,
            step: Duration::from_secs(5),
            lead: Duration::from_secs(30),
            capacity_per_replica: 1.0,
            rescan: Duration::from_secs(60),
        }
    }
}

impl ObserveConfig {
    /// The forecast-only spec an observed workload runs on.
    pub fn spec(&self, workload: WorkloadId, metric: MetricName) -> WorkloadSpec {
        let mut spec = WorkloadSpec::new(workload, metric, self.capacity_per_replica);
        spec.step = self.step;
        spec.lead = self.lead;
        spec.max = OBSERVE_MAX_REPLICAS;
        spec.refit_every = OBSERVE_REFIT_EVERY;
        spec.history_steps = OBSERVE_HISTORY_STEPS;
        spec.season = None;
        spec.mode = Mode::ForecastOnly;
        spec
    }
}

/// `[observe]`; `None` when off. `controlled`: a `[[workload]]` or PredictiveScalers are configured
/// (then it is off unless `enabled = true`).
pub(super) fn observe(
    c: &mut Check,
    f: Option<FileObserve>,
    controlled: bool,
) -> Option<ObserveConfig> {
    let d = ObserveConfig::default();
    let Some(f) = f else {
        return (!controlled).then_some(d);
    };
    let mut out = d.clone();
    if let Some(names) = f.metrics {
        out.metrics.clear();
        for (i, name) in names.into_iter().enumerate() {
            let path = format!("observe.metrics[{i}]");
            match MetricName::new(name.clone()) {
                Ok(m) if out.metrics.contains(&m) => c.fail(path, format!("{name:?} is repeated")),
                Ok(m) => out.metrics.push(m),
                Err(e) => c.fail(path, e.to_string()),
            }
        }
    }
    out.any_metric = f.any_metric.unwrap_or(d.any_metric);
    if out.metrics.is_empty() && !out.any_metric && !c.failed_under("observe.metrics") {
        c.fail(
            "observe.metrics",
            "is empty and any_metric = false: no workload could be observed",
        );
    }
    out.max_workloads = c.positive("observe.max_workloads", f.max_workloads, d.max_workloads);
    out.step = c.duration(
        "observe.step",
        f.step.as_deref(),
        d.step,
        Duration::from_secs(1),
    );
    out.lead = c.duration(
        "observe.lead",
        f.lead.as_deref(),
        d.lead,
        Duration::from_secs(1),
    );
    out.rescan = c.duration(
        "observe.rescan",
        f.rescan.as_deref(),
        d.rescan,
        Duration::from_secs(1),
    );
    if let Some(cap) = f.capacity_per_replica {
        if cap > 0.0 && cap.is_finite() {
            out.capacity_per_replica = cap;
        } else {
            c.fail(
                "observe.capacity_per_replica",
                format!("{cap} must be positive and finite"),
            );
        }
    }
    if !c.failed_under("observe") {
        let probe = out.spec(
            WorkloadId::new("observed").expect("a valid workload id"),
            MetricName::new("demand").expect("a valid metric name"),
        );
        if let Err(e) = probe.validate() {
            c.fail("observe", e.to_string());
        }
    }
    f.enabled.unwrap_or(!controlled).then_some(out)
}

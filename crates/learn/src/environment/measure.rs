//! Capacities learned from the store: for each workload with a demand and a CPU series and an
//! environment in its labels, the steps' demand, CPU and replicas (step means, joined on the step)
//! fitted by [`super::fit_capacity`]. One environment per workload: the one its series' labels
//! name as stored now (the store keeps a series' newest labels), so only the newest `window` of
//! each series is used.

use super::{fit_capacity, workload_environment, CapacityFit, EnvironmentKey, Observation};
use crate::resources::{ResourceMetric, ResourceMetrics};
use crate::LearnError;
use prescale_core::{MetricName, Sample, SeriesKey, WorkloadId};
use prescale_store::{SeriesInfo, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to measure from.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureOptions {
    /// The demand, CPU and replica metrics (the first a workload has of each list is used).
    pub resources: ResourceMetrics,
    /// Only the newest this many milliseconds of each workload's demand are used (`None`: all).
    pub window_ms: Option<i64>,
}

impl Default for MeasureOptions {
    /// The default metrics and the newest 7 days.
    fn default() -> Self {
        MeasureOptions {
            resources: ResourceMetrics::default(),
            window_ms: Some(7 * 24 * 3_600_000),
        }
    }
}

/// One workload's capacity in its environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub workload: WorkloadId,
    pub environment: EnvironmentKey,
    pub demand_metric: MetricName,
    pub cpu_metric: MetricName,
    /// `None`: the workload has no replica series and was taken as one replica.
    pub replicas_metric: Option<MetricName>,
    /// The step the series were joined on (ms).
    pub step_ms: i64,
    pub fit: CapacityFit,
}

/// A workload that has some of what a measurement needs but could not be measured, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub workload: WorkloadId,
    pub reason: String,
}

/// The measurements of a set of workloads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EnvironmentReport {
    pub measurements: Vec<Measurement>,
    pub skipped: Vec<Skipped>,
}

/// Measures `workloads` (each at most once, in the given order). A workload with neither an
/// environment nor a demand and a CPU series is left out silently; one with some of them but not
/// a usable measurement is listed in `skipped` with the reason.
pub fn measure_environments(
    store: &Store,
    workloads: &[WorkloadId],
    opts: &MeasureOptions,
) -> Result<EnvironmentReport, LearnError> {
    if let Some(w) = opts.window_ms {
        if w <= 0 {
            return Err(crate::error::invalid(
                "measurement window (ms)",
                w,
                "must be above 0",
            ));
        }
    }
    let infos = store.list_series()?;
    let mut report = EnvironmentReport::default();
    let mut seen = std::collections::BTreeSet::new();
    for w in workloads {
        if !seen.insert(w) {
            continue;
        }
        let mine: Vec<&SeriesInfo> = infos.iter().filter(|i| &i.key.workload == w).collect();
        match measure_one(store, w, &mine, opts)? {
            Outcome::Measured(m) => report.measurements.push(*m),
            Outcome::Skipped(reason) => report.skipped.push(Skipped {
                workload: w.clone(),
                reason,
            }),
            Outcome::Nothing => {}
        }
    }
    Ok(report)
}

enum Outcome {
    Measured(Box<Measurement>),
    Skipped(String),
    Nothing,
}

fn measure_one(
    store: &Store,
    w: &WorkloadId,
    mine: &[&SeriesInfo],
    opts: &MeasureOptions,
) -> Result<Outcome, LearnError> {
    let first = |list: &[ResourceMetric]| {
        list.iter()
            .find(|r| {
                mine.iter()
                    .any(|i| i.key.metric == r.metric && i.samples > 0)
            })
            .cloned()
    };
    let names = |list: &[ResourceMetric]| {
        list.iter()
            .map(|r| r.metric.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let r = &opts.resources;
    let (demand, cpu, replicas) = (first(&r.demand), first(&r.cpu), first(&r.replicas));
    let environment = workload_environment(mine.iter().map(|i| (i.key.to_string(), &i.labels)));
    let environment = match environment {
        Err(e) => return Ok(Outcome::Skipped(format!("environment labels: {e}"))),
        Ok(e) => e,
    };
    let (demand, cpu, environment) = match (demand, cpu, environment) {
        (None, None, None) => return Ok(Outcome::Nothing),
        (Some(d), Some(c), Some(e)) => (d, c, e),
        (d, c, e) => {
            let mut missing = Vec::new();
            if d.is_none() {
                missing.push(format!("demand series ({})", names(&r.demand)));
            }
            if c.is_none() {
                missing.push(format!("CPU series ({})", names(&r.cpu)));
            }
            if e.is_none() {
                missing.push(
                    "environment labels (an instance type, a node class or the agent's environment_info)"
                        .to_string(),
                );
            }
            return Ok(Outcome::Skipped(format!("no {}", missing.join(" and no "))));
        }
    };
    let load = |m: &ResourceMetric| -> Result<Vec<Sample>, LearnError> {
        let key = SeriesKey::new(w.clone(), m.metric.clone());
        Ok(store
            .load_series(&key)?
            .map(|s| {
                s.samples()
                    .iter()
                    .map(|p| Sample {
                        ts: p.ts,
                        value: p.value * m.scale,
                    })
                    .collect()
            })
            .unwrap_or_default())
    };
    let mut demand_samples = load(&demand)?;
    if let (Some(window), Some(last)) = (opts.window_ms, demand_samples.last().map(|s| s.ts.0)) {
        demand_samples.retain(|s| s.ts.0 > last - window);
    }
    let Some(step_ms) = spacing(&demand_samples) else {
        return Ok(Outcome::Skipped(format!(
            "{} has too few distinct times to infer its step",
            demand.metric
        )));
    };
    let by_step = |samples: &[Sample]| step_means(samples, step_ms);
    let d = by_step(&demand_samples);
    let c = by_step(&load(&cpu)?);
    let n = match &replicas {
        Some(m) => Some(by_step(&load(m)?)),
        None => None,
    };
    let observations: Vec<Observation> = d
        .iter()
        .filter_map(|(step, demand)| {
            let replicas = match &n {
                Some(n) => *n.get(step)?,
                None => 1.0,
            };
            // A workload scaled to zero serves nothing: such steps say nothing about a replica.
            (replicas > 0.0).then_some(Observation {
                demand: *demand,
                cpu_cores: *c.get(step)?,
                replicas,
            })
        })
        .collect();
    match fit_capacity(&observations) {
        Ok(fit) => Ok(Outcome::Measured(Box::new(Measurement {
            workload: w.clone(),
            environment,
            demand_metric: demand.metric,
            cpu_metric: cpu.metric,
            replicas_metric: replicas.map(|r| r.metric),
            step_ms,
            fit,
        }))),
        Err(e) => Ok(Outcome::Skipped(format!(
            "{} against {} in {environment}: {e}",
            cpu.metric, demand.metric
        ))),
    }
}

/// The median spacing of distinct sample times (ms); `None` with fewer than two.
fn spacing(samples: &[Sample]) -> Option<i64> {
    let mut gaps: Vec<i64> = samples
        .windows(2)
        .map(|p| p[1].ts.0 - p[0].ts.0)
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let mid = gaps.len() / 2;
    Some(*gaps.select_nth_unstable(mid).1)
}

/// The mean of each step's samples, keyed by the step's start (`ts` floored to `step_ms`).
fn step_means(samples: &[Sample], step_ms: i64) -> BTreeMap<i64, f64> {
    let mut sums: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for s in samples {
        let e = sums.entry(s.ts.0.div_euclid(step_ms)).or_default();
        e.0 += s.value;
        e.1 += 1.0;
    }
    sums.into_iter().map(|(k, (sum, n))| (k, sum / n)).collect()
}

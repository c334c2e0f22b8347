//! `prescale simulate --workload W`: what-if on your own history. The store's samples of W's demand
//! metric are replayed through W's controller — from its `[[workload]]` in a daemon config, or
//! built from the command's flags — with the other policies named deciding beside it.

use crate::args::SimulateArgs;
use crate::timearg;
use anyhow::{anyhow, bail, Context, Result};
use prescale_control::{SloObjective, WorkloadSpec};
use prescale_core::{MetricName, SeriesKey, Timestamp, WorkloadId};
use prescale_daemon::slo_history::slo_history;
use prescale_policy::PolicyKind;
use prescale_replay::{replay_history_priced, PurchaseSim, SimResult, SloReport};
use prescale_store::Store;
use std::path::Path;
use std::time::Duration;

/// A replay of stored history: (name, per-step demand, result), and the SLO estimate when the
/// workload's config names an objective.
pub type WhatIfRun = (
    (String, Vec<f64>, Result<SimResult, String>),
    Option<Result<SloReport, String>>,
);

pub fn replay(
    db: &Path,
    workload: &str,
    args: &SimulateArgs,
    policies: &[PolicyKind],
    purchase: Option<PurchaseSim>,
) -> Result<WhatIfRun> {
    let id = WorkloadId::new(workload).map_err(|e| anyhow!("--workload {workload:?}: {e}"))?;
    if !db.exists() {
        bail!("{}: no such store (give --db FILE)", db.display());
    }
    let store = Store::open(db).with_context(|| format!("opening {}", db.display()))?;
    let configured = match &args.config {
        Some(path) => Some(configured_spec(path, &id)?),
        None => None,
    };
    let metric = match (&args.metric, &configured) {
        (Some(m), _) => MetricName::new(m).map_err(|e| anyhow!("--metric {m:?}: {e}"))?,
        (None, Some(spec)) => spec.metric.clone(),
        (None, None) => only_metric(&store, &id)?,
    };
    let key = SeriesKey::new(id.clone(), metric.clone());
    let from = args
        .from
        .as_deref()
        .map(|t| timearg::timestamp("--from", t))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|t| timearg::timestamp("--to", t))
        .transpose()?;
    let samples = store
        .load_window(
            &key,
            from.unwrap_or(Timestamp(i64::MIN / 2)),
            to.unwrap_or(Timestamp(i64::MAX / 2)),
        )
        .with_context(|| format!("loading {key}"))?;
    if samples.is_empty() {
        bail!(
            "{key}: no stored samples{} in {}",
            if from.is_some() || to.is_some() {
                " in the range asked"
            } else {
                ""
            },
            db.display()
        );
    }
    let (spec, extra) = match configured {
        Some(mut spec) => {
            spec.metric = metric;
            let acting = spec.policy_kind()?.label();
            let extra: Vec<PolicyKind> = policies
                .iter()
                .filter(|k| k.label() != acting)
                .cloned()
                .collect();
            (spec, extra)
        }
        None => flag_spec(args, id.clone(), metric, &samples, policies)?,
    };
    let objective = spec.slo.clone();
    let result = replay_history_priced(
        &samples,
        spec,
        &extra,
        (from, to),
        false,
        purchase.map(|p| p.for_series(workload)),
    )
    .map_err(|e| e.to_string());
    let slo = match (&objective, &result) {
        (Some(o), Ok(r)) => Some(slo_report(&store, &id, o, r, to)),
        _ => None,
    };
    let demand = result
        .as_ref()
        .map(|r| r.demand.clone())
        .unwrap_or_default();
    Ok(((workload.to_string(), demand, result), slo))
}

/// The replay's SLO in the workload's own terms, or why it could not be estimated.
fn slo_report(
    store: &Store,
    id: &WorkloadId,
    objective: &SloObjective,
    r: &SimResult,
    to: Option<Timestamp>,
) -> Result<SloReport, String> {
    let end = Timestamp(
        r.start
            .0
            .saturating_add((r.step_seconds * 1000.0 * r.steps as f64) as i64),
    );
    let history = slo_history(store, id, objective, r.start, to.unwrap_or(end).min(end))
        .map_err(|e| e.to_string())?;
    prescale_replay::slo::estimate(r, objective, &history).map_err(|e| e.to_string())
}

/// The spec of `[[workload]]` `id` in a daemon config, validated as `prescale run` does.
fn configured_spec(path: &Path, id: &WorkloadId) -> Result<WorkloadSpec> {
    let cfg = prescale_daemon::DaemonConfig::from_file(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let found = cfg
        .control
        .workloads
        .iter()
        .find(|w| &w.spec.workload == id)
        .map(|w| w.spec.clone());
    found.ok_or_else(|| anyhow!("{}: no [[workload]] named {id}", path.display()))
}

/// The workload's one stored metric (several: `--metric` must choose).
fn only_metric(store: &Store, id: &WorkloadId) -> Result<MetricName> {
    let metrics: Vec<MetricName> = store
        .series_keys()?
        .into_iter()
        .filter(|k| &k.workload == id)
        .map(|k| k.metric)
        .collect();
    match metrics.as_slice() {
        [] => bail!("no stored series of workload {id}"),
        [one] => Ok(one.clone()),
        many => bail!(
            "workload {id} has {} metrics ({}): choose one with --metric",
            many.len(),
            many.iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Without a config: the first policy that can act is the controller's, with the command's
/// capacity (default p99/10 of the history), bounds, step and delay.
fn flag_spec(
    args: &SimulateArgs,
    id: WorkloadId,
    metric: MetricName,
    samples: &[prescale_core::Sample],
    policies: &[PolicyKind],
) -> Result<(WorkloadSpec, Vec<PolicyKind>)> {
    let acting_at = policies
        .iter()
        .position(|k| !matches!(k, PolicyKind::Oracle | PolicyKind::Static))
        .ok_or_else(|| {
            anyhow!("--policies: name at least one policy that can act (not only oracle or static)")
        })?;
    let values: Vec<f64> = samples.iter().map(|s| s.value).collect();
    let c = prescale_replay::simulate::capacity_per_replica(&values, args.capacity_per_replica)?;
    let step = match &args.step {
        Some(s) => timearg::duration("--step", s)?,
        None => prescale_core::Interval::from_millis(60_000).ok_or_else(|| anyhow!("step"))?,
    };
    let step = Duration::from_millis(u64::try_from(step.millis()).unwrap_or(60_000));
    let delay_steps = match args.delay.trim().parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            let d = timearg::duration("--delay", &args.delay)?;
            (d.millis() as f64 / step.as_millis().max(1) as f64).ceil() as u32
        }
    };
    let acting = &policies[acting_at];
    let mut spec = WorkloadSpec::new(id, metric, c);
    spec.min = args.min;
    spec.max = args.max;
    spec.step = step;
    spec.lead = step.saturating_mul(delay_steps.saturating_sub(1));
    spec.budget = acting.budget().unwrap_or(spec.budget);
    spec.policy = acting.clone();
    spec.validate()?;
    let extra = policies
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != acting_at)
        .map(|(_, k)| k.clone())
        .collect();
    Ok((spec, extra))
}

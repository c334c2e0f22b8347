//! `prescale simulate`: replay demand traces — CSV files, or a workload's own stored history
//! through its configured controller (`--workload`) — through the scaling policies and compare
//! cost and shortfall.

use crate::args::SimulateArgs;
use crate::output::{num, table};
use crate::timearg;
use anyhow::{anyhow, bail, Context, Result};
use prescale_core::Series;
use prescale_policy::PolicyKind;
use prescale_replay::{simulate, SimConfig, SimResult};
use serde_json::json;
use std::path::Path;

/// Mean of the per-series figures of one policy.
#[derive(Default)]
struct Total {
    series: usize,
    under_pct: f64,
    unserved_pct: f64,
    cost: f64,
    cost_vs_oracle: f64,
    with_ratio: usize,
    actions: usize,
}

pub fn run(db: &Path, args: &SimulateArgs) -> Result<()> {
    let policies: Vec<PolicyKind> = args
        .policies
        .iter()
        .map(|p| {
            let k: PolicyKind = p.parse().map_err(|e| anyhow!("--policies: {e}"))?;
            // `--target` / `--budget` set the plain names; `hpa@0.6` / `predictive@0.04` keep theirs.
            Ok(match p.trim() {
                "hpa" => k.with_target(args.target)?,
                "predictive" => k.with_budget(args.budget)?,
                _ => k,
            })
        })
        .collect::<Result<_>>()?;
    let from_store = args.inputs.paths.is_empty() && args.inputs.suite.is_none();
    let runs: Vec<(String, Vec<f64>, Result<SimResult, String>)> = match &args.inputs.read.workload
    {
        Some(w) if from_store => vec![super::whatif::replay(db, w, args, &policies)?],
        _ => {
            let series = super::jobs::collect(&args.inputs)?;
            let results =
                super::jobs::parallel_map(&series, args.threads, "simulate", |(_, s)| {
                    config(args, s).and_then(|cfg| {
                        simulate(&s.values(), &policies, &cfg).map_err(|e| e.to_string())
                    })
                })?;
            series
                .into_iter()
                .zip(results)
                .map(|((name, s), r)| (name, s.values(), r))
                .collect()
        }
    };
    report(args, runs)
}

/// Prints the per-series and total table and writes `--json` / `--report`.
fn report(
    args: &SimulateArgs,
    runs: Vec<(String, Vec<f64>, Result<SimResult, String>)>,
) -> Result<()> {
    let mut rows = Vec::new();
    let mut per_series = Vec::new();
    let mut skipped = Vec::new();
    let mut kept: Vec<(String, Vec<f64>, SimResult)> = Vec::new();
    let names: Vec<String> = runs
        .iter()
        .find_map(|(_, _, r)| r.as_ref().ok())
        .map(|r| r.policies.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    let mut totals: Vec<Total> = names.iter().map(|_| Total::default()).collect();
    for (name, values, r) in runs {
        let r: SimResult = match r {
            Ok(r) => r,
            Err(e) => {
                skipped.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut pj = serde_json::Map::new();
        for (run, t) in r.policies.iter().zip(&mut totals) {
            let m = &run.metrics;
            t.series += 1;
            t.under_pct += m.under_pct;
            t.unserved_pct += m.unserved_pct;
            t.cost += m.cost;
            t.actions += m.actions;
            if let Some(x) = m.cost_vs_oracle {
                t.cost_vs_oracle += x;
                t.with_ratio += 1;
            }
            rows.push(vec![
                name.clone(),
                run.name.clone(),
                num(Some(m.under_pct), 2),
                num(Some(m.unserved_pct), 2),
                num(Some(m.cost), 1),
                num(m.cost_vs_oracle, 3),
                m.actions.to_string(),
                m.max_step.to_string(),
            ]);
            pj.insert(
                run.name.clone(),
                json!({"under_pct": m.under_pct, "unserved_pct": m.unserved_pct, "cost": m.cost,
                       "cost_money": m.cost_money, "cost_vs_oracle": m.cost_vs_oracle, "actions": m.actions,
                       "max_step": m.max_step}),
            );
        }
        per_series.push(
            json!({"series": name, "steps": r.steps, "capacity_per_replica": r.capacity_per_replica,
                               "fits": r.fits, "policies": pj}),
        );
        if args.report.is_some() {
            kept.push((name.clone(), values, r));
        }
    }
    if per_series.is_empty() {
        bail!("every series failed: {}", skipped.join("; "));
    }
    let mean = |x: f64, n: usize| if n > 0 { x / n as f64 } else { f64::NAN };
    let mut total_json = serde_json::Map::new();
    for (name, t) in names.iter().zip(&totals) {
        let ratio = (t.with_ratio > 0).then(|| mean(t.cost_vs_oracle, t.with_ratio));
        rows.push(vec![
            "TOTAL (mean)".into(),
            name.clone(),
            num(Some(mean(t.under_pct, t.series)), 2),
            num(Some(mean(t.unserved_pct, t.series)), 2),
            num(Some(t.cost), 1),
            num(ratio, 3),
            t.actions.to_string(),
            "-".into(),
        ]);
        total_json.insert(
            name.clone(),
            json!({"under_pct": mean(t.under_pct, t.series), "unserved_pct": mean(t.unserved_pct, t.series),
                   "cost": t.cost, "cost_vs_oracle": ratio, "actions": t.actions}),
        );
    }
    if let Some(path) = &args.report {
        let totals_rows: Vec<Vec<String>> = rows
            .iter()
            .filter(|r| r[0] == "TOTAL (mean)")
            .map(|r| r[1..7].to_vec())
            .collect();
        let page = crate::html_report::render("prescale simulate", &totals_rows, &kept);
        std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
    }
    print!(
        "{}",
        table(
            &[
                "series",
                "policy",
                "under %",
                "unserved %",
                "replica-h",
                "cost/oracle",
                "actions",
                "max step"
            ],
            &rows
        )
    );
    for s in &skipped {
        eprintln!("skipped {s}");
    }
    if let Some(path) = &args.json {
        let doc = json!({"series_count": per_series.len(), "skipped": skipped, "policies": total_json, "series": per_series});
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Simulator settings for one series: its step is the series' sampling interval.
fn config(args: &SimulateArgs, s: &Series) -> Result<SimConfig, String> {
    let step = s.median_interval().ok_or("fewer than two samples")?;
    let delay_steps = match args.delay.trim().parse::<usize>() {
        Ok(n) => n,
        Err(_) => {
            let d = timearg::duration("--delay", &args.delay).map_err(|e| e.to_string())?;
            ((d.millis() as f64 / step.millis() as f64).ceil() as usize).max(1)
        }
    };
    let cfg = SimConfig {
        capacity_per_replica: args.capacity_per_replica,
        delay_steps,
        min: args.min,
        max: args.max,
        step_seconds: step.secs_f64(),
        price: args.price,
        forecast: prescale_forecast::RollingConfig {
            season: Some(timearg::default_season(step)),
            guard_refits: true,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

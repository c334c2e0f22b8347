//! `prescale simulate`: replay demand traces — CSV files, or a workload's own stored history
//! through its configured controller (`--workload`) — through the scaling policies and compare
//! cost and shortfall; with `--pricing` (either way), in dollars of a purchase mix against all
//! on-demand.

use crate::args::SimulateArgs;
use crate::output::{num, table};
use crate::timearg;
use anyhow::{anyhow, bail, Context, Result};
use prescale_core::Series;
use prescale_policy::{PolicyKind, PricingCatalogue, PurchaseSpec};
use prescale_replay::{simulate, PurchaseRun, PurchaseSim, SimConfig, SimResult, SloReport};
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
    /// Summed over the series (its `committed` stays 0: a base is per series).
    purchase: PurchaseRun,
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
    let purchase = match &args.pricing {
        Some(path) => Some(load_purchase(path, args)?),
        None => None,
    };
    let mut slo = None;
    let runs: Vec<(String, Vec<f64>, Result<SimResult, String>)> = match &args.inputs.read.workload
    {
        Some(w) if from_store => {
            let (run, estimate) = super::whatif::replay(db, w, args, &policies, purchase)?;
            slo = estimate;
            vec![run]
        }
        _ => {
            let series = super::jobs::collect(&args.inputs)?;
            let results =
                super::jobs::parallel_map(&series, args.threads, "simulate", |(name, s)| {
                    config(args, s, purchase.as_ref().map(|p| p.for_series(name))).and_then(|cfg| {
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
    report(args, runs, slo)
}

/// Reads and validates `--pricing` and the purchase flags once: the catalogue (spot price
/// histories resolved beside it), the instance type and the settings.
fn load_purchase(path: &Path, args: &SimulateArgs) -> Result<PurchaseSim> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--pricing: reading {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let catalogue = PricingCatalogue::parse(&text, |file| {
        let p = dir.join(file);
        std::fs::read_to_string(&p).map_err(|e| format!("reading {}: {e}", p.display()))
    })
    .map_err(|e| anyhow!("--pricing {}: {e}", path.display()))?;
    let instance = match &args.instance_type {
        Some(name) => catalogue
            .instance(name)
            .map_err(|e| anyhow!("--instance-type: {e}"))?,
        None => &catalogue.instances[0],
    };
    let spec = PurchaseSpec {
        interruptible: args.interruptible,
        max_spot_share: args.max_spot_share,
        ..PurchaseSpec::new(instance.name.clone())
    };
    spec.validate()
        .map_err(|e| anyhow!("--max-spot-share: {e}"))?;
    if args.interruptible && instance.spot.is_none() {
        bail!(
            "--interruptible: instance type {:?} has no spot terms in {} (line {})",
            instance.name,
            path.display(),
            instance.line
        );
    }
    Ok(PurchaseSim {
        instance: instance.clone(),
        spec,
        seed: args.seed,
    })
}

/// Prints the per-series and total table and writes `--json` / `--report`.
fn report(
    args: &SimulateArgs,
    runs: Vec<(String, Vec<f64>, Result<SimResult, String>)>,
    slo: Option<Result<SloReport, String>>,
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
            let mut row = vec![
                name.clone(),
                run.name.clone(),
                num(Some(m.under_pct), 2),
                num(Some(m.unserved_pct), 2),
                num(Some(m.cost), 1),
                num(m.cost_vs_oracle, 3),
                m.actions.to_string(),
                m.max_step.to_string(),
            ];
            let mut j = json!({"under_pct": m.under_pct, "unserved_pct": m.unserved_pct, "cost": m.cost,
                       "cost_money": m.cost_money, "cost_vs_oracle": m.cost_vs_oracle, "actions": m.actions,
                       "max_step": m.max_step});
            if let Some(p) = &run.purchase {
                add_purchase(&mut t.purchase, p);
                row.push(num(Some(p.dollars), 2));
                row.push(num(Some(p.dollars_on_demand), 2));
                row.push(p.interruptions.to_string());
                purchase_json(&mut j, p);
                j["committed"] = json!(p.committed);
            }
            rows.push(row);
            pj.insert(run.name.clone(), j);
        }
        let mut series_json = json!({"series": name, "steps": r.steps, "capacity_per_replica": r.capacity_per_replica,
                               "fits": r.fits, "policies": pj});
        match &slo {
            Some(Ok(s)) => series_json["slo"] = slo_json(s),
            Some(Err(e)) => series_json["slo"] = json!({"error": e}),
            None => {}
        }
        per_series.push(series_json);
        if args.report.is_some() {
            kept.push((name.clone(), values, r));
        }
    }
    if per_series.is_empty() {
        bail!("every series failed: {}", skipped.join("; "));
    }
    let mean = |x: f64, n: usize| if n > 0 { x / n as f64 } else { f64::NAN };
    let priced = args.pricing.is_some();
    let mut total_json = serde_json::Map::new();
    for (name, t) in names.iter().zip(&totals) {
        let ratio = (t.with_ratio > 0).then(|| mean(t.cost_vs_oracle, t.with_ratio));
        let mut row = vec![
            "TOTAL (mean)".into(),
            name.clone(),
            num(Some(mean(t.under_pct, t.series)), 2),
            num(Some(mean(t.unserved_pct, t.series)), 2),
            num(Some(t.cost), 1),
            num(ratio, 3),
            t.actions.to_string(),
            "-".into(),
        ];
        let mut j = json!({"under_pct": mean(t.under_pct, t.series), "unserved_pct": mean(t.unserved_pct, t.series),
                   "cost": t.cost, "cost_vs_oracle": ratio, "actions": t.actions});
        if priced {
            let p = &t.purchase;
            row.push(num(Some(p.dollars), 2));
            row.push(num(Some(p.dollars_on_demand), 2));
            row.push(p.interruptions.to_string());
            purchase_json(&mut j, p);
        }
        rows.push(row);
        total_json.insert(name.clone(), j);
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
    let mut headers = vec![
        "series",
        "policy",
        "under %",
        "unserved %",
        "replica-h",
        "cost/oracle",
        "actions",
        "max step",
    ];
    if priced {
        headers.extend(["dollars", "all on-demand $", "interruptions"]);
    }
    print!("{}", table(&headers, &rows));
    match &slo {
        Some(Ok(s)) => print!("{}", slo_table(s)),
        Some(Err(e)) => eprintln!("SLO not estimated: {e}"),
        None => {}
    }
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

/// Adds `p`'s figures (all but the committed base) to the sum `t`.
fn add_purchase(t: &mut PurchaseRun, p: &PurchaseRun) {
    t.dollars += p.dollars;
    t.dollars_on_demand += p.dollars_on_demand;
    t.interruptions += p.interruptions;
    t.replica_steps_lost += p.replica_steps_lost;
    t.committed_hours += p.committed_hours;
    t.spot_hours += p.spot_hours;
    t.on_demand_hours += p.on_demand_hours;
}

/// Adds the purchase figures of one run, or of their sum, to a policy's JSON object.
fn purchase_json(j: &mut serde_json::Value, p: &PurchaseRun) {
    let ratio = (p.dollars_on_demand > 0.0).then(|| p.dollars / p.dollars_on_demand);
    for (k, v) in [
        ("dollars", json!(p.dollars)),
        ("dollars_on_demand", json!(p.dollars_on_demand)),
        ("dollars_vs_on_demand", json!(ratio)),
        ("interruptions", json!(p.interruptions)),
        ("replica_steps_lost", json!(p.replica_steps_lost)),
        ("committed_hours", json!(p.committed_hours)),
        ("spot_hours", json!(p.spot_hours)),
        ("on_demand_hours", json!(p.on_demand_hours)),
    ] {
        j[k] = v;
    }
}

/// Simulator settings for one series: its step is the series' sampling interval.
fn config(
    args: &SimulateArgs,
    s: &Series,
    purchase: Option<PurchaseSim>,
) -> Result<SimConfig, String> {
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
        purchase,
        ..SimConfig::default()
    };
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// The SLO estimate as JSON: the objective, the history's figures and each policy's.
fn slo_json(s: &SloReport) -> serde_json::Value {
    let policies: serde_json::Map<String, serde_json::Value> = s
        .policies
        .iter()
        .map(|p| (p.name.clone(), json!(p.figures)))
        .collect();
    json!({"metric": s.metric, "max": s.max, "kind": s.kind, "observed": s.observed,
           "policies": policies, "fitted_pairs": s.fitted_pairs})
}

/// The SLO estimate as a table: the history as it happened, then each policy.
fn slo_table(s: &SloReport) -> String {
    let row = |name: &str, f: &prescale_replay::SloFigures| {
        vec![
            name.to_string(),
            num(Some(f.violation_pct), 2),
            num(Some(f.p95), 3),
            num(Some(f.worst), 3),
            f.extrapolated_steps.to_string(),
        ]
    };
    let mut rows = vec![row("history (as it happened)", &s.observed)];
    rows.extend(s.policies.iter().map(|p| row(&p.name, &p.figures)));
    let over = format!("% steps {} > {}", s.metric, s.max);
    format!(
        "\nSLO ({} objective {} <= {}{}):\n{}",
        s.kind,
        s.metric,
        s.max,
        if s.fitted_pairs > 0 {
            format!(", response curve from {} steps", s.fitted_pairs)
        } else {
            String::new()
        },
        table(
            &["plan", over.as_str(), "p95", "worst", "beyond history"],
            &rows
        )
    )
}

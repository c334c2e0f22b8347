//! `prescale backtest`: the rolling-origin protocol over many files, in parallel, with a summary per model.

use super::backtest_fleet::{self, FleetJob, Trained};
use super::backtest_profile::{ProfileJob, Profiles};
use crate::args::{BacktestArgs, FleetMode};
use crate::output::{num, table};
use crate::timearg;
use anyhow::{anyhow, bail, Context, Result};
use prescale_core::{Level, Series};
use prescale_forecast::fleet::Timing;
use prescale_forecast::{
    backtest_series_with_fleet, cold_start_series, summarize, BacktestConfig, ModelKind, Scores,
    SeriesBacktest,
};
use serde_json::json;

/// One series to evaluate, with where it came from.
struct Job {
    /// The input (suite entry) it came from.
    family: usize,
    name: String,
    values: Vec<f64>,
    season: Option<usize>,
    /// Time of the first point and the step, in seconds.
    timing: Option<Timing>,
}

pub fn run(args: &BacktestArgs) -> Result<()> {
    let mut models: Vec<ModelKind> = args
        .models
        .iter()
        .map(|m| m.parse::<ModelKind>().map_err(|e| anyhow!("--models: {e}")))
        .collect::<Result<_>>()?;
    let level = Level::new(args.level).context("--level")?;
    if args.horizon == 0 || args.windows == 0 || args.history < 2 {
        bail!("--horizon and --windows must be at least 1 and --history at least 2");
    }
    let jobs: Vec<Job> = super::jobs::collect_families(&args.inputs)?
        .into_iter()
        .map(|(family, name, s)| job(family, name, s, args.season))
        .collect();
    let cfg_for = |season| BacktestConfig {
        history: args.history,
        windows: args.windows,
        horizon: args.horizon,
        level,
        season,
    };
    let fleet_jobs: Vec<FleetJob<'_>> = jobs
        .iter()
        .map(|j| FleetJob {
            name: &j.name,
            values: &j.values,
            season: j.season,
            timing: j.timing,
        })
        .collect();
    let uses_fleet = models.iter().any(|k| k.is_fleet() || *k == ModelKind::Auto);
    let fleet_cfg = cfg_for(None);
    let fleet: Option<Trained> = match args.fleet {
        FleetMode::On if uses_fleet && jobs.len() >= 2 => Some(backtest_fleet::train(
            &fleet_jobs,
            &fleet_cfg,
            &backtest_fleet::cells(&models),
            |_| false,
        )?),
        _ => None,
    };
    if fleet.is_none() && models.iter().any(|k| k.is_fleet()) {
        let why = "fleet models need at least two series and --fleet on";
        if models.iter().all(|k| k.is_fleet()) {
            bail!("--models: gbm, gru and lstm are fleet models: {why}");
        }
        eprintln!("backtest: fleet models (gbm, gru, lstm) left out: {why}");
        models.retain(|k| !k.is_fleet());
    }
    if let Some(f) = &fleet {
        println!(
            "fleet: gbm trained on {} series ({} rows, {} trees) in {:.2} s ({:.1} ms per series)",
            f.gbm.series,
            f.gbm.rows,
            f.gbm.trees(),
            f.seconds,
            f.seconds * 1000.0 / f.gbm.series.max(1) as f64
        );
        for (m, secs) in &f.rnn {
            println!(
                "fleet: {} (hidden {}, window {}) trained on {} series ({} windows) in {:.2} s ({:.1} ms per series)",
                m.kind().name(),
                m.hidden(),
                m.window,
                m.series,
                m.rows,
                secs,
                secs * 1000.0 / m.series.max(1) as f64
            );
        }
    }
    let results = super::jobs::parallel_map(&jobs, args.threads, "backtest", |job| {
        let input = fleet.as_ref().map(|f| f.input(job.timing));
        backtest_series_with_fleet(&job.values, &cfg_for(job.season), &models, input.as_ref())
            .map_err(|e| e.to_string())
    })?;
    let mut ok = Vec::new();
    let mut rows_json = Vec::new();
    let mut skipped = Vec::new();
    let results_by_name: Vec<Option<SeriesBacktest>> =
        results.iter().map(|r| r.as_ref().ok().cloned()).collect();
    for (job, r) in jobs.iter().zip(results) {
        match r {
            Ok(bt) => {
                rows_json.push(json!({
                    "series": job.name, "points": bt.points_used, "season": job.season,
                    "models": bt.scores.iter().map(|s| (s.kind.to_string(), json!({
                        "mase": s.mase, "msis": s.msis, "coverage": s.coverage, "seconds": s.seconds,
                        "fits": s.fits, "failed_fits": s.failed_fits}))).collect::<serde_json::Map<_, _>>(),
                }));
                ok.push(bt);
            }
            Err(e) => skipped.push(format!("{}: {e}", job.name)),
        }
    }
    if ok.is_empty() {
        bail!("every series failed: {}", skipped.join("; "));
    }
    let summary = summarize(&ok);
    let full: Vec<(&str, &SeriesBacktest)> = jobs
        .iter()
        .map(|j| j.name.as_str())
        .zip(&results_by_name)
        .filter_map(|(n, r)| r.as_ref().map(|r| (n, r)))
        .collect();
    let cold = cold_start(args, &jobs, &fleet_jobs, &models, &full, &cfg_for)?;
    if let Some(path) = &args.json {
        let doc = json!({
            "fleet": fleet.as_ref().map(|f| json!({
                "model": "gbm", "series": f.gbm.series, "rows": f.gbm.rows, "trees": f.gbm.trees(),
                "train_seconds": f.seconds,
                "ms_per_series": f.seconds * 1000.0 / f.gbm.series.max(1) as f64,
                "recurrent": f.rnn.iter().map(|(m, secs)| json!({
                    "model": m.kind().name(), "hidden": m.hidden(), "window": m.window,
                    "series": m.series, "windows": m.rows, "train_seconds": secs,
                    "holdout_scaled_mae": m.holdout_scaled_mae()})).collect::<Vec<_>>()})),
            "cold_start": cold.json,
            "protocol": {"history": args.history, "windows": args.windows, "horizon": args.horizon, "level": level.percent()},
            "series_count": ok.len(),
            "skipped": skipped,
            "models": summary.iter().map(|m| (m.kind.to_string(), json!({
                "mase": m.mean_mase, "msis": m.median_msis, "coverage": m.mean_coverage,
                "seconds": m.seconds, "fits": m.fits, "ms_per_fit": m.ms_per_fit}))).collect::<serde_json::Map<_, _>>(),
            "series": rows_json,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "backtest: {} series, history {}, {} windows × horizon {}, {}% band",
        ok.len(),
        args.history,
        args.windows,
        args.horizon,
        level.percent()
    );
    let rows: Vec<Vec<String>> = summary
        .iter()
        .map(|m| {
            vec![
                m.kind.to_string(),
                num(Some(m.mean_mase), 3),
                num(Some(m.median_msis), 2),
                num(Some(m.mean_coverage), 3),
                num(Some(m.seconds), 2),
                m.fits.to_string(),
                num(Some(m.ms_per_fit), 2),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "model",
                "mean MASE",
                "median MSIS",
                "coverage",
                "seconds",
                "fits",
                "ms/fit"
            ],
            &rows
        )
    );
    print!("{}", cold.table);
    for s in &skipped {
        eprintln!("skipped {s}");
    }
    Ok(())
}

/// The `--cold-start` results: a JSON object by age and model, and a printed table.
struct ColdStart {
    json: serde_json::Value,
    table: String,
}

/// Scores every series forecasting from only its first AGE of history, with leave-series-out fleet
/// models, against the same series' full-history scores.
fn cold_start(
    args: &BacktestArgs,
    jobs: &[Job],
    fleet_jobs: &[FleetJob<'_>],
    models: &[ModelKind],
    full: &[(&str, &SeriesBacktest)],
    cfg_for: &(dyn Fn(Option<usize>) -> BacktestConfig + Sync),
) -> Result<ColdStart> {
    if args.cold_start.is_empty() {
        return Ok(ColdStart {
            json: serde_json::Value::Null,
            table: String::new(),
        });
    }
    let ages = args
        .cold_start
        .iter()
        .map(|a| Ok((a.clone(), timearg::duration("--cold-start", a)?)))
        .collect::<Result<Vec<_>>>()?;
    let uses_fleet = models.iter().any(|k| k.is_fleet() || *k == ModelKind::Auto);
    let folds = match args.fleet {
        FleetMode::On if uses_fleet && jobs.len() >= 2 => {
            backtest_fleet::train_folds(fleet_jobs, &cfg_for(None), &backtest_fleet::cells(models))
                .context("--cold-start: leave-series-out fleet models")?
        }
        _ => Vec::new(),
    };
    let profile_jobs: Vec<ProfileJob<'_>> = jobs
        .iter()
        .map(|j| ProfileJob {
            family: j.family,
            values: &j.values,
            season: j.season,
            timing: j.timing,
        })
        .collect();
    let profiles = (jobs.len() >= 2).then(|| Profiles::build(&profile_jobs, &cfg_for(None)));
    let mut doc = serde_json::Map::new();
    let mut rows = Vec::new();
    for (label, age) in &ages {
        let points_of = |job: &Job| {
            let step_ms = job.timing.map_or(0, |t| t.step * 1000);
            (step_ms > 0).then(|| (age.millis() / step_ms).max(2) as usize)
        };
        let results = super::jobs::parallel_map(jobs, args.threads, "cold start", |job| {
            let i = jobs.iter().position(|j| std::ptr::eq(j, job)).unwrap_or(0);
            let points = points_of(job)
                .ok_or_else(|| "no regular interval to measure an age in".to_string())?;
            let input = (!folds.is_empty()).then(|| folds[i % folds.len()].input(job.timing));
            cold_start_series(
                &job.values,
                &cfg_for(job.season),
                models,
                input.as_ref(),
                points,
            )
            .map_err(|e| e.to_string())
        })?;
        let mut by_model = serde_json::Map::new();
        for &kind in models {
            let mut pairs = Vec::new();
            for (job, r) in jobs.iter().zip(&results) {
                let cold = r
                    .as_ref()
                    .ok()
                    .and_then(|r| r.scores.iter().find(|s| s.kind == kind));
                let whole = full
                    .iter()
                    .find(|(n, _)| *n == job.name)
                    .and_then(|(_, r)| r.scores.iter().find(|s| s.kind == kind));
                if let (Some(c), Some(w)) = (cold, whole) {
                    pairs.push((c.mase, c.coverage, w.mase));
                }
            }
            if pairs.is_empty() {
                by_model.insert(kind.to_string(), json!({"series": 0}));
                rows.push(vec![
                    label.clone(),
                    kind.to_string(),
                    "0".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
                continue;
            }
            let n = pairs.len() as f64;
            let mase = pairs.iter().map(|p| p.0).sum::<f64>() / n;
            let coverage = pairs.iter().map(|p| p.1).sum::<f64>() / n;
            let full_mase = pairs.iter().map(|p| p.2).sum::<f64>() / n;
            by_model.insert(
                kind.to_string(),
                json!({"mase": mase, "coverage": coverage, "full_mase": full_mase,
                       "ratio": mase / full_mase, "series": pairs.len()}),
            );
            rows.push(vec![
                label.clone(),
                kind.to_string(),
                pairs.len().to_string(),
                num(Some(mase), 3),
                num(Some(full_mase), 3),
                num(Some(mase / full_mase), 3),
                num(Some(coverage), 3),
            ]);
        }
        if let Some(profiles) = &profiles {
            let scored =
                super::jobs::parallel_map(jobs, args.threads, "profile cold start", |job| {
                    let i = jobs.iter().position(|j| std::ptr::eq(j, job)).unwrap_or(0);
                    match points_of(job) {
                        Some(points) => {
                            profiles.score(&profile_jobs, i, &cfg_for(job.season), points)
                        }
                        None => Ok(None),
                    }
                })?;
            let got: Vec<Scores> = scored
                .into_iter()
                .filter_map(|r| r.ok().flatten())
                .collect();
            let n = got.len().max(1) as f64;
            let (mase, coverage) = (
                got.iter().map(|s| s.mase).sum::<f64>() / n,
                got.iter().map(|s| s.coverage).sum::<f64>() / n,
            );
            by_model.insert(
                "profile".into(),
                if got.is_empty() {
                    json!({"series": 0})
                } else {
                    json!({"mase": mase, "coverage": coverage, "series": got.len()})
                },
            );
            rows.push(vec![
                label.clone(),
                "profile".into(),
                got.len().to_string(),
                num((!got.is_empty()).then_some(mase), 3),
                "-".into(),
                "-".into(),
                num((!got.is_empty()).then_some(coverage), 3),
            ]);
        }
        doc.insert(label.clone(), serde_json::Value::Object(by_model));
    }
    let table = format!(
        "cold start (each series from only its first AGE of history; fleet models trained without it):\n{}",
        table(
            &["age", "model", "series", "MASE", "full-history MASE", "ratio", "coverage"],
            &rows
        )
    );
    Ok(ColdStart {
        json: serde_json::Value::Object(doc),
        table,
    })
}

fn job(family: usize, name: String, s: Series, season: Option<usize>) -> Job {
    let interval = s.median_interval();
    let season = season.or_else(|| interval.map(timearg::default_season));
    let timing = match (s.first_ts(), interval) {
        (Some(first), Some(step)) if step.millis() >= 1000 => Some(Timing {
            first: first.secs(),
            step: step.millis() / 1000,
        }),
        _ => None,
    };
    Job {
        family,
        name,
        values: s.values(),
        season,
        timing,
    }
}

//! `prescale backtest`: the rolling-origin protocol over many files, in parallel, with a summary per model.

use crate::args::BacktestArgs;
use crate::output::{num, table};
use crate::timearg;
use anyhow::{anyhow, bail, Context, Result};
use prescale_core::{Level, Series};
use prescale_forecast::{backtest_series, summarize, BacktestConfig, ModelKind};
use serde_json::json;

/// One series to evaluate, with where it came from.
struct Job {
    name: String,
    values: Vec<f64>,
    season: Option<usize>,
}

pub fn run(args: &BacktestArgs) -> Result<()> {
    let models: Vec<ModelKind> = args
        .models
        .iter()
        .map(|m| m.parse::<ModelKind>().map_err(|e| anyhow!("--models: {e}")))
        .collect::<Result<_>>()?;
    let level = Level::new(args.level).context("--level")?;
    if args.horizon == 0 || args.windows == 0 || args.history < 2 {
        bail!("--horizon and --windows must be at least 1 and --history at least 2");
    }
    let jobs: Vec<Job> = super::jobs::collect(&args.inputs)?
        .into_iter()
        .map(|(name, s)| job(name, s, args.season))
        .collect();
    let cfg_for = |season| BacktestConfig {
        history: args.history,
        windows: args.windows,
        horizon: args.horizon,
        level,
        season,
    };
    let results = super::jobs::parallel_map(&jobs, args.threads, "backtest", |job| {
        backtest_series(&job.values, &cfg_for(job.season), &models).map_err(|e| e.to_string())
    })?;
    let mut ok = Vec::new();
    let mut rows_json = Vec::new();
    let mut skipped = Vec::new();
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
    if let Some(path) = &args.json {
        let doc = json!({
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
    for s in &skipped {
        eprintln!("skipped {s}");
    }
    Ok(())
}

fn job(name: String, s: Series, season: Option<usize>) -> Job {
    let season = season.or_else(|| s.median_interval().map(timearg::default_season));
    Job {
        name,
        values: s.values(),
        season,
    }
}

//! The backtest protocol with a fleet model trained across the shared real series (NAB AWS +
//! Bitbrains CPU) on each series' prefix before its first origin. Usage:
//! `cargo run --release --example fleet_backtest -p prescale-forecast [-- models=naive,auto,gbm]
//! [rounds=150] [depth=6] [rows=150000] [lr=0.1]`.

#[path = "../tests/support/real_data.rs"]
#[allow(dead_code)]
mod real_data;

use prescale_forecast::fleet::{FleetConfig, FleetInput, FleetSeries, GbmFleet};
use prescale_forecast::{
    backtest_series_with_fleet, fleet_training_len, summarize, BacktestConfig, ModelKind,
};
use std::sync::Arc;
use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], key: &str) -> Option<T> {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models: Vec<ModelKind> = match args.iter().find_map(|a| a.strip_prefix("models=")) {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![ModelKind::Naive, ModelKind::Auto, ModelKind::Gbm],
    };
    let Some(dir) = real_data::data_dir() else {
        println!("skipping: ../shared/data not found");
        return Ok(());
    };
    let cfg = BacktestConfig {
        season: Some(288),
        ..BacktestConfig::default()
    };
    let mut fc = FleetConfig {
        horizon: cfg.horizon,
        ..FleetConfig::default()
    };
    fc.params.rounds = arg(&args, "rounds").unwrap_or(fc.params.rounds);
    fc.params.max_depth = arg(&args, "depth").unwrap_or(fc.params.max_depth);
    fc.params.learning_rate = arg(&args, "lr").unwrap_or(fc.params.learning_rate);
    fc.params.min_leaf = arg(&args, "leaf").unwrap_or(fc.params.min_leaf);
    fc.max_rows = arg(&args, "rows").unwrap_or(fc.max_rows);
    if let Some(k) = arg::<usize>(&args, "young") {
        fc.young_every = (k > 0).then_some(k);
    }
    let series = real_data::all_series(&dir)?;
    let with_context = args.iter().any(|a| a == "--context");
    // a per-series context vector from its training prefix only: shape statistics standing in for
    // the fingerprint (log CV, autocorrelation at one step, one hour and one day, peak-to-mean)
    let contexts: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, v)| {
            if !with_context {
                return Vec::new();
            }
            let p = &v[..fleet_training_len(v.len(), &cfg)];
            let m = prescale_math::mean(p).unwrap_or(0.0);
            let sd = prescale_math::std_dev(p).unwrap_or(0.0);
            let max = p.iter().copied().fold(f64::MIN, f64::max);
            vec![
                ((sd + 1e-9) / (m.abs() + 1e-9)).ln(),
                prescale_math::autocorrelation(p, 1).unwrap_or(0.0),
                prescale_math::autocorrelation(p, 12).unwrap_or(0.0),
                prescale_math::autocorrelation(p, 288).unwrap_or(0.0),
                (max - m) / (sd + 1e-9),
            ]
        })
        .collect();
    let prefixes: Vec<FleetSeries<'_>> = series
        .iter()
        .zip(&contexts)
        .map(|((name, v), c)| FleetSeries {
            name,
            values: &v[..fleet_training_len(v.len(), &cfg)],
            season: cfg.season,
            timing: None,
            context: c,
        })
        .collect();
    let started = Instant::now();
    let gbm = Arc::new(GbmFleet::train(&prefixes, &fc)?);
    let train_s = started.elapsed().as_secs_f64();
    println!(
        "gbm: {} series, {} rows, {} trees, trained in {:.2} s ({:.1} ms per series)",
        gbm.series,
        gbm.rows,
        gbm.trees(),
        train_s,
        train_s * 1000.0 / gbm.series as f64
    );
    let mut results = Vec::new();
    for ((name, values), context) in series.iter().zip(&contexts) {
        let fleet = FleetInput {
            gbm: gbm.clone(),
            timing: None,
            context: context.clone(),
            rnn: Vec::new(),
            exog: None,
        };
        match backtest_series_with_fleet(values, &cfg, &models, Some(&fleet)) {
            Ok(r) => {
                if args.iter().any(|a| a == "--per-series") {
                    let cells: Vec<String> = r
                        .scores
                        .iter()
                        .map(|s| format!("{}={:.3}/{:.2}", s.kind, s.mase, s.coverage))
                        .collect();
                    println!("{name:40} {}", cells.join(" "));
                }
                results.push(r)
            }
            Err(e) => println!("{name}: {e}"),
        }
    }
    println!("{} series", results.len());
    for s in summarize(&results) {
        println!(
            "{:8} MASE {:.3}  MSIS {:.2}  coverage {:.3}  ms/fit {:.2}",
            s.kind.to_string(),
            s.mean_mase,
            s.median_msis,
            s.mean_coverage,
            s.ms_per_fit
        );
    }
    Ok(())
}

//! Runs the backtest protocol on the shared real series (NAB AWS + Bitbrains CPU) and prints the
//! per-model summary. Usage: `cargo run --release --example backtest_real -p prescale-forecast
//! [-- --per-series] [-- models=auto,ets]`.

#[path = "../tests/support/real_data.rs"]
#[allow(dead_code)]
mod real_data;

use prescale_forecast::{backtest_series, summarize, BacktestConfig, ModelKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_series = args.iter().any(|a| a == "--per-series");
    let models: Vec<ModelKind> = match args.iter().find_map(|a| a.strip_prefix("models=")) {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => ModelKind::ALL.to_vec(),
    };
    let Some(dir) = real_data::data_dir() else {
        println!("skipping: ../shared/data not found");
        return Ok(());
    };
    let cfg = BacktestConfig {
        season: Some(288),
        ..BacktestConfig::default()
    };
    let mut results = Vec::new();
    for (name, values) in real_data::all_series(&dir)? {
        match backtest_series(&values, &cfg, &models) {
            Ok(r) => {
                if per_series {
                    let cells: Vec<String> = r
                        .scores
                        .iter()
                        .map(|s| {
                            format!(
                                "{}={:.3}/{:.1}/{:.2}{}",
                                s.kind,
                                s.mase,
                                s.msis,
                                s.coverage,
                                if s.failed_fits > 0 { "!" } else { "" }
                            )
                        })
                        .collect();
                    println!("{name:40} {}", cells.join(" "));
                }
                results.push(r);
            }
            Err(e) => println!("{name}: {e}"),
        }
    }
    println!("{} series", results.len());
    println!(
        "{:16} {:>9} {:>11} {:>9} {:>9} {:>7}",
        "model", "mean MASE", "median MSIS", "coverage", "ms/fit", "fits"
    );
    for s in summarize(&results) {
        println!(
            "{:16} {:>9.3} {:>11.2} {:>9.3} {:>9.2} {:>7}",
            s.kind.to_string(),
            s.mean_mase,
            s.median_msis,
            s.mean_coverage,
            s.ms_per_fit,
            s.fits
        );
    }
    Ok(())
}

//! Subcommand implementations: each wires stage crates together and prints the result.

pub mod agent;
mod backtest;
mod backtest_fleet;
mod backtest_profile;
mod cluster;
pub mod config;
mod demo;
pub mod demo_live;
pub mod dependencies;
mod drift;
mod fingerprint;
mod forecast;
mod import;
mod jobs;
pub mod recommend;
pub mod run;
mod series;
mod simulate;
mod whatif;

use crate::args::{Cli, Command};
use anyhow::Result;
use prescale_store::Store;
use std::path::Path;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(a) => demo_live::run(&cli.db, &a),
        Command::DemoPipeline(a) => demo::run(&cli.db, &a),
        Command::DemoLoad(a) => demo_live::demo_load(&a),
        Command::DemoWorker(a) => demo_live::demo_worker(&a),
        Command::DemoData(a) => demo::data(&a),
        Command::Import(a) => import::run(&mut open(&cli.db)?, &a),
        Command::Series(a) => series::run(&open(&cli.db)?, a.json),
        Command::Fingerprint(a) => fingerprint::run(&mut open(&cli.db)?, &a),
        Command::Drift(a) => drift::run(&open(&cli.db)?, &a),
        Command::Cluster(a) => cluster::run(&mut open(&cli.db)?, &a),
        Command::Forecast(a) => forecast::run(&mut open(&cli.db)?, &a),
        Command::Backtest(a) => backtest::run(&a),
        Command::Simulate(a) => simulate::run(&cli.db, &a),
        Command::Run(a) => run::run(&cli.db, cli.db_given, &a),
        Command::Config(a) => {
            if config::run(&a)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Agent(a) => agent::run(&a),
        Command::Recommend(a) => recommend::run(&open(&cli.db)?, &a),
        Command::Dependencies(a) => dependencies::run(&open(&cli.db)?, &a),
    }
}

fn open(path: &Path) -> Result<Store> {
    // The store's errors name the file already.
    Ok(Store::open(path)?)
}

/// Current wall time: the binary's edge is the one place that reads the clock.
fn now() -> prescale_core::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    prescale_core::Timestamp(ms)
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

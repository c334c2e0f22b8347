//! Subcommand implementations: each wires stage crates together and prints the result.

pub mod agent;
mod backtest;
mod cluster;
mod demo;
mod fingerprint;
mod forecast;
mod import;
mod jobs;
pub mod run;
mod series;
mod simulate;

use crate::args::{Cli, Command};
use anyhow::Result;
use prescale_store::Store;
use std::path::Path;

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(a) => demo::run(&cli.db, &a),
        Command::DemoData(a) => demo::data(&a),
        Command::Import(a) => import::run(&mut open(&cli.db)?, &a),
        Command::Series(a) => series::run(&open(&cli.db)?, a.json),
        Command::Fingerprint(a) => fingerprint::run(&mut open(&cli.db)?, &a),
        Command::Cluster(a) => cluster::run(&mut open(&cli.db)?, &a),
        Command::Forecast(a) => forecast::run(&mut open(&cli.db)?, &a),
        Command::Backtest(a) => backtest::run(&a),
        Command::Simulate(a) => simulate::run(&a),
        Command::Run(a) => run::run(&cli.db, cli.db_given, &a),
        Command::Agent(a) => agent::run(&a),
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

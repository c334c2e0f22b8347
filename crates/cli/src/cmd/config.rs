//! `prescale config check FILE`: validates a daemon config once, the way `prescale run` does, and
//! prints every problem on its own line with its path (exit status 1), or what would run.

use anyhow::Result;
use clap::{Args, Subcommand};
use prescale_daemon::{ConfigError, DaemonConfig};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file: every problem with its path, or a summary of what would run.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `Ok(true)` when the file is valid; problems are printed to stdout, one per line.
pub fn run(a: &ConfigArgs) -> Result<bool> {
    match &a.command {
        ConfigCommand::Check { file } => match DaemonConfig::from_file(file) {
            Ok(cfg) => {
                println!("{}: ok", file.display());
                println!("{}", prescale_daemon::config::describe(&cfg));
                Ok(true)
            }
            Err(ConfigError::Invalid { problems, .. }) => {
                println!(
                    "{}: {} problem{}",
                    file.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                for p in &problems {
                    println!("  {p}");
                }
                Ok(false)
            }
            Err(e) => Err(e.into()),
        },
    }
}

//! `prescale run`: the daemon (agent, scrapes, remote-write receiver, /metrics, /api/v1/workloads).

use anyhow::{Context, Result};
use clap::Args;
use prescale_daemon::{DaemonConfig, RunOptions};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Daemon config (TOML). Without it: the agent over this machine's processes grouped by command
    /// name, the embedded store, HTTP on 127.0.0.1:9464.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// HTTP listen address (overrides the config's `listen`).
    #[arg(long)]
    pub listen: Option<String>,
    /// Stop after this long (e.g. 30s) instead of waiting for SIGINT/SIGTERM.
    #[arg(long = "for", value_name = "DURATION", conflicts_with = "once")]
    pub run_for: Option<String>,
    /// Take one round of samples (back-fill, two agent passes, one scrape per target), store it, exit.
    #[arg(long)]
    pub once: bool,
    /// Check the config and print what would run, without starting.
    #[arg(long)]
    pub check: bool,
}

/// `db` is the global `--db`; `db_given` says whether the user set it (flag or PRESCALE_DB), in which
/// case it overrides the config's `db`.
pub fn run(db: &Path, db_given: bool, a: &RunArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(path) => DaemonConfig::from_file(path)?,
        None => DaemonConfig::defaults()?,
    };
    if db_given || a.config.is_none() {
        cfg.db = db.to_path_buf();
    }
    if let Some(l) = &a.listen {
        cfg.listen = l.parse().with_context(|| {
            format!("--listen {l:?} is not an address:port such as 127.0.0.1:9464")
        })?;
    }
    let stop_after = match &a.run_for {
        None => None,
        Some(t) => Some(
            prescale_core::time::parse_duration(t)
                .map(|iv| std::time::Duration::from_millis(iv.millis().unsigned_abs()))
                .with_context(|| format!("--for {t:?} is not a duration such as 30s"))?,
        ),
    };
    if a.check {
        println!("{}", prescale_daemon::config::describe(&cfg));
        return Ok(());
    }
    init_logging();
    prescale_daemon::run(
        cfg,
        RunOptions {
            stop_after,
            once: a.once,
        },
    )?;
    Ok(())
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Like [`init_logging`] but `warn` by default: the demo prints its own lines.
pub fn init_logging_quiet() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

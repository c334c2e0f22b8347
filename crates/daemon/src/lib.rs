//! The prescale daemon: HTTP API, remote-write receiver, scrape, agent and back-fill loops.
//!
//! The one async crate: tokio + axum. Stage crates stay synchronous and run on blocking threads.

pub mod admission;
pub mod alerts;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod control_metrics;
pub mod controlled;
pub mod controls;
mod daemon;
mod error;
pub mod fleet;
pub mod http;
pub mod insight;
pub mod loops;
pub mod memory;
pub mod ownseries;
pub mod selfmetrics;
pub mod shadows;
pub mod sink;
pub mod slo_history;
pub mod window;
pub mod winners;
pub mod writer;

pub use config::{ConfigError, DaemonConfig};
pub use daemon::Daemon;
pub use error::DaemonError;

use std::time::Duration;

/// How `run` ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Stop after this long instead of waiting for SIGINT/SIGTERM (tests, `--for`).
    pub stop_after: Option<Duration>,
    /// Stop once every source has delivered: back-fill done, two agent passes (rates need two), one
    /// scrape per target.
    pub once: bool,
}

/// Runs the daemon on its own tokio runtime until SIGINT/SIGTERM (or `stop_after`), then shuts down
/// gracefully: sources stop, pending points are committed.
pub fn run(cfg: DaemonConfig, opts: RunOptions) -> Result<(), DaemonError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("prescale-daemon")
        .build()
        .map_err(|source| DaemonError::Io {
            what: "starting the runtime",
            source,
        })?;
    let result = rt.block_on(async move {
        let want = Want {
            agent: cfg.agent.is_some(),
            targets: cfg.scrape.len(),
            backfills: cfg.backfill.len(),
        };
        let daemon = Daemon::start(cfg).await?;
        let m = daemon.metrics();
        let why = tokio::select! {
            w = wait(opts.stop_after) => w,
            _ = async {
                loop {
                    if want.met(&m.progress()) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }, if opts.once => "--once: every source delivered",
        };
        tracing::info!(reason = why, "shutting down");
        daemon.shutdown().await
    });
    // Blocking tasks still running (a back-fill, a slow scrape) are not waited for long.
    rt.shutdown_timeout(Duration::from_secs(5));
    result
}

/// What `--once` waits for.
struct Want {
    agent: bool,
    targets: usize,
    backfills: usize,
}

impl Want {
    fn met(&self, p: &selfmetrics::LoopProgress) -> bool {
        (!self.agent || p.agent_passes >= 2)
            && p.targets_scraped >= self.targets
            && p.backfill_jobs_done >= self.backfills
    }
}

async fn wait(stop_after: Option<Duration>) -> &'static str {
    let timer = async {
        match stop_after {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = timer => "--for elapsed",
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = sigterm() => "SIGTERM",
    }
}

#[cfg(unix)]
async fn sigterm() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn sigterm() {
    std::future::pending().await
}

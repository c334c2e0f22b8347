//! The daemon's background loops; each runs on its own task or thread so one slow source never stalls another.

pub mod agent;
pub mod backfill;
pub mod control;
#[cfg(test)]
mod control_replay;
pub mod export;
pub mod instance_speeds;
pub mod learn;
pub mod observe;
pub mod promql;
pub mod retention;
pub mod runtime_signals;
pub mod scalers;
pub mod scrape;
pub mod warmup;

use tokio::sync::watch;

/// Resolves when shutdown has been asked for.
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

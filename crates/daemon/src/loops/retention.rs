//! Retention on a schedule: the writer applies it between commits (one writer connection).

use super::stopped;
use crate::clock;
use crate::config::RetentionSchedule;
use crate::writer::WriterHandle;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

pub async fn run(
    schedule: RetentionSchedule,
    writer: WriterHandle,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(schedule.every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            _ = ticker.tick() => {}
        }
        if let Err(e) = writer.retention(schedule.clone(), clock::now()).await {
            tracing::warn!(error = %e, "retention pass failed");
        }
    }
}

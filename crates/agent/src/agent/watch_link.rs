//! The agent's link to its millisecond watcher: the watcher's thread runs beside the agent and every
//! sample hands on the steps it finished since the last one.

use super::*;
use crate::watch::{self, WatchStats, WatchStep, WatchThread};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

/// Steps waiting for the next sample at most (64 s of 1 s steps); older ones are dropped and counted.
const QUEUE: usize = 64;

/// A running watcher whose steps the agent collects; stopping it joins its thread.
pub(crate) struct WatchLink {
    thread: Option<WatchThread>,
    steps: mpsc::Receiver<WatchStep>,
    dropped: Arc<AtomicU64>,
}

impl WatchLink {
    /// Start the watcher of `[agent.watch]` on its own thread.
    pub fn start(w: crate::Watcher) -> Result<WatchLink, AgentError> {
        let (tx, steps) = mpsc::sync_channel::<WatchStep>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        let thread = watch::spawn(w, move |s| match tx.try_send(s) {
            Ok(()) => true,
            Err(mpsc::TrySendError::Full(_)) => {
                lost.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::TrySendError::Disconnected(_)) => false,
        })
        .map_err(|e| AgentError::Config {
            field: "watch".into(),
            reason: format!("cannot start the watcher thread: {e}"),
        })?;
        Ok(WatchLink {
            thread: Some(thread),
            steps,
            dropped,
        })
    }

    /// Move the finished steps' points into `points`; their counts, and the steps dropped since
    /// the last call, are returned.
    pub fn drain(&mut self, points: &mut Vec<Point>) -> Option<WatchStats> {
        let mut total: Option<WatchStats> = None;
        while let Ok(step) = self.steps.try_recv() {
            points.extend(step.points);
            let t = total.get_or_insert_with(WatchStats::default);
            let s = step.stats;
            t.readings += s.readings;
            t.processes = s.processes;
            t.vanished += s.vanished;
            t.unreadable += s.unreadable;
            t.malformed += s.malformed;
            t.over_limit = s.over_limit;
            t.invalid_workload += s.invalid_workload;
            t.rescan_failures += s.rescan_failures;
            t.cpu_seconds += s.cpu_seconds;
            t.late += s.late;
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            total.get_or_insert_with(WatchStats::default).dropped_steps += dropped;
        }
        total
    }
}

impl Drop for WatchLink {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            drop(t.stop);
            let _ = t.join.join();
        }
    }
}

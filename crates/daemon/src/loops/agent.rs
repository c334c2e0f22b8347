//! The agent loop: the synchronous agent samples on its own thread at its interval and queues points.

use crate::clock;
use crate::selfmetrics::SelfMetrics;
use crate::writer::WriterHandle;
use prescale_agent::Agent;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running agent thread; dropping `stop` (or sending on it) ends it.
pub struct AgentThread {
    pub stop: mpsc::Sender<()>,
    pub join: JoinHandle<()>,
}

/// Starts sampling every `interval` on a dedicated thread.
pub fn spawn(
    mut agent: Agent,
    interval: Duration,
    writer: WriterHandle,
    metrics: Arc<SelfMetrics>,
) -> std::io::Result<AgentThread> {
    let (stop, stopped) = mpsc::channel::<()>();
    let join = std::thread::Builder::new()
        .name("prescale-agent".into())
        .spawn(move || {
            let mut next = Instant::now();
            loop {
                match agent.sample(clock::now()) {
                    Ok(s) => {
                        metrics.agent_pass(
                            s.overhead.cpu_seconds,
                            s.overhead.wall_seconds,
                            s.overhead.processes,
                        );
                        let n = s.points.len();
                        if writer.blocking_write(s.points).is_err() {
                            break;
                        }
                        metrics.ingested("agent", n);
                    }
                    Err(e) => {
                        metrics.agent_failure();
                        tracing::warn!(error = %e, "agent pass failed");
                    }
                }
                next += interval;
                let now = Instant::now();
                if next < now {
                    // Fell behind (slow pass or suspended): skip the missed ticks rather than burst.
                    next = now + interval;
                }
                match stopped.recv_timeout(next - now) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => break,
                }
            }
        })?;
    Ok(AgentThread { stop, join })
}

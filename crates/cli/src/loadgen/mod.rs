//! The demo's bundled workload: `prescale demo-load` offers work following a
//! [`CyclePattern`](prescale_telemetry::cycle::CyclePattern) and serves its counters on `/metrics`;
//! `prescale demo-worker` processes (the replicas the process-pool actuator starts and stops) pull
//! that work over loopback TCP and spend CPU and time on each unit. With too few workers the queue
//! and latency grow; with enough they stay flat.

pub mod queue;
pub mod server;
pub mod worker;

/// Worker → generator: ask for the next unit (and report the previous one done).
pub const NEXT: &str = "next";
/// Generator → worker: nothing queued right now; ask again.
pub const IDLE: &str = "idle";
/// Generator → worker prefix: `work <cpu_us> <wait_us>`.
pub const WORK: &str = "work";

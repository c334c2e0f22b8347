//! replay_30d: seconds per workload to replay a 30-day, 5-minute history through the live
//! controller (`replay_history`, the what-if path), on one thread. The histories are the demo
//! fleet's `requests` series (several archetypes: daily, office hours, weekly, bursty); the spec is
//! the daemon's default for a 5-minute step with a daily season and a 10-minute lead.
//! Prints one row per workload and the mean (issue 14's goal: <= 2 s per workload on one core).
//! Run: `cargo run --release -p prescale-replay --example replay_30d [-- WORKLOADS]`

use prescale_core::{Interval, WorkloadId};
use prescale_replay::replay_history;
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let workloads: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(5);
    let fleet = demo_fleet(&DemoConfig {
        workloads,
        days: 30,
        interval: Interval::from_secs(300).ok_or("interval")?,
        ..DemoConfig::default()
    })?;
    let mut total = 0.0;
    let mut n = 0;
    println!("workload                 steps   fits  seconds");
    for s in fleet.iter().filter(|s| s.key.metric.as_str() == "requests") {
        let values: Vec<f64> = s.values();
        let c = prescale_replay::simulate::capacity_per_replica(&values, None)?;
        let mut spec = prescale_control::WorkloadSpec::new(
            WorkloadId::new(s.key.workload.as_str())?,
            s.key.metric.clone(),
            c,
        );
        spec.step = Duration::from_secs(300);
        spec.lead = Duration::from_secs(600);
        spec.season = Some(Duration::from_secs(86_400));
        spec.stale_after = Duration::from_secs(900);
        let t0 = Instant::now();
        let r = replay_history(s.samples(), spec, &[], (None, None), false)?;
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{:<24} {:>6} {:>6} {:>8.3}",
            s.key.workload.as_str(),
            r.steps,
            r.fits,
            secs
        );
        total += secs;
        n += 1;
    }
    println!("mean seconds per workload: {:.3}", total / n.max(1) as f64);
    Ok(())
}

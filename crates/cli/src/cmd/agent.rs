//! `prescale agent`: sample this machine's processes with the built-in agent and print per-workload
//! values (a table or JSON lines), with the agent's own overhead; with `--publish nats://...` every
//! sample's points also go to a prescale cluster's bus, so many hosts can feed one fleet.

use crate::output::table;
use anyhow::{Context, Result};
use clap::Args;
use prescale_agent::{Agent, AgentConfig, AgentSample};
use prescale_daemon::DaemonConfig;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Time between samples (10ms to 1h).
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// Number of samples to print (rates appear from the second one); runs until interrupted when 0.
    #[arg(long, default_value_t = 2)]
    pub count: u64,
    /// Print one JSON object per line (one per point, then one overhead line per sample).
    #[arg(long)]
    pub json: bool,
    /// Take the grouping rules from this daemon config's `[agent]` section.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Also publish every sample's points to this prescale cluster's bus (`nats://host:port`;
    /// an instance with `[cluster]` must have joined it). A failed publish is reported and the
    /// agent goes on.
    #[arg(long, value_name = "URL")]
    pub publish: Option<String>,
}

pub fn run(a: &AgentArgs) -> Result<()> {
    let mut cfg: AgentConfig = match &a.config {
        Some(path) => DaemonConfig::from_file(path)?
            .agent
            .with_context(|| format!("{}: [agent] is disabled", path.display()))?,
        None => AgentConfig::default(),
    };
    let iv = prescale_core::time::parse_duration(&a.interval)
        .with_context(|| format!("--interval {:?} is not a duration such as 1s", a.interval))?;
    cfg.interval = Duration::from_millis(iv.millis().unsigned_abs());
    let interval = cfg.interval;
    let mut agent = Agent::new(cfg)?;
    let publisher = match &a.publish {
        None => None,
        Some(url) => Some(
            prescale_bus::BlockingPublisher::connect(url, &format!("prescale-agent@{}", host()))
                .with_context(|| format!("--publish {url}"))?,
        ),
    };
    let (mut published, mut failed) = (0u64, 0u64);
    let mut next = Instant::now();
    let mut n = 0u64;
    loop {
        let s = agent.sample(super::now())?;
        n += 1;
        if let Some(p) = &publisher {
            match p.publish(&s.points) {
                Ok(r) => {
                    published += 1;
                    eprintln!(
                        "published {} points in {} messages ({} bytes)",
                        r.points, r.messages, r.bytes
                    );
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("publishing sample {n}: {e}");
                }
            }
        }
        if a.json {
            print_json_lines(&s)?;
        } else if n > 1 || a.count == 1 {
            print_table(&s);
        }
        if a.count != 0 && n >= a.count {
            if published == 0 && failed > 0 {
                anyhow::bail!("none of the {failed} samples could be published");
            }
            break;
        }
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    Ok(())
}

/// This machine's name, for the bus client's name.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn print_json_lines(s: &AgentSample) -> Result<()> {
    for p in &s.points {
        println!(
            "{}",
            serde_json::json!({
                "workload": p.key.workload, "metric": p.key.metric,
                "ts": p.sample.ts.0, "value": p.sample.value, "labels": p.labels,
            })
        );
    }
    println!("{}", serde_json::json!({ "overhead": overhead_json(s) }));
    Ok(())
}

fn overhead_json(s: &AgentSample) -> serde_json::Value {
    serde_json::json!({
        "cpu_seconds": s.overhead.cpu_seconds,
        "wall_seconds": s.overhead.wall_seconds,
        "processes": s.overhead.processes,
        "workloads": s.stats.workloads,
        "points": s.points.len(),
    })
}

/// One row per workload, one column per metric (metrics absent for a workload show `-`).
fn print_table(s: &AgentSample) {
    let mut metrics: Vec<&str> = s.points.iter().map(|p| p.key.metric.as_str()).collect();
    metrics.sort_unstable();
    metrics.dedup();
    let mut rows: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for p in &s.points {
        let row = rows
            .entry(p.key.workload.as_str())
            .or_insert_with(|| vec!["-".to_string(); metrics.len()]);
        if let Ok(i) = metrics.binary_search(&p.key.metric.as_str()) {
            row[i] = format_value(p.sample.value);
        }
    }
    let mut header = vec!["workload"];
    header.extend(metrics.iter().copied());
    let body: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(w, vals)| std::iter::once(w.to_string()).chain(vals).collect())
        .collect();
    print!("{}", table(&header, &body));
    println!(
        "agent overhead: {:.2} ms CPU, {:.2} ms wall for {} processes in {} workloads",
        s.overhead.cpu_seconds * 1e3,
        s.overhead.wall_seconds * 1e3,
        s.overhead.processes,
        s.stats.workloads
    );
}

fn format_value(v: f64) -> String {
    if v.abs() >= 1000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

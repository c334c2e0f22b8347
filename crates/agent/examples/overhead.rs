//! Agent overhead benchmark: CPU per sample watching (a) every process on this machine at 1 s and
//! (b) one process at 10 ms, side by side with Debian's prometheus-node-exporter scraped at the
//! same intervals for the same wall time.
//!
//! `cargo run --release -p prescale-agent --example overhead -- [--seconds 20] [--processes 200]`

use anyhow::{bail, Context, Result};
use prescale_agent::overhead::thread_cpu_seconds;
use prescale_agent::{Agent, AgentConfig};
use prescale_core::Timestamp;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";
const TARGET_ENV: &str = "PRESCALE_OVERHEAD_TARGET";

/// Children killed when dropped.
struct Kids(Vec<Child>);
impl Drop for Kids {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Row {
    name: String,
    wall: f64,
    samples: u64,
    cpu: f64,
    extra: String,
}

impl Row {
    fn pct(&self) -> f64 {
        100.0 * self.cpu / self.wall
    }
    fn per_sample_ms(&self) -> f64 {
        1000.0 * self.cpu / self.samples.max(1) as f64
    }
}

fn now_ms() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}

fn count_processes() -> Result<usize> {
    Ok(std::fs::read_dir("/proc")?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        })
        .count())
}

/// Run `tick` every `interval` for `secs`, sleeping to fixed deadlines; returns ticks done.
fn every(
    interval: Duration,
    secs: f64,
    mut tick: impl FnMut() -> Result<()>,
) -> Result<(u64, f64)> {
    let start = Instant::now();
    let mut next = start;
    let mut n = 0;
    while start.elapsed().as_secs_f64() < secs {
        tick()?;
        n += 1;
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    Ok((n, start.elapsed().as_secs_f64()))
}

fn run_agent(name: &str, cfg: AgentConfig, secs: f64) -> Result<Row> {
    let interval = cfg.interval;
    let mut agent = Agent::new(cfg)?;
    agent.sample(now_ms())?; // warm-up: first listing and classification
    let (mut cpu, mut procs, mut points, mut workloads) = (0.0, 0usize, 0usize, 0usize);
    let mut wall_in_sample = 0.0;
    let (n, wall) = every(interval, secs, || {
        let s = agent.sample(now_ms())?;
        cpu += s.overhead.cpu_seconds;
        wall_in_sample += s.overhead.wall_seconds;
        procs = procs.max(s.stats.processes_sampled);
        points += s.points.len();
        workloads = workloads.max(s.stats.workloads);
        Ok(())
    })?;
    Ok(Row {
        name: name.to_string(),
        wall,
        samples: n,
        cpu,
        extra: format!(
            "{procs} processes sampled, {workloads} workloads, {:.0} points/sample, {:.3} ms wall/sample",
            points as f64 / n.max(1) as f64,
            1000.0 * wall_in_sample / n.max(1) as f64
        ),
    })
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn scrape(port: u16, buf: &mut Vec<u8>) -> Result<usize> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    buf.clear();
    s.read_to_end(buf)?;
    if !buf.starts_with(b"HTTP/1.") || !buf.windows(4).take(64).any(|w| w == b" 200") {
        bail!(
            "scrape failed: {}",
            String::from_utf8_lossy(&buf[..buf.len().min(80)])
        );
    }
    Ok(buf.len())
}

fn proc_cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat"))?;
    let s = prescale_agent::parse::parse_stat(&stat).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((s.utime + s.stime) as f64 / tck)
}

fn run_node_exporter(name: &str, args: &[&str], interval: Duration, secs: f64) -> Result<Row> {
    let port = free_port()?;
    let listen = format!("--web.listen-address=127.0.0.1:{port}");
    let child = Command::new(NODE_EXPORTER)
        .arg(&listen)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting prometheus-node-exporter")?;
    let pid = child.id();
    let _kids = Kids(vec![child]);
    let mut buf = Vec::with_capacity(1 << 20);
    let deadline = Instant::now() + Duration::from_secs(10);
    while scrape(port, &mut buf).is_err() {
        if Instant::now() > deadline {
            bail!("node exporter did not answer on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let cpu0 = proc_cpu_seconds(pid)?;
    let client0 = thread_cpu_seconds().unwrap_or(0.0);
    let mut bytes = 0usize;
    let (n, wall) = every(interval, secs, || {
        bytes += scrape(port, &mut buf)?;
        Ok(())
    })?;
    let cpu = proc_cpu_seconds(pid)? - cpu0;
    let client = thread_cpu_seconds().unwrap_or(0.0) - client0;
    Ok(Row {
        name: name.to_string(),
        wall,
        samples: n,
        cpu,
        extra: format!(
            "{:.0} KiB/scrape; scrape client +{:.3}% of a core",
            bytes as f64 / n.max(1) as f64 / 1024.0,
            100.0 * client / wall
        ),
    })
}

fn main() -> Result<()> {
    let mut secs = 20.0;
    let mut want_procs = 200usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => secs = args.next().context("--seconds N")?.parse()?,
            "--processes" => want_procs = args.next().context("--processes N")?.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    let mut kids = Kids(Vec::new());
    let existing = count_processes()?;
    for _ in existing..want_procs {
        kids.0.push(
            Command::new("sleep")
                .arg("3600")
                .stdout(Stdio::null())
                .spawn()
                .context("spawning sleep")?,
        );
    }
    kids.0.push(
        Command::new("sleep")
            .arg("3601")
            .env(TARGET_ENV, "target")
            .spawn()
            .context("spawning the single target")?,
    );
    let total = count_processes()?;
    println!(
        "machine: {} CPUs, {total} processes ({} spawned `sleep`s), {secs} s per scenario",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        kids.0.len()
    );

    let mut rows = Vec::new();
    let all = AgentConfig::default();
    rows.push(run_agent(
        &format!("agent: all {total} processes @ 1s"),
        all,
        secs,
    )?);
    let one: AgentConfig = toml::from_str(&format!(
        "interval = \"10ms\"\nunmatched = \"drop\"\n[[rules]]\nenv = \"{TARGET_ENV}\"\n"
    ))?;
    rows.push(run_agent("agent: 1 process @ 10ms", one, secs)?);
    let ne = Path::new(NODE_EXPORTER).exists();
    if ne {
        let procs_only = ["--collector.disable-defaults", "--collector.processes"];
        let sec = Duration::from_secs(1);
        let ten = Duration::from_millis(10);
        rows.push(run_node_exporter(
            "node-exporter default collectors @ 1s",
            &[],
            sec,
            secs,
        )?);
        rows.push(run_node_exporter(
            "node-exporter processes collector @ 1s",
            &procs_only,
            sec,
            secs,
        )?);
        rows.push(run_node_exporter(
            "node-exporter processes collector @ 10ms",
            &procs_only,
            ten,
            secs,
        )?);
    } else {
        println!("{NODE_EXPORTER} not installed: no comparison");
    }
    println!();
    println!(
        "{:<44} {:>7} {:>8} {:>13} {:>10}  notes",
        "scenario", "wall s", "samples", "cpu ms/sample", "% of core"
    );
    for r in &rows {
        println!(
            "{:<44} {:>7.1} {:>8} {:>13.4} {:>10.4}  {}",
            r.name,
            r.wall,
            r.samples,
            r.per_sample_ms(),
            r.pct(),
            r.extra
        );
    }
    if ne && rows.len() == 5 {
        println!();
        println!(
            "ratio node-exporter/agent @ 1s: default {:.1}x, processes-only {:.1}x; @ 10ms processes-only vs 1 process: {:.1}x",
            rows[2].pct() / rows[0].pct().max(1e-9),
            rows[3].pct() / rows[0].pct().max(1e-9),
            rows[4].pct() / rows[1].pct().max(1e-9),
        );
    }
    Ok(())
}

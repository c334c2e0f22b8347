//! `prescale demo`: the main job on one machine. A bundled load generator (`demo-load`) offers work
//! following a repeating cycle with bursts and noise; `prescale run`'s daemon — the agent, a scrape of
//! the generator's `/metrics`, the embedded store and the process-pool actuator in `act` mode — keeps
//! the right number of `demo-worker` processes running, ahead of the cycle's step once it has seen it.
//! Decisions print as they happen, with a summary every half minute; the HTTP API is up throughout.

use crate::loadgen::server::LoadOptions;
use anyhow::{bail, Context, Result};
use clap::Args;
use prescale_core::WorkloadId;
use prescale_daemon::{DaemonConfig, RunOptions};
use prescale_store::Store;
use prescale_telemetry::cycle::CyclePattern;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The workload the demo scales (the workers' `PRESCALE_WORKLOAD` and the generator's `service`).
pub const WORKLOAD: &str = "demo-worker";
/// The demand series: the generator's offered-units counter as a rate.
pub const METRIC: &str = "demo_requests_total:rate";

#[derive(Debug, Clone, Args)]
pub struct LiveDemoArgs {
    /// How long to run (e.g. 10m); Ctrl-C stops earlier.
    #[arg(long = "for", value_name = "DURATION", default_value = "10m")]
    pub run_for: String,
    /// HTTP API address while the demo runs (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: String,
    /// Folder for the generated daemon config (`prescale.toml`, reusable with `prescale run --config`).
    #[arg(long, default_value = "prescale-demo")]
    pub out: PathBuf,
    /// Length of the demand cycle (a day, compressed).
    #[arg(long, default_value = "120s")]
    pub period: String,
    /// Control step: demand is aggregated and decided on per step.
    #[arg(long, default_value = "5s")]
    pub step: String,
    /// Provisioning lead time the policy plans for.
    #[arg(long, default_value = "5s")]
    pub lead: String,
    /// Policy: predictive (default), hpa, hpa@0.6, threshold, predictive@0.02.
    #[arg(long, default_value = "predictive")]
    pub policy: String,
    /// Work units per second one worker is planned to serve (it can do 1 / (cpu + wait)).
    #[arg(long, default_value_t = 80.0)]
    pub capacity_per_replica: f64,
    /// CPU each unit costs a worker, and time it waits (e.g. on I/O), in milliseconds.
    #[arg(long, default_value_t = 1.0)]
    pub cpu_ms: f64,
    #[arg(long, default_value_t = 9.0)]
    pub wait_ms: f64,
    /// Mean demand outside the step and the step's height (units/s).
    #[arg(long, default_value_t = 150.0)]
    pub base: f64,
    #[arg(long, default_value_t = 300.0)]
    pub step_height: f64,
    /// Chance that a given second starts a burst (×1.6 for 4 s).
    #[arg(long, default_value_t = 0.01)]
    pub burst_chance: f64,
    /// Most workers.
    #[arg(long, default_value_t = 12)]
    pub max: u32,
    /// Print each decision as a JSON line (and the summaries as JSON) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The demo's settings after parsing.
struct Plan {
    pattern: CyclePattern,
    stop_after: Duration,
    step: Duration,
    cpu: Duration,
    wait: Duration,
}

fn parse_duration(flag: &str, text: &str) -> Result<Duration> {
    let iv = prescale_core::time::parse_duration(text)
        .with_context(|| format!("{flag} {text:?} is not a duration such as 30s"))?;
    Ok(Duration::from_millis(iv.millis().unsigned_abs()))
}

fn plan(a: &LiveDemoArgs) -> Result<Plan> {
    let period = parse_duration("--period", &a.period)?;
    let step = parse_duration("--step", &a.step)?;
    parse_duration("--lead", &a.lead)?;
    if step.is_zero() || period < step * 4 {
        bail!("--period must span at least four --step");
    }
    let ms = |v: f64, flag: &str| -> Result<Duration> {
        if !(v.is_finite() && (0.0..=10_000.0).contains(&v)) {
            bail!("{flag} {v} must lie in 0..=10000");
        }
        Ok(Duration::from_micros((v * 1000.0) as u64))
    };
    let pattern = CyclePattern {
        period_s: period.as_secs_f64(),
        base: a.base,
        step_height: a.step_height,
        burst_chance: a.burst_chance,
        ..CyclePattern::default()
    };
    pattern
        .validate()
        .map_err(|e| anyhow::anyhow!("demo pattern: {e}"))?;
    Ok(Plan {
        pattern,
        stop_after: parse_duration("--for", &a.run_for)?,
        step,
        cpu: ms(a.cpu_ms, "--cpu-ms")?,
        wait: ms(a.wait_ms, "--wait-ms")?,
    })
}

/// The generator child and its addresses.
struct Generator {
    child: Child,
    work: SocketAddr,
    metrics: SocketAddr,
}

impl Drop for Generator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_generator(exe: &Path, a: &LiveDemoArgs, p: &Plan) -> Result<Generator> {
    let mut child = Command::new(exe)
        .arg("demo-load")
        .args(["--period", &a.period])
        .args(["--base", &a.base.to_string()])
        .args(["--step-height", &a.step_height.to_string()])
        .args(["--burst-chance", &a.burst_chance.to_string()])
        .args(["--cpu-ms", &(p.cpu.as_secs_f64() * 1000.0).to_string()])
        .args(["--wait-ms", &(p.wait.as_secs_f64() * 1000.0).to_string()])
        .args(["--service", WORKLOAD, "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting demo-load")?;
    let stdout = child.stdout.take().context("demo-load's stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading demo-load's ready line")?;
    let field = |name: &str| -> Result<SocketAddr> {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .with_context(|| format!("demo-load's ready line {line:?} has no {name}"))?
            .parse()
            .with_context(|| format!("demo-load's ready line {line:?}"))
    };
    let (work, metrics) = (field("work=")?, field("metrics=")?);
    Ok(Generator {
        child,
        work,
        metrics,
    })
}

/// `--listen` with port 0 replaced by a free port, so the address printed is the one served.
fn listen_addr(text: &str) -> Result<String> {
    let addr: SocketAddr = text.parse().with_context(|| {
        format!("--listen {text:?} is not an address:port such as 127.0.0.1:9464")
    })?;
    if addr.port() != 0 {
        return Ok(addr.to_string());
    }
    let probe = std::net::TcpListener::bind(addr)
        .with_context(|| format!("finding a free port on {}", addr.ip()))?;
    Ok(probe.local_addr()?.to_string())
}

/// The daemon config the demo runs (written out so `prescale run --config` can repeat it).
fn config_toml(a: &LiveDemoArgs, exe: &Path, g: &Generator, db: &Path) -> String {
    let q = |s: &str| toml_string(s);
    format!(
        r#"# Written by `prescale demo`: the daemon that scales the demo's workers.
listen = {listen}
db = {db}
tick = "1s"
mode = "act"

[agent]
enabled = true
interval = "1s"
unmatched = "drop"
[[agent.rules]]
env = "PRESCALE_WORKLOAD"
[[agent.rules]]
cmdline = "demo-load"
workload = "demo-load"

[[scrape]]
name = "demo-load"
url = "http://{metrics}/metrics"
interval = "1s"
timeout = "1s"

[[workload]]
workload = {workload}
metric = {metric}
capacity_per_replica = {cap}
min = 1
max = {max}
step = {step}
lead = {lead}
season = {season}
stale_after = "15s"
policy = {policy}
actuator = {{ type = "process-pool", program = {exe}, args = ["demo-worker", "--connect", "{work}"], grace = "2s", max_replicas = {max} }}
"#,
        listen = q(&a.listen),
        db = q(&db.display().to_string()),
        metrics = g.metrics,
        workload = q(WORKLOAD),
        metric = q(METRIC),
        cap = a.capacity_per_replica,
        max = a.max,
        step = q(&a.step),
        lead = q(&a.lead),
        season = q(&a.period),
        policy = q(&a.policy),
        exe = q(&exe.display().to_string()),
        work = g.work,
    )
}

/// A TOML basic string (JSON's escapes are TOML's).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

pub fn run(db: &Path, a: &LiveDemoArgs) -> Result<()> {
    let p = plan(a)?;
    let listen = listen_addr(&a.listen)?;
    let a = &LiveDemoArgs {
        listen,
        ..a.clone()
    };
    if !(a.capacity_per_replica.is_finite() && a.capacity_per_replica > 0.0) {
        bail!("--capacity-per-replica must be positive");
    }
    let exe = std::env::current_exe().context("locating the prescale binary")?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let generator = start_generator(&exe, a, &p)?;
    let config_path = a.out.join("prescale.toml");
    std::fs::write(&config_path, config_toml(a, &exe, &generator, db))
        .with_context(|| format!("writing {}", config_path.display()))?;
    let cfg = DaemonConfig::from_file(&config_path)?;
    if !a.json {
        println!(
            "prescale demo: demo-load offers work in a {} cycle (step at {:.0}%–{:.0}% of it, bursts, noise);\n\
             the daemon scales `{WORKLOAD}` processes with the process-pool actuator ({} policy, step {}, lead {}).\n\
             API: http://{}/api/v1/decisions  ·  config: {}  ·  store: {}  ·  stops after {} (Ctrl-C stops sooner)\n",
            a.period,
            p.pattern.step_from * 100.0,
            p.pattern.step_to * 100.0,
            a.policy,
            a.step,
            a.lead,
            cfg.listen,
            config_path.display(),
            cfg.db.display(),
            a.run_for,
        );
    }
    crate::cmd::run::init_logging_quiet();
    let stop = Arc::new(AtomicBool::new(false));
    let printer = {
        let (stop, db, metrics) = (stop.clone(), cfg.db.clone(), generator.metrics);
        let (json, pattern, step) = (a.json, p.pattern.clone(), p.step);
        std::thread::spawn(move || report(&stop, &db, metrics, json, &pattern, step))
    };
    let ran = prescale_daemon::run(
        cfg,
        RunOptions {
            stop_after: Some(p.stop_after),
            once: false,
        },
    );
    stop.store(true, Ordering::SeqCst);
    let summary = printer
        .join()
        .map_err(|_| anyhow::anyhow!("the reporter panicked"))?;
    drop(generator);
    ran?;
    let s = summary?;
    if a.json {
        println!("{}", serde_json::to_string(&s.json())?);
    } else {
        println!("\n{}", s.text());
    }
    Ok(())
}

/// What the demo saw, for the summaries.
#[derive(Debug, Default, Clone)]
struct Tally {
    decisions: u64,
    scale_ups: u64,
    scale_downs: u64,
    /// Scale-ups decided within three steps before a cycle's step started.
    ahead_of_step: u64,
    offered: f64,
    served: f64,
    dropped: f64,
    latency_sum: f64,
    queue: f64,
    workers: f64,
    /// Counter values at the last summary, for rates over the interval.
    last: Option<(Instant, f64, f64, f64)>,
    rate_offered: f64,
    rate_served: f64,
    mean_latency_s: f64,
}

impl Tally {
    fn text(&self) -> String {
        format!(
            "summary: offered {:.0}/s, served {:.0}/s, queue {:.0}, mean latency {:.0} ms, workers {:.0} · \
             decisions {}, scale-ups {} ({} ahead of the cycle's step), scale-downs {}, units dropped {:.0}",
            self.rate_offered,
            self.rate_served,
            self.queue,
            self.mean_latency_s * 1000.0,
            self.workers,
            self.decisions,
            self.scale_ups,
            self.ahead_of_step,
            self.scale_downs,
            self.dropped,
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"summary": {
            "offered_rate": self.rate_offered, "served_rate": self.rate_served, "queue": self.queue,
            "mean_latency_s": self.mean_latency_s, "workers": self.workers,
            "offered_total": self.offered, "served_total": self.served, "dropped_total": self.dropped,
            "decisions": self.decisions, "scale_ups": self.scale_ups, "scale_downs": self.scale_downs,
            "scale_ups_ahead_of_step": self.ahead_of_step,
        }})
    }

    /// Reads the generator's counters and updates the interval rates.
    fn sample(&mut self, metrics: SocketAddr) {
        let Ok(text) = http_get(metrics, "/metrics") else {
            return;
        };
        let Ok(expo) =
            prescale_ingest::exposition::parse(&text, prescale_ingest::exposition::Format::Text)
        else {
            return;
        };
        for s in &expo.samples {
            let v = s.value;
            match s.name.as_str() {
                "demo_requests_total" => self.offered = v,
                "demo_served_total" => self.served = v,
                "demo_dropped_total" => self.dropped = v,
                "demo_latency_seconds_total" => self.latency_sum = v,
                "demo_queue_depth" => self.queue = v,
                "demo_workers" => self.workers = v,
                _ => {}
            }
        }
        let now = Instant::now();
        if let Some((at, offered, served, lat)) = self.last {
            let dt = now.duration_since(at).as_secs_f64().max(1e-3);
            self.rate_offered = (self.offered - offered) / dt;
            self.rate_served = (self.served - served) / dt;
            let n = self.served - served;
            self.mean_latency_s = if n > 0.0 {
                (self.latency_sum - lat) / n
            } else {
                0.0
            };
        }
        self.last = Some((now, self.offered, self.served, self.latency_sum));
    }
}

/// Prints new decisions every second and a summary every 30 s until `stop`; returns the tally.
fn report(
    stop: &AtomicBool,
    db: &Path,
    metrics: SocketAddr,
    json: bool,
    pattern: &CyclePattern,
    step: Duration,
) -> Result<Tally> {
    let workload = WorkloadId::new(WORKLOAD)?;
    let mut tally = Tally::default();
    let mut seen = 0i64;
    let mut store: Option<Store> = None;
    let mut last_summary = Instant::now();
    tally.sample(metrics);
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(500));
        if store.is_none() {
            store = Store::open(db).ok();
        }
        let Some(s) = store.as_ref() else { continue };
        let Ok(rows) = s.decisions(50, Some(&workload)) else {
            continue;
        };
        let last_seen = seen;
        for (id, row) in rows.into_iter().rev().filter(|(id, _)| *id > last_seen) {
            seen = id;
            tally.decisions += 1;
            let record: serde_json::Value =
                serde_json::from_str(&row.record_json).unwrap_or_default();
            let (before, after) = (row.before, row.after);
            let up = matches!((before, after), (Some(b), Some(a)) if a > b);
            if up {
                tally.scale_ups += 1;
                let t = row.at.0 as f64 / 1000.0;
                let ahead = (0..3)
                    .any(|k| pattern.in_step(t + step.as_secs_f64() * (k + 1) as f64))
                    && !pattern.in_step(t);
                if ahead {
                    tally.ahead_of_step += 1;
                }
            }
            if matches!((before, after), (Some(b), Some(a)) if a < b) {
                tally.scale_downs += 1;
            }
            if json {
                println!("{}", serde_json::json!({"decision": record}));
            } else {
                println!("{}", decision_line(&row.at, before, after, &record));
            }
        }
        if last_summary.elapsed() >= Duration::from_secs(30) {
            last_summary = Instant::now();
            tally.sample(metrics);
            if json {
                println!("{}", tally.json());
            } else {
                println!("  {}", tally.text());
            }
        }
    }
    tally.sample(metrics);
    Ok(tally)
}

fn decision_line(
    at: &prescale_core::Timestamp,
    before: Option<u32>,
    after: Option<u32>,
    r: &serde_json::Value,
) -> String {
    let secs = at.0.div_euclid(1000);
    let clock = format!(
        "{:02}:{:02}:{:02}",
        secs.div_euclid(3600).rem_euclid(24),
        secs.div_euclid(60).rem_euclid(60),
        secs.rem_euclid(60)
    );
    let show = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    let arrow = match (before, after) {
        (Some(b), Some(a)) if a > b => "▲",
        (Some(b), Some(a)) if a < b => "▼",
        _ => " ",
    };
    let demand = r["inputs"]["demand"]
        .as_f64()
        .map_or("-".into(), |d| format!("{d:.0}/s"));
    let upper = r["forecast"]["upper"]
        .as_f64()
        .map_or(String::new(), |u| format!("  forecast ≤ {u:.0}/s"));
    let reason = r["reason"].as_str().unwrap_or("");
    format!(
        "{clock} UTC {arrow} workers {} → {}  demand {demand}{upper}  {reason}",
        show(before),
        show(after)
    )
}

/// A minimal HTTP/1.0 GET on loopback (the generator's `/metrics`).
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

/// `prescale demo-load` arguments.
#[derive(Debug, Args)]
pub struct DemoLoadArgs {
    #[arg(long, default_value = "120s")]
    pub period: String,
    #[arg(long, default_value_t = 150.0)]
    pub base: f64,
    #[arg(long, default_value_t = 300.0)]
    pub step_height: f64,
    #[arg(long, default_value_t = 0.01)]
    pub burst_chance: f64,
    #[arg(long, default_value_t = 1.0)]
    pub cpu_ms: f64,
    #[arg(long, default_value_t = 9.0)]
    pub wait_ms: f64,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub work_listen: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub metrics_listen: SocketAddr,
    #[arg(long, default_value = WORKLOAD)]
    pub service: String,
    #[arg(long)]
    pub exit_on_stdin_eof: bool,
}

pub fn demo_load(a: &DemoLoadArgs) -> Result<()> {
    let period = parse_duration("--period", &a.period)?;
    let ms = |v: f64| Duration::from_micros((v.clamp(0.0, 10_000.0) * 1000.0) as u64);
    crate::loadgen::server::serve(LoadOptions {
        pattern: CyclePattern {
            period_s: period.as_secs_f64(),
            base: a.base,
            step_height: a.step_height,
            burst_chance: a.burst_chance,
            ..CyclePattern::default()
        },
        cpu: ms(a.cpu_ms),
        wait: ms(a.wait_ms),
        work_listen: a.work_listen,
        metrics_listen: a.metrics_listen,
        max_queue: 100_000,
        service: a.service.clone(),
        exit_on_stdin_eof: a.exit_on_stdin_eof,
    })
}

/// `prescale demo-worker` arguments.
#[derive(Debug, Args)]
pub struct DemoWorkerArgs {
    /// The generator's work address.
    #[arg(long)]
    pub connect: SocketAddr,
}

pub fn demo_worker(a: &DemoWorkerArgs) -> Result<()> {
    crate::loadgen::worker::run(a.connect, Duration::from_secs(10))
}

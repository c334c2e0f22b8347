//! `prescale demo`: the main job on one machine. A bundled load generator (`demo-load`) offers work
//! following a repeating cycle with bursts and noise; `prescale run`'s daemon — the agent, a scrape of
//! the generator's `/metrics`, the embedded store and the process-pool actuator in `act` mode — keeps
//! the right number of `demo-worker` processes running, ahead of the cycle's step once it has seen it.
//! The demo owns its folder (`--out`): its store there is emptied at every start, and the daemon
//! config it writes there runs again with `prescale run --config` beside `prescale demo-load`.
//! Decisions print as they happen ([`report`]), with a summary every half minute and a closing one.

mod report;

use crate::loadgen::server::LoadOptions;
use anyhow::{bail, Context, Result};
use clap::Args;
use prescale_core::WorkloadId;
use prescale_daemon::{DaemonConfig, RunOptions};
use prescale_telemetry::cycle::CyclePattern;
use std::fs::{File, TryLockError};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The workload the demo scales (the workers' `PRESCALE_WORKLOAD` and the generator's `service`).
pub const WORKLOAD: &str = "demo-worker";
/// The demand series: the generator's offered-units counter as a rate.
pub const METRIC: &str = "demo_requests_total:rate";
/// The demo's store, in its folder; emptied at every start.
pub const STORE: &str = "demo.db";
/// The daemon config the demo writes into its folder.
pub const CONFIG: &str = "prescale.toml";

#[derive(Debug, Clone, Args)]
pub struct LiveDemoArgs {
    /// How long to run (e.g. 10m); Ctrl-C stops earlier.
    #[arg(long = "for", value_name = "DURATION", default_value = "10m")]
    pub run_for: String,
    /// HTTP API address while the demo runs (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: String,
    /// The demo's own folder: its store (`demo.db`, emptied at every start; `--db` is not used) and
    /// the daemon config it ran (`prescale.toml`, which `prescale run --config` runs again).
    #[arg(long, default_value = "prescale-demo")]
    pub out: PathBuf,
    /// Length of the demand cycle (a day, compressed).
    #[arg(long, default_value = "60s")]
    pub period: String,
    /// Control step: demand is aggregated and decided on per step.
    #[arg(long, default_value = "2s")]
    pub step: String,
    /// Provisioning lead time the policy plans for.
    #[arg(long, default_value = "4s")]
    pub lead: String,
    /// Policy: predictive (default), hpa, hpa@0.6, threshold, predictive@0.02.
    #[arg(long, default_value = "predictive")]
    pub policy: String,
    /// Work units per second one worker is planned to serve (it can do 1 / (cpu + wait)).
    #[arg(long, default_value_t = 80.0)]
    pub capacity_per_replica: f64,
    /// CPU each unit costs a worker, in milliseconds.
    #[arg(long, default_value_t = 1.0)]
    pub cpu_ms: f64,
    /// Time a worker waits on each unit (as on I/O), in milliseconds.
    #[arg(long, default_value_t = 9.0)]
    pub wait_ms: f64,
    /// Mean demand outside the step (units/s).
    #[arg(long, default_value_t = 150.0)]
    pub base: f64,
    /// What the cycle's step adds to the demand (units/s), from 55% to 80% of every cycle.
    #[arg(long, default_value_t = 300.0)]
    pub step_height: f64,
    /// Chance that a given second starts a burst (×1.6 for 4 s).
    #[arg(long, default_value_t = 0.01)]
    pub burst_chance: f64,
    /// Most workers.
    #[arg(long, default_value_t = 12)]
    pub max: u32,
    /// JSON Lines on stdout instead of text: the demo's settings ({"demo": …}), each decision
    /// ({"decision": …}), the half-minute summaries ({"summary": …}) and the closing summary
    /// ({"closing_summary": …}).
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
    if !(a.capacity_per_replica.is_finite() && a.capacity_per_replica > 0.0) {
        bail!("--capacity-per-replica must be positive");
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

/// The pattern's origin (Unix ms) that puts `now_ms` just after a step, so that the first step
/// comes `(1 − step_to + step_from)` of a period in: seen once while there is no forecast yet,
/// met ahead from the second or third on.
fn origin_ms(pattern: &CyclePattern, now_ms: i64) -> i64 {
    now_ms - (pattern.step_to * pattern.period_s * 1000.0).round() as i64
}

/// The generator's command line (after the binary): the demo's pattern, origin and addresses.
fn load_args(a: &LiveDemoArgs, p: &Plan, origin_ms: i64, work: &str, metrics: &str) -> Vec<String> {
    [
        "demo-load",
        "--period",
        &a.period,
        "--base",
        &a.base.to_string(),
        "--step-height",
        &a.step_height.to_string(),
        "--burst-chance",
        &a.burst_chance.to_string(),
        "--cpu-ms",
        &(p.cpu.as_secs_f64() * 1000.0).to_string(),
        "--wait-ms",
        &(p.wait.as_secs_f64() * 1000.0).to_string(),
        "--service",
        WORKLOAD,
        "--origin-ms",
        &origin_ms.to_string(),
        "--work-listen",
        work,
        "--metrics-listen",
        metrics,
    ]
    .map(String::from)
    .to_vec()
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

fn start_generator(exe: &Path, args: &[String]) -> Result<Generator> {
    let mut child = Command::new(exe)
        .args(args)
        .arg("--exit-on-stdin-eof")
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

/// Takes the demo's folder for this run and empties its store: refused while another demo, or a
/// `prescale run` on the demo's store, is running there. The returned lock is held for the run.
fn fresh_folder(out: &Path) -> Result<File> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let lock_path = out.join("demo.lock");
    let lock =
        File::create(&lock_path).with_context(|| format!("opening {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => bail!(
            "another `prescale demo` is running in {}: stop it, or give this one another --out",
            out.display()
        ),
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
    let db = out.join(STORE);
    // The process pool locks its state file while a daemon manages the workers.
    let pool_lock = out.join(format!("{STORE}.pool.{WORKLOAD}.json.lock"));
    if let Ok(f) = File::open(&pool_lock) {
        if matches!(f.try_lock(), Err(TryLockError::WouldBlock)) {
            bail!(
                "a `prescale run` is using the demo's store {}: stop it before the demo starts afresh",
                db.display()
            );
        }
    }
    let entries = std::fs::read_dir(out).with_context(|| format!("listing {}", out.display()))?;
    for e in entries.flatten() {
        let ours = e.file_name().to_string_lossy().starts_with(STORE);
        if ours && e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(e.path())
                .with_context(|| format!("removing {}", e.path().display()))?;
        }
    }
    Ok(lock)
}

/// The daemon config the demo runs (written out so `prescale run --config` can repeat it).
fn config_toml(a: &LiveDemoArgs, exe: &Path, g: &Generator, db: &Path, rerun: &[String]) -> String {
    let q = |s: &str| toml_string(s);
    let again: String = rerun.iter().map(|c| format!("#   {c}\n")).collect();
    format!(
        r#"# Written by `prescale demo`: the daemon that scales the demo's workers. To run it again
# (the store keeps what the demo learned), start the same load generator beside it:
{again}
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

/// A word for a POSIX shell: as it is when safe, else single-quoted.
fn sh_word(w: &str) -> String {
    let safe = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

fn sh_line(exe: &Path, args: &[String]) -> String {
    std::iter::once(exe.display().to_string())
        .chain(args.iter().cloned())
        .map(|w| sh_word(&w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unix_ms() -> i64 {
    (crate::loadgen::server::unix_seconds() * 1000.0) as i64
}

pub fn run(db_flag: &Path, a: &LiveDemoArgs) -> Result<()> {
    let p = plan(a)?;
    let listen = listen_addr(&a.listen)?;
    let a = &LiveDemoArgs {
        listen,
        ..a.clone()
    };
    if db_flag != Path::new("prescale.db") {
        eprintln!(
            "note: prescale demo keeps its own store in {}; --db {} is not used",
            a.out.join(STORE).display(),
            db_flag.display()
        );
    }
    let exe = std::env::current_exe().context("locating the prescale binary")?;
    let _lock = fresh_folder(&a.out)?;
    let out =
        std::path::absolute(&a.out).with_context(|| format!("resolving {}", a.out.display()))?;
    let (db, config_path) = (out.join(STORE), out.join(CONFIG));
    let origin = origin_ms(&p.pattern, unix_ms());
    let any = "127.0.0.1:0";
    let generator = start_generator(&exe, &load_args(a, &p, origin, any, any))?;
    let (work, metrics) = (generator.work.to_string(), generator.metrics.to_string());
    let rerun = vec![
        format!(
            "{} &",
            sh_line(&exe, &load_args(a, &p, origin, &work, &metrics))
        ),
        sh_line(
            &exe,
            &["run", "--config", &config_path.display().to_string()].map(String::from),
        ),
    ];
    std::fs::write(&config_path, config_toml(a, &exe, &generator, &db, &rerun))
        .with_context(|| format!("writing {}", config_path.display()))?;
    let cfg = DaemonConfig::from_file(&config_path)?;
    let origin_s = origin as f64 / 1000.0;
    let first_step_ms = ((origin_s + p.pattern.step_start(1)) * 1000.0) as i64;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"demo": crate::output::with_rfc3339(serde_json::json!({
                "workload": WORKLOAD, "metric": METRIC, "policy": a.policy,
                "api": format!("http://{}/", cfg.listen), "store": db, "config": config_path,
                "rerun": rerun, "origin_ms": origin, "period_s": p.pattern.period_s,
                "step_from": p.pattern.step_from, "step_to": p.pattern.step_to,
                "step_height": p.pattern.step_height, "step_s": p.step.as_secs_f64(),
                "lead": a.lead, "capacity_per_replica": a.capacity_per_replica,
                "first_step": {"at": first_step_ms}, "stops_after_s": p.stop_after.as_secs_f64(),
            }))})
        );
    } else {
        let pct = |x: f64| x * 100.0;
        println!(
            "prescale demo: a load generator offers work in a {} cycle (a smooth swing of ±{:.0}% around {:.0}/s, \
             +{:.0}/s from {:.0}% to {:.0}% of every cycle, bursts, noise);\n\
             the daemon scales `{WORKLOAD}` processes ({:.0}/s each) with the {} policy, deciding every {} for {} ahead.\n\
             The first step comes at {} UTC, before there is any forecast: the daemon can only react to it. \
             Once the forecast has seen a step (the second or third), workers are added before it comes.\n\
             API and dashboard: http://{}/  ·  store: {} (emptied at each start)  ·  times UTC  ·  stops after {} (Ctrl-C stops sooner)\n\
             Run its daemon again later: see the top of {}\n",
            a.period,
            pct(p.pattern.swing),
            a.base,
            a.step_height,
            pct(p.pattern.step_from),
            pct(p.pattern.step_to),
            a.capacity_per_replica,
            a.policy,
            a.step,
            a.lead,
            report::clock(first_step_ms),
            cfg.listen,
            a.out.join(STORE).display(),
            a.run_for,
            a.out.join(CONFIG).display(),
        );
    }
    crate::cmd::run::init_logging_quiet();
    let stop = Arc::new(AtomicBool::new(false));
    let watch = report::Watch {
        db: cfg.db.clone(),
        workload: WorkloadId::new(WORKLOAD)?,
        metrics: generator.metrics,
        api: cfg.listen,
        json: a.json,
        pattern: p.pattern.clone(),
        origin_s,
        step_s: p.step.as_secs_f64(),
        // The daemon's own timer starts once it is up, so it stops after this.
        deadline: Instant::now() + p.stop_after,
    };
    let printer = {
        let stop = stop.clone();
        std::thread::spawn(move || report::watch(&watch, &stop))
    };
    let ran = prescale_daemon::run(
        cfg,
        RunOptions {
            stop_after: Some(p.stop_after),
            once: false,
        },
    );
    stop.store(true, Ordering::SeqCst);
    let closing = printer
        .join()
        .map_err(|_| anyhow::anyhow!("the reporter panicked"))?;
    drop(generator);
    ran?;
    let closing = closing?;
    if a.json {
        println!("{}", closing.json()?);
    } else {
        println!("\n{}", closing.text());
        println!("the daemon's config: {}", a.out.join(CONFIG).display());
        for c in &rerun {
            println!("  {c}");
        }
    }
    Ok(())
}

/// `prescale demo-load` arguments.
#[derive(Debug, Args)]
pub struct DemoLoadArgs {
    /// Length of the demand cycle.
    #[arg(long, default_value = "60s")]
    pub period: String,
    /// Mean demand outside the step (units/s).
    #[arg(long, default_value_t = 150.0)]
    pub base: f64,
    /// What the cycle's step adds (units/s).
    #[arg(long, default_value_t = 300.0)]
    pub step_height: f64,
    /// Chance that a given second starts a burst.
    #[arg(long, default_value_t = 0.01)]
    pub burst_chance: f64,
    /// CPU a worker spends on each unit, in milliseconds.
    #[arg(long, default_value_t = 1.0)]
    pub cpu_ms: f64,
    /// Time a worker waits on each unit, in milliseconds.
    #[arg(long, default_value_t = 9.0)]
    pub wait_ms: f64,
    /// Where workers connect for units (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub work_listen: SocketAddr,
    /// Where `/metrics` is served (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub metrics_listen: SocketAddr,
    /// The `service` label of every metric: the workload the demand belongs to.
    #[arg(long, default_value = WORKLOAD)]
    pub service: String,
    /// Exit when standard input closes.
    #[arg(long)]
    pub exit_on_stdin_eof: bool,
    /// The pattern's time origin (Unix ms; default: the epoch): `prescale demo` passes the one it
    /// ran with, so a re-run stays in phase with the demand the store holds.
    #[arg(long, default_value_t = 0)]
    pub origin_ms: i64,
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
        origin_s: a.origin_ms as f64 / 1000.0,
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

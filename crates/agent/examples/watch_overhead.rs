//! Overhead of millisecond sampling: the `[agent.watch]` watcher on 5 processes at 1 ms and 10 ms
//! against the grouped agent at its 10 ms floor on the same 5 processes, in one run.
//!
//! Every row is the CPU of the sampling thread over the whole run, its sleeps and wake-ups
//! included (CLOCK_THREAD_CPUTIME_ID), divided by the wall time: "% of a core". The rows are
//! measured in `--rounds` turns (each row `seconds / rounds` per turn, all rows in every turn), so
//! a change in the machine's load during the run reaches every row alike. The last row is the
//! floor: the watcher's own loop (monotonic clock, stop flag, absolute-deadline sleep) reading
//! nothing; "over floor" is what the readings add to each wake-up.
//!
//! `cargo run --release -p prescale-agent --example watch_overhead -- [--seconds 10] [--processes 5] [--rounds 5]`

use anyhow::{bail, Context, Result};
use prescale_agent::overhead::thread_cpu_seconds;
use prescale_agent::watch::{self, WatchConfig, WatchStep, Watcher};
use prescale_agent::{Agent, AgentConfig};
use prescale_core::{Labels, Timestamp};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TARGET_ENV: &str = "PRESCALE_WATCH_TARGET";
/// The children run `sleep` with this argument, so a command-line pattern finds exactly them.
const SLEEP_ARG: &str = "3600.4242";

struct Kids(Vec<Child>);
impl Drop for Kids {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[derive(Default)]
struct Row {
    name: String,
    wall: f64,
    readings: u64,
    cpu: f64,
    late: u64,
}

impl Row {
    fn add(&mut self, part: Row) {
        self.wall += part.wall;
        self.readings += part.readings;
        self.cpu += part.cpu;
        self.late += part.late;
    }
}

/// What one row runs.
enum Scenario {
    /// The grouped agent at this interval.
    Grouped(Duration),
    /// The watcher with this `[agent.watch]` text, expecting this many processes.
    Watched(String, usize),
    /// The watcher's loop alone, reading nothing, or making one call of a source per process.
    Floor(Duration, Option<(Source, Vec<u32>)>),
}

/// One thing the watcher reads per process and reading.
#[derive(Clone, Copy)]
enum Source {
    Schedstat,
    Io,
    CpuClock,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Schedstat => "pread /proc/<pid>/schedstat",
            Source::Io => "pread /proc/<pid>/io",
            Source::CpuClock => "clock_gettime(process CPU clock)",
        }
    }
}

/// A prepared call of `source` on one process.
enum Call {
    File(std::fs::File),
    Clock(libc::clockid_t),
}

impl Call {
    fn open(source: Source, pid: u32) -> Result<Call> {
        Ok(match source {
            Source::Schedstat => Call::File(std::fs::File::open(format!("/proc/{pid}/schedstat"))?),
            Source::Io => Call::File(std::fs::File::open(format!("/proc/{pid}/io"))?),
            Source::CpuClock => {
                let mut id: libc::clockid_t = 0;
                // SAFETY: `id` is a valid out-parameter.
                if unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut id) } != 0 {
                    bail!("no CPU clock for pid {pid}");
                }
                Call::Clock(id)
            }
        })
    }

    fn call(&self, buf: &mut [u8]) {
        use std::os::unix::fs::FileExt;
        match self {
            Call::File(f) => {
                let _ = f.read_at(buf, 0);
            }
            Call::Clock(id) => {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: `ts` is a valid, writable timespec.
                unsafe { libc::clock_gettime(*id, &mut ts) };
            }
        }
    }
}

fn now_ms() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}

/// The grouped agent at `interval`, the way the daemon's agent thread runs it.
fn grouped(name: &str, interval: Duration, secs: f64) -> Result<Row> {
    let cfg: AgentConfig = toml::from_str(&format!(
        "interval = \"{}ms\"\nunmatched = \"drop\"\n[[rules]]\nenv = \"{TARGET_ENV}\"\n",
        interval.as_millis()
    ))?;
    let mut agent = Agent::new(cfg)?;
    agent.sample(now_ms())?;
    let cpu0 = thread_cpu_seconds().context("thread clock")?;
    let start = Instant::now();
    let (mut next, mut n, mut late, mut seen) = (start, 0u64, 0u64, 0usize);
    while start.elapsed().as_secs_f64() < secs {
        let s = agent.sample(now_ms())?;
        seen = seen.max(s.stats.processes_sampled);
        n += 1;
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            late += 1;
            next = now;
        }
    }
    let cpu = thread_cpu_seconds().context("thread clock")? - cpu0;
    if seen == 0 {
        bail!("{name}: the grouped agent found none of the target processes");
    }
    Ok(Row {
        name: name.into(),
        wall: start.elapsed().as_secs_f64(),
        readings: n,
        cpu,
        late,
    })
}

/// The watcher on its own thread for `secs`, counting full steps only (the first is partial).
fn watched(name: &str, toml_text: &str, want: usize, secs: f64) -> Result<Row> {
    let cfg: WatchConfig = toml::from_str(toml_text)?;
    let step = cfg.step.as_secs_f64();
    let w = Watcher::new(cfg, "/proc", Labels::new())?;
    let (tx, rx) = mpsc::channel::<WatchStep>();
    let t = watch::spawn(w, move |s| tx.send(s).is_ok())?;
    let first = rx.recv_timeout(Duration::from_secs(5))?;
    let _ = first;
    let steps = (secs / step).ceil().max(1.0) as usize;
    let mut row = Row {
        name: name.into(),
        wall: 0.0,
        readings: 0,
        cpu: 0.0,
        late: 0,
    };
    for _ in 0..steps {
        let s = rx.recv_timeout(Duration::from_secs(5))?;
        if s.stats.processes != want {
            bail!(
                "{name}: watching {} processes, not {want}",
                s.stats.processes
            );
        }
        row.wall += step;
        row.readings += s.stats.readings;
        row.cpu += s.stats.cpu_seconds;
        row.late += s.stats.late;
    }
    drop(t.stop);
    let _ = t.join.join();
    Ok(row)
}

/// The watcher's own loop reading nothing: a monotonic clock read, the stop flag and an
/// absolute-deadline `clock_nanosleep` every `interval`, on a thread of its own (the floor any
/// 1 ms sampler pays).
fn floor(name: &str, interval: Duration, calls: Vec<Call>, secs: f64) -> Result<Row> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let h = std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        let stop = AtomicBool::new(false);
        let iv = interval.as_nanos() as u64;
        let cpu0 = thread_cpu_seconds().unwrap_or(0.0);
        let start = watch::run::monotonic_ns();
        let end = start + (secs * 1e9) as u64;
        let (mut next, mut n, mut late) = (start, 0u64, 0u64);
        while !stop.load(Ordering::Relaxed) {
            let t = watch::run::monotonic_ns();
            if t >= end {
                break;
            }
            if t > next + iv {
                late += 1;
                next = t;
            }
            for c in &calls {
                c.call(&mut buf);
            }
            n += 1;
            next += iv;
            watch::run::sleep_until(next);
        }
        let wall = (watch::run::monotonic_ns() - start) as f64 * 1e-9;
        (thread_cpu_seconds().unwrap_or(0.0) - cpu0, n, wall, late)
    });
    let (cpu, readings, wall, late) = h
        .join()
        .map_err(|_| anyhow::anyhow!("floor thread panicked"))?;
    Ok(Row {
        name: name.into(),
        wall,
        readings,
        cpu,
        late,
    })
}

fn run(name: &str, scenario: &Scenario, secs: f64) -> Result<Row> {
    match scenario {
        Scenario::Grouped(interval) => grouped(name, *interval, secs),
        Scenario::Watched(text, want) => watched(name, text, *want, secs),
        Scenario::Floor(interval, calls) => {
            let calls = match calls {
                Some((source, pids)) => pids
                    .iter()
                    .map(|p| Call::open(*source, *p))
                    .collect::<Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            floor(name, *interval, calls, secs)
        }
    }
}

/// CPU microseconds per call of each source the watcher reads, on one of the watched processes.
fn per_source(pid: u32) -> Result<Vec<(String, f64)>> {
    use std::os::unix::fs::FileExt;
    const CALLS: u32 = 20_000;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    for file in ["schedstat", "io", "status", "stat"] {
        let f = std::fs::File::open(format!("/proc/{pid}/{file}"))?;
        let cpu0 = thread_cpu_seconds().context("thread clock")?;
        for _ in 0..CALLS {
            f.read_at(&mut buf, 0)?;
        }
        let cpu = thread_cpu_seconds().context("thread clock")? - cpu0;
        out.push((
            format!("pread /proc/<pid>/{file}"),
            1e6 * cpu / f64::from(CALLS),
        ));
    }
    let mut id: libc::clockid_t = 0;
    // SAFETY: `id` is a valid out-parameter.
    if unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut id) } == 0 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let cpu0 = thread_cpu_seconds().context("thread clock")?;
        for _ in 0..CALLS {
            // SAFETY: `ts` is a valid, writable timespec.
            unsafe { libc::clock_gettime(id, &mut ts) };
        }
        let cpu = thread_cpu_seconds().context("thread clock")? - cpu0;
        out.push((
            "clock_gettime(process CPU clock)".into(),
            1e6 * cpu / f64::from(CALLS),
        ));
    }
    Ok(out)
}

fn main() -> Result<()> {
    let (mut secs, mut n, mut rounds) = (10.0f64, 5usize, 5usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => secs = args.next().context("--seconds N")?.parse()?,
            "--processes" => n = args.next().context("--processes N")?.parse()?,
            "--rounds" => rounds = args.next().context("--rounds N")?.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    if n == 0 || rounds == 0 || !secs.is_finite() || secs <= 0.0 {
        bail!("--processes and --rounds must be at least 1 and --seconds positive");
    }
    let mut kids = Kids(Vec::new());
    for _ in 0..n {
        kids.0.push(
            Command::new("sleep")
                .arg(SLEEP_ARG)
                .env(TARGET_ENV, "target")
                .stdout(Stdio::null())
                .spawn()
                .context("spawning sleep")?,
        );
    }
    let pids: Vec<String> = kids
        .0
        .iter()
        .map(|c| format!("{{ pid = {} }}", c.id()))
        .collect();
    let by_pid = format!("processes = [{}]", pids.join(", "));
    let by_cmdline = format!(
        "max_processes = {n}\nprocesses = [{{ cmdline = \"^sleep {}$\" }}]",
        SLEEP_ARG.replace('.', "\\\\.")
    );
    let procs = std::fs::read_dir("/proc")?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        })
        .count();
    println!(
        "machine: {} CPUs, {procs} processes; {n} watched `sleep` processes; {secs} s per row in {rounds} rounds",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let ms = Duration::from_millis;
    let watched_at = |text: String, want: usize| Scenario::Watched(text, want);
    let mut scenarios: Vec<(String, Scenario)> = vec![
        (
            format!("baseline: grouped agent, {n} procs @ 10 ms (current floor)"),
            Scenario::Grouped(ms(10)),
        ),
        (
            format!("watch, {n} pids @ 10 ms"),
            watched_at(format!("interval = \"10ms\"\n{by_pid}"), n),
        ),
        (
            format!("watch, {n} pids @ 1 ms"),
            watched_at(format!("interval = \"1ms\"\n{by_pid}"), n),
        ),
        (
            "watch, 1 pid @ 1 ms".into(),
            watched_at(format!("interval = \"1ms\"\nprocesses = [{}]", pids[0]), 1),
        ),
        (
            format!("watch, {n} pids @ 1 ms, io every 10 ms"),
            watched_at(
                format!("interval = \"1ms\"\nio_interval = \"10ms\"\n{by_pid}"),
                n,
            ),
        ),
        (
            format!("watch, {n} pids @ 1 ms + status (ctx split)"),
            watched_at(format!("interval = \"1ms\"\nstatus = true\n{by_pid}"), n),
        ),
        (
            format!("watch, {n} by cmdline @ 1 ms (rescan 1 s)"),
            watched_at(format!("interval = \"1ms\"\n{by_cmdline}"), n),
        ),
        (
            "floor: the watch loop @ 1 ms reading nothing".into(),
            Scenario::Floor(ms(1), None),
        ),
    ];
    let floor_row = scenarios.len() - 1;
    let pid_list: Vec<u32> = kids.0.iter().map(|c| c.id()).collect();
    let sources = [Source::Schedstat, Source::Io, Source::CpuClock];
    for source in sources {
        scenarios.push((
            format!("floor + {n} x {}", source.name()),
            Scenario::Floor(ms(1), Some((source, pid_list.clone()))),
        ));
    }
    let mut rows: Vec<Row> = scenarios
        .iter()
        .map(|(name, _)| Row {
            name: name.clone(),
            ..Row::default()
        })
        .collect();
    for _ in 0..rounds {
        for ((name, scenario), row) in scenarios.iter().zip(rows.iter_mut()) {
            row.add(run(name, scenario, secs / rounds as f64)?);
        }
    }
    let base = rows[0].cpu / rows[0].wall;
    let floor = rows[floor_row].cpu / rows[floor_row].readings.max(1) as f64;
    println!();
    println!(
        "{:<58} {:>6} {:>9} {:>11} {:>10} {:>10} {:>9} {:>6}",
        "scenario",
        "wall s",
        "readings",
        "µs/reading",
        "over floor",
        "% of core",
        "vs base",
        "late"
    );
    for r in &rows {
        let pct = 100.0 * r.cpu / r.wall;
        let per = r.cpu / r.readings.max(1) as f64;
        println!(
            "{:<58} {:>6.1} {:>9} {:>11.1} {:>10.1} {:>10.3} {:>8.2}x {:>6}",
            r.name,
            r.wall,
            r.readings,
            1e6 * per,
            1e6 * (per - floor),
            pct,
            (r.cpu / r.wall) / base.max(1e-12),
            r.late
        );
    }
    println!();
    println!(
        "{:<58} {:>11} {:>15}",
        "source (one process)", "µs/call", "µs/call @ 1 ms"
    );
    let back_to_back = per_source(kids.0[0].id())?;
    for (i, source) in sources.iter().enumerate() {
        let r = &rows[floor_row + 1 + i];
        let per = r.cpu / r.readings.max(1) as f64;
        let cold = 1e6 * (per - floor) / n as f64;
        let warm = back_to_back
            .iter()
            .find(|(name, _)| name == source.name())
            .map_or(f64::NAN, |(_, us)| *us);
        println!("{:<58} {warm:>11.2} {cold:>15.2}", source.name());
    }
    for (name, us) in &back_to_back {
        if !sources.iter().any(|s| s.name() == name) {
            println!("{name:<58} {us:>11.2} {:>15}", "-");
        }
    }
    println!(
        "(µs/call: back to back; @ 1 ms: one call per process after each 1 ms wake-up, less the floor)"
    );
    let one_ms = 100.0 * rows[2].cpu / rows[2].wall;
    let floor_pct = 100.0 * rows[floor_row].cpu / rows[floor_row].wall.max(1e-12);
    println!();
    println!(
        "goal: the 1 ms watcher on {n} processes uses <= 2% of a core: {one_ms:.3}% -> {}",
        if one_ms <= 2.0 { "met" } else { "NOT met" }
    );
    println!(
        "      of which waking every 1 ms with nothing read (the floor) is {floor_pct:.3}% and the readings {:.3}%",
        one_ms - floor_pct
    );
    Ok(())
}

//! Overhead of millisecond sampling: the `[agent.watch]` watcher on 5 processes at 1 ms and 10 ms
//! against the grouped agent at its 10 ms floor on the same 5 processes, in one run.
//!
//! Every row is the CPU of the sampling thread over the whole run, its sleeps and wake-ups
//! included (CLOCK_THREAD_CPUTIME_ID), divided by the wall time: "% of a core".
//!
//! `cargo run --release -p prescale-agent --example watch_overhead -- [--seconds 10] [--processes 5]`

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

struct Row {
    name: String,
    wall: f64,
    readings: u64,
    cpu: f64,
    late: u64,
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

/// A thread that only wakes every `interval` (the floor any 1 ms sampler pays).
fn wakeups(interval: Duration, secs: f64) -> Result<Row> {
    let h = std::thread::spawn(move || {
        let cpu0 = thread_cpu_seconds().unwrap_or(0.0);
        let start = Instant::now();
        let (mut next, mut n) = (start, 0u64);
        while start.elapsed().as_secs_f64() < secs {
            n += 1;
            next += interval;
            if let Some(d) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
        (
            thread_cpu_seconds().unwrap_or(0.0) - cpu0,
            n,
            start.elapsed().as_secs_f64(),
        )
    });
    let (cpu, n, wall) = h
        .join()
        .map_err(|_| anyhow::anyhow!("wake-up thread panicked"))?;
    Ok(Row {
        name: format!("wake-ups only @ {} ms (no reading)", interval.as_millis()),
        wall,
        readings: n,
        cpu,
        late: 0,
    })
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
    let (mut secs, mut n) = (10.0, 5usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => secs = args.next().context("--seconds N")?.parse()?,
            "--processes" => n = args.next().context("--processes N")?.parse()?,
            other => bail!("unknown argument {other}"),
        }
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
        "machine: {} CPUs, {procs} processes; {n} watched `sleep` processes; {secs} s per row",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let ms = Duration::from_millis;
    let rows = vec![
        grouped(
            &format!("baseline: grouped agent, {n} procs @ 10 ms (current floor)"),
            ms(10),
            secs,
        )?,
        watched(
            &format!("watch, {n} pids @ 10 ms"),
            &format!("interval = \"10ms\"\n{by_pid}"),
            n,
            secs,
        )?,
        watched(
            &format!("watch, {n} pids @ 1 ms"),
            &format!("interval = \"1ms\"\n{by_pid}"),
            n,
            secs,
        )?,
        watched(
            "watch, 1 pid @ 1 ms",
            &format!("interval = \"1ms\"\nprocesses = [{}]", pids[0]),
            1,
            secs,
        )?,
        watched(
            &format!("watch, {n} pids @ 1 ms + status (ctx split)"),
            &format!("interval = \"1ms\"\nstatus = true\n{by_pid}"),
            n,
            secs,
        )?,
        watched(
            &format!("watch, {n} by cmdline @ 1 ms (rescan 1 s)"),
            &format!("interval = \"1ms\"\n{by_cmdline}"),
            n,
            secs,
        )?,
        wakeups(ms(1), secs)?,
    ];
    let base = rows[0].cpu / rows[0].wall;
    println!();
    println!(
        "{:<58} {:>6} {:>9} {:>11} {:>10} {:>9} {:>6}",
        "scenario", "wall s", "readings", "µs/reading", "% of core", "vs base", "late"
    );
    for r in &rows {
        let pct = 100.0 * r.cpu / r.wall;
        println!(
            "{:<58} {:>6.1} {:>9} {:>11.1} {:>10.3} {:>8.2}x {:>6}",
            r.name,
            r.wall,
            r.readings,
            1e6 * r.cpu / r.readings.max(1) as f64,
            pct,
            (r.cpu / r.wall) / base.max(1e-12),
            r.late
        );
    }
    println!();
    println!("{:<58} {:>11}", "source (one process)", "µs/call");
    for (name, us) in per_source(kids.0[0].id())? {
        println!("{name:<58} {us:>11.2}");
    }
    let one_ms = 100.0 * rows[2].cpu / rows[2].wall;
    println!();
    println!(
        "goal: the 1 ms watcher on {n} processes uses <= 2% of a core: {one_ms:.3}% -> {}",
        if one_ms <= 2.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

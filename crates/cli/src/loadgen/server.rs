//! `prescale demo-load`: offers work following the pattern (its time origin a given Unix time,
//! the epoch by default), hands units to the workers that connect, and serves its counters as
//! Prometheus text on `/metrics`.

use super::queue::Queue;
use super::{IDLE, NEXT, WORK};
use anyhow::{Context, Result};
use prescale_telemetry::cycle::CyclePattern;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How the generator runs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub pattern: CyclePattern,
    /// CPU spent and time waited per unit (the worker's service time is their sum).
    pub cpu: Duration,
    pub wait: Duration,
    /// Where workers connect and where `/metrics` is served (port 0: any free port).
    pub work_listen: SocketAddr,
    pub metrics_listen: SocketAddr,
    /// Units queued beyond this are dropped (and counted).
    pub max_queue: usize,
    /// The `service` label on every metric: the workload the demand belongs to.
    pub service: String,
    /// Exit when standard input closes (the demo holds it open; when the demo dies, so do we).
    pub exit_on_stdin_eof: bool,
    /// The pattern's time origin in Unix seconds: the pattern's time is `unix_seconds() - origin_s`.
    pub origin_s: f64,
}

/// Binds, prints `ready work=ADDR metrics=ADDR start_ms=MS` on stdout, then serves until killed.
pub fn serve(opts: LoadOptions) -> Result<()> {
    opts.pattern
        .validate()
        .map_err(|e| anyhow::anyhow!("demo-load pattern: {e}"))?;
    let work = TcpListener::bind(opts.work_listen)
        .with_context(|| format!("binding the work port {}", opts.work_listen))?;
    let metrics = TcpListener::bind(opts.metrics_listen)
        .with_context(|| format!("binding the metrics port {}", opts.metrics_listen))?;
    let queue = Arc::new(Queue::new(opts.max_queue));
    let start_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    println!(
        "ready work={} metrics={} start_ms={start_ms}",
        work.local_addr()?,
        metrics.local_addr()?
    );
    std::io::stdout().flush()?;

    if opts.exit_on_stdin_eof {
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            std::process::exit(0);
        });
    }
    {
        let (queue, pattern, origin) = (queue.clone(), opts.pattern.clone(), opts.origin_s);
        std::thread::spawn(move || generate(&queue, &pattern, origin));
    }
    {
        let (queue, cpu, wait) = (queue.clone(), opts.cpu, opts.wait);
        std::thread::spawn(move || {
            for conn in work.incoming().flatten() {
                let queue = queue.clone();
                std::thread::spawn(move || serve_worker(conn, &queue, cpu, wait));
            }
        });
    }
    for conn in metrics.incoming().flatten() {
        let body = exposition(&queue, &opts);
        if let Err(e) = answer(conn, &body) {
            eprintln!("demo-load: /metrics: {e}");
        }
    }
    Ok(())
}

/// Seconds since the Unix epoch; less the run's origin it is the pattern's time, so every reader
/// that knows the pattern and the origin agrees on where in the cycle a moment falls.
pub fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Offers units every 50 ms at the pattern's rate (fractions carry over).
fn generate(queue: &Queue, pattern: &CyclePattern, origin_s: f64) {
    let tick = Duration::from_millis(50);
    let mut carry = 0.0;
    let mut last = Instant::now();
    loop {
        std::thread::sleep(tick);
        let now = Instant::now();
        let dt = now.duration_since(last).as_secs_f64();
        last = now;
        let rate = pattern.demand(unix_seconds() - origin_s);
        carry += rate * dt;
        let n = carry.floor();
        carry -= n;
        queue.offer(n as u64, now, rate);
    }
}

/// One worker connection: `next` → `work <cpu_us> <wait_us>` or `idle`.
fn serve_worker(conn: TcpStream, queue: &Queue, cpu: Duration, wait: Duration) {
    let _ = conn.set_nodelay(true);
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    queue.worker_joined();
    let mut held: Option<Instant> = None;
    let mut line = String::new();
    let mut reader = BufReader::new(conn);
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.trim() != NEXT {
            break;
        }
        if let Some(a) = held.take() {
            queue.done(a);
        }
        let reply = match queue.take(Duration::from_millis(500)) {
            Some(a) => {
                held = Some(a);
                format!("{WORK} {} {}\n", cpu.as_micros(), wait.as_micros())
            }
            None => format!("{IDLE}\n"),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            break;
        }
    }
    if let Some(a) = held {
        queue.give_back(a);
    }
    queue.worker_left();
}

/// The counters as Prometheus text 0.0.4.
fn exposition(queue: &Queue, opts: &LoadOptions) -> String {
    let t = unix_seconds() - opts.origin_s;
    let s = queue.lock();
    let l = format!("{{service=\"{}\"}}", opts.service);
    let p = &opts.pattern;
    let rows: [(&str, &str, &str, f64); 10] = [
        (
            "demo_requests_total",
            "counter",
            "Units of work offered.",
            s.offered as f64,
        ),
        (
            "demo_served_total",
            "counter",
            "Units completed by a worker.",
            s.served as f64,
        ),
        (
            "demo_dropped_total",
            "counter",
            "Units dropped because the queue was full.",
            s.dropped as f64,
        ),
        (
            "demo_latency_seconds_total",
            "counter",
            "Sum of completed units' time from arrival to completion.",
            s.latency_sum_s,
        ),
        (
            "demo_queue_depth",
            "gauge",
            "Units waiting for a worker.",
            s.queue.len() as f64,
        ),
        (
            "demo_workers",
            "gauge",
            "Workers connected.",
            s.workers as f64,
        ),
        (
            "demo_busy_workers",
            "gauge",
            "Workers holding a unit.",
            s.busy as f64,
        ),
        (
            "demo_offered_rate",
            "gauge",
            "The pattern's rate now (units/s).",
            s.rate,
        ),
        (
            "demo_expected_rate",
            "gauge",
            "The pattern's rate without bursts and noise (units/s).",
            p.expected(t),
        ),
        (
            "demo_in_step",
            "gauge",
            "1 while the repeating step is on.",
            if p.in_step(t) { 1.0 } else { 0.0 },
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, v) in rows {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{l} {v}\n"
        ));
    }
    out
}

/// Reads the request head (bounded) and answers with the body.
fn answer(mut conn: TcpStream, body: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let ok = head.starts_with(b"GET /metrics");
    let (status, body) = if ok {
        ("200 OK", body)
    } else {
        ("404 Not Found", "only /metrics is served\n")
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

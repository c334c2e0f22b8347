//! The load of `bench/soak.sh`: against one running `prescale run` (its HTTP base URL and pid), for
//! `--secs` seconds, remote-write of `--series` series (`--workloads` workloads × series each,
//! `job=soak-wN`, one metric per series; every series gets a sample every `--series-every`
//! seconds, in one request per second), reads of the API from `--readers` threads (the workload
//! listing with every series, decision listings, forecasts, models, anomalies, `/metrics`,
//! `/healthz`), and, every `--sample-every` seconds, the daemon's RSS (`/proc/PID/status`) and
//! open descriptors (`/proc/PID/fd`). Prints a table: requests, errors, p50/p99/max latency per
//! endpoint; RSS over time with the least-squares slope and the growth after warm-up; fds at the
//! start and end; and whether the goals of issue 12 were met.
//!
//! `cargo run --release -p prescale-daemon --example soak_load -- --url http://127.0.0.1:9464
//!  --pid PID [--secs 600] [--series 10000] [--workloads 100] [--controlled 10] [--readers 2]
//!  [--read-pause-ms 50] [--series-every 5] [--sample-every 5] [--warmup SECS]`
//!
//! The first `--controlled` workloads are expected to be `[[workload]]`s of the daemon on metric
//! `demand` (bench/soak.sh writes that config); their demand gets an hour of history first.

use prescale_ingest::remote_write::{encode, from_points};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Opts {
    url: String,
    pid: u32,
    secs: u64,
    series: usize,
    workloads: usize,
    controlled: usize,
    readers: usize,
    read_pause: Duration,
    series_every: u64,
    sample_every: u64,
    warmup: Option<u64>,
}

fn opts() -> Result<Opts, String> {
    let mut o = Opts {
        url: String::new(),
        pid: 0,
        secs: 600,
        series: 10_000,
        workloads: 100,
        controlled: 10,
        readers: 2,
        read_pause: Duration::from_millis(50),
        series_every: 5,
        sample_every: 5,
        warmup: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args
            .get(i + 1)
            .cloned()
            .ok_or(format!("{} needs a value", args[i]))?;
        let num = || v.parse::<u64>().map_err(|e| format!("{}: {e}", args[i]));
        match args[i].as_str() {
            "--url" => o.url = v.trim_end_matches('/').to_string(),
            "--pid" => o.pid = num()? as u32,
            "--secs" => o.secs = num()?.max(10),
            "--series" => o.series = num()? as usize,
            "--workloads" => o.workloads = (num()? as usize).max(1),
            "--controlled" => o.controlled = num()? as usize,
            "--readers" => o.readers = num()? as usize,
            "--read-pause-ms" => o.read_pause = Duration::from_millis(num()?),
            "--series-every" => o.series_every = num()?.max(1),
            "--sample-every" => o.sample_every = num()?.max(1),
            "--warmup" => o.warmup = Some(num()?),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    if o.url.is_empty() || o.pid == 0 {
        return Err("usage: soak_load --url http://HOST:PORT --pid PID [options]".into());
    }
    o.controlled = o.controlled.min(o.workloads);
    Ok(o)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Demand of controlled workload `w` at `ts`: a two-minute cycle with a step, plus a little noise.
fn demand(w: usize, ts: i64) -> f64 {
    let phase = (ts.rem_euclid(120_000)) as f64 / 120_000.0;
    let base = 40.0 + 10.0 * w as f64;
    let wave = 20.0 * (phase * std::f64::consts::TAU).sin();
    let step = if phase > 0.7 { 30.0 } else { 0.0 };
    let noise = ((ts / 1000).wrapping_mul(2_654_435_761) % 7) as f64 * 0.3;
    base + wave + step + noise
}

/// Series `s` of the fleet: its workload and metric name (`demand` is each workload's series 0).
fn series_name(o: &Opts, s: usize) -> (String, String) {
    let per = o.series.div_ceil(o.workloads);
    let (w, k) = (s / per, s % per);
    let metric = if k == 0 {
        "demand".to_string()
    } else {
        format!("soak_metric_{k}")
    };
    (format!("soak-w{w}"), metric)
}

/// Latencies (ms) and error count of one endpoint.
#[derive(Default)]
struct Stat {
    ms: Vec<f64>,
    errors: u64,
    first_error: Option<String>,
}

type Stats = Arc<Mutex<BTreeMap<String, Stat>>>;

fn record(stats: &Stats, name: &str, ms: f64, error: Option<String>) {
    let mut m = stats.lock().unwrap_or_else(|p| p.into_inner());
    let s = m.entry(name.to_string()).or_default();
    s.ms.push(ms);
    if let Some(e) = error {
        s.errors += 1;
        s.first_error.get_or_insert(e);
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// POSTs one remote-write body; `Err` with the reason unless 204.
fn post_write(http: &ureq::Agent, url: &str, body: &[u8]) -> Result<(), String> {
    let mut r = http
        .post(url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    if status == 204 {
        Ok(())
    } else {
        Err(format!("HTTP {status}: {}", text.trim()))
    }
}

/// GETs `path`; `Err` unless the status is `want`. The body is read in full (it is part of the
/// latency a client sees).
fn get(http: &ureq::Agent, base: &str, path: &str, want: u16) -> Result<usize, String> {
    let mut r = http
        .get(&format!("{base}{path}"))
        .call()
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    if status == want {
        Ok(body.len())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
        ))
    }
}

/// An hour of demand history for the controlled workloads and one sample of every series, so the
/// soak starts on a store that already holds the whole fleet.
fn seed(o: &Opts, http: &ureq::Agent) -> Result<(), String> {
    let url = format!("{}/api/v1/write", o.url);
    let now = now_ms();
    for w in 0..o.controlled {
        let pts: Vec<_> = (0..1800)
            .map(|i| {
                let ts = now - 3_600_000 + i * 2000;
                ("demand", [("job", format!("soak-w{w}"))], ts, demand(w, ts))
            })
            .collect();
        post_write(http, &url, &encode(&from_points(pts)))?;
    }
    for chunk in (0..o.series).collect::<Vec<_>>().chunks(2000) {
        let pts: Vec<_> = chunk
            .iter()
            .map(|&s| {
                let (job, metric) = series_name(o, s);
                (metric, [("job", job)], now - 1000, (s % 100) as f64)
            })
            .collect();
        post_write(http, &url, &encode(&from_points(pts)))?;
    }
    Ok(())
}

/// A sample to send: metric, the `job` label, timestamp, value.
type Point = (String, [(&'static str, String); 1], i64, f64);

/// One request per second: the next slice of the fleet (every series once per `series_every`
/// seconds) plus the controlled workloads' demand.
fn writer(o: &Opts, stats: Stats, stop: Arc<AtomicBool>) {
    let http = agent();
    let url = format!("{}/api/v1/write", o.url);
    let per_request = o.series.div_ceil(o.series_every as usize);
    let per = o.series.div_ceil(o.workloads);
    let mut next = 0usize;
    let start = Instant::now();
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let ts = now_ms();
        let mut pts: Vec<Point> = (0..per_request)
            .map(|i| (next + i) % o.series)
            // Demand series are written every request below.
            .filter(|s| s % per != 0 || s / per >= o.controlled)
            .map(|s| {
                let (job, metric) = series_name(o, s);
                let v = ((s as i64 * 31 + ts / 1000) % 1000) as f64 / 10.0;
                (metric, [("job", job)], ts, v)
            })
            .collect();
        next = (next + per_request) % o.series;
        for w in 0..o.controlled {
            pts.push((
                "demand".into(),
                [("job", format!("soak-w{w}"))],
                ts,
                demand(w, ts),
            ));
        }
        let body = encode(&from_points(pts));
        let t = Instant::now();
        let r = post_write(&http, &url, &body);
        record(
            &stats,
            "POST /api/v1/write",
            t.elapsed().as_secs_f64() * 1e3,
            r.err(),
        );
        tick += 1;
        let due = start + Duration::from_secs(tick);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// The read mix: (label, path, expected status). `{c}` is a controlled workload, `{o}` another.
const READS: &[(&str, &str, u16)] = &[
    ("GET /api/v1/workloads", "/api/v1/workloads", 200),
    ("GET /api/v1/decisions", "/api/v1/decisions?limit=100", 200),
    (
        "GET /api/v1/decisions?workload",
        "/api/v1/decisions?workload={c}&limit=50",
        200,
    ),
    (
        "GET /workloads/{controlled}/forecast",
        "/api/v1/workloads/{c}/forecast",
        200,
    ),
    // Not controlled and no stored forecast: a 404 with its reason, after a look in the store.
    (
        "GET /workloads/{other}/forecast",
        "/api/v1/workloads/{o}/forecast",
        404,
    ),
    ("GET /api/v1/models", "/api/v1/models", 200),
    ("GET /api/v1/anomalies", "/api/v1/anomalies?limit=100", 200),
    ("GET /metrics", "/metrics", 200),
    ("GET /healthz", "/healthz", 200),
];

fn reader(o: &Opts, me: usize, stats: Stats, stop: Arc<AtomicBool>) {
    let http = agent();
    let mut i = me;
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ me as u64;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    while !stop.load(Ordering::Relaxed) {
        let (label, path, want) = READS[i % READS.len()];
        i += 1;
        let c = format!("soak-w{}", rand(o.controlled));
        let other = o.controlled + rand(o.workloads - o.controlled);
        let path = path
            .replace("{c}", &c)
            .replace("{o}", &format!("soak-w{other}"));
        let t = Instant::now();
        let r = get(&http, &o.url, &path, want);
        record(&stats, label, t.elapsed().as_secs_f64() * 1e3, r.err());
        std::thread::sleep(o.read_pause);
    }
}

/// One sample of the daemon's process: seconds since the soak began, RSS (KiB), open fds.
#[derive(Clone, Copy)]
struct ProcSample {
    t: f64,
    rss_kib: u64,
    fds: usize,
}

fn proc_sample(pid: u32, t: f64) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some(ProcSample { t, rss_kib, fds })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Least-squares slope of y over x.
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return 0.0;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx
    }
}

fn main() -> Result<(), String> {
    let o = Arc::new(opts()?);
    let http = agent();
    let t = Instant::now();
    seed(&o, &http)?;
    eprintln!(
        "seeded {} series ({} workloads, {} controlled with an hour of demand) in {:.1} s",
        o.series,
        o.workloads,
        o.controlled,
        t.elapsed().as_secs_f64()
    );
    // Warm-up not measured: every controlled workload has published its first forecast (its
    // demand keeps being written meanwhile).
    let t = Instant::now();
    let url = format!("{}/api/v1/write", o.url);
    for w in 0..o.controlled {
        while get(
            &http,
            &o.url,
            &format!("/api/v1/workloads/soak-w{w}/forecast"),
            200,
        )
        .is_err()
        {
            if t.elapsed() > Duration::from_secs(300) {
                return Err(format!("soak-w{w} published no forecast in 300 s"));
            }
            let ts = now_ms();
            let pts: Vec<_> = (0..o.controlled)
                .map(|w| ("demand", [("job", format!("soak-w{w}"))], ts, demand(w, ts)))
                .collect();
            post_write(&http, &url, &encode(&from_points(pts)))?;
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    eprintln!(
        "every controlled workload has a forecast after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let stats: Stats = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut threads = Vec::new();
    {
        let (o, stats, stop) = (o.clone(), stats.clone(), stop.clone());
        threads.push(std::thread::spawn(move || writer(&o, stats, stop)));
    }
    for me in 0..o.readers {
        let (o, stats, stop) = (o.clone(), stats.clone(), stop.clone());
        threads.push(std::thread::spawn(move || reader(&o, me, stats, stop)));
    }
    let mut samples: Vec<ProcSample> = Vec::new();
    let mut k = 0u64;
    loop {
        let t = start.elapsed().as_secs_f64();
        match proc_sample(o.pid, t) {
            Some(s) => samples.push(s),
            None => {
                stop.store(true, Ordering::Relaxed);
                return Err(format!("daemon pid {} is gone after {t:.0} s", o.pid));
            }
        }
        if k.is_multiple_of(12) {
            let s = samples.last().copied().unwrap_or(ProcSample {
                t,
                rss_kib: 0,
                fds: 0,
            });
            eprintln!(
                "t={:>5.0}s rss={:.1} MiB fds={}",
                s.t,
                s.rss_kib as f64 / 1024.0,
                s.fds
            );
        }
        if t >= o.secs as f64 {
            break;
        }
        k += 1;
        let due = start + Duration::from_secs(k * o.sample_every);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    report(&o, &stats, &samples);
    Ok(())
}

fn report(o: &Opts, stats: &Stats, samples: &[ProcSample]) {
    let stats = stats.lock().unwrap_or_else(|p| p.into_inner());
    println!(
        "\nsoak: {} s, {} series ({} workloads, {} controlled), {} reader threads",
        o.secs, o.series, o.workloads, o.controlled, o.readers
    );
    println!(
        "\n{:<38} {:>8} {:>7} {:>9} {:>9} {:>9}",
        "endpoint", "requests", "errors", "p50 ms", "p99 ms", "max ms"
    );
    let mut total_errors = 0;
    let mut worst_read_p99: (f64, &str) = (0.0, "");
    for (name, s) in stats.iter() {
        let mut ms = s.ms.clone();
        ms.sort_by(f64::total_cmp);
        let p99 = percentile(&ms, 99.0);
        println!(
            "{:<38} {:>8} {:>7} {:>9.1} {:>9.1} {:>9.1}",
            name,
            ms.len(),
            s.errors,
            percentile(&ms, 50.0),
            p99,
            ms.last().copied().unwrap_or(f64::NAN)
        );
        total_errors += s.errors;
        if name.starts_with("GET ") && p99 > worst_read_p99.0 {
            worst_read_p99 = (p99, name.as_str());
        }
    }
    for (name, s) in stats.iter() {
        if let Some(e) = &s.first_error {
            println!("  first error of {name}: {e}");
        }
    }
    if samples.is_empty() {
        return;
    }
    let warmup = o.warmup.unwrap_or((o.secs / 5).clamp(60, 300)) as f64;
    let after: Vec<ProcSample> = samples.iter().copied().filter(|s| s.t >= warmup).collect();
    let mib = |k: u64| k as f64 / 1024.0;
    println!("\nRSS and open fds, every {} s:", o.sample_every);
    let every = (60 / o.sample_every).max(1) as usize;
    let mut line = String::new();
    for (i, s) in samples.iter().enumerate() {
        if i % every == 0 || i + 1 == samples.len() {
            line.push_str(&format!(
                "  t={:.0}s {:.1} MiB {} fds;",
                s.t,
                mib(s.rss_kib),
                s.fds
            ));
        }
    }
    println!("{}", line.trim_end_matches(';'));
    let first = samples[0];
    let last = samples[samples.len() - 1];
    let peak = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let (growth, slope_mib_min, at) = match (after.first(), after.last()) {
        (Some(a), Some(b)) if after.len() >= 2 => {
            let xs: Vec<f64> = after.iter().map(|s| s.t / 60.0).collect();
            let ys: Vec<f64> = after.iter().map(|s| mib(s.rss_kib)).collect();
            let sl = slope(&xs, &ys);
            // Growth over the post-warm-up span by the fitted line (robust to one noisy sample),
            // and by the last sample against the first.
            let fitted = sl * (b.t - a.t) / 60.0 / mib(a.rss_kib) * 100.0;
            let raw = (mib(b.rss_kib) - mib(a.rss_kib)) / mib(a.rss_kib) * 100.0;
            ((fitted, raw), sl, a)
        }
        _ => ((0.0, 0.0), 0.0, &last),
    };
    println!(
        "RSS: start {:.1} MiB, after warm-up (t={:.0}s) {:.1} MiB, end {:.1} MiB, peak {:.1} MiB",
        mib(first.rss_kib),
        at.t,
        mib(at.rss_kib),
        mib(last.rss_kib),
        mib(peak)
    );
    println!(
        "RSS after warm-up: slope {:+.3} MiB/min (least squares over {} samples), growth {:+.1} % by the fit, {:+.1} % last vs first",
        slope_mib_min,
        after.len(),
        growth.0,
        growth.1
    );
    println!(
        "open fds: start {}, end {}, max {}",
        first.fds,
        last.fds,
        samples.iter().map(|s| s.fds).max().unwrap_or(0)
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\ngoals (issue 12):");
    println!(
        "  zero errors: {} ({total_errors})",
        verdict(total_errors == 0)
    );
    println!(
        "  read p99 < 50 ms at {} series: {} (worst {:.1} ms, {})",
        o.series,
        verdict(worst_read_p99.0 < 50.0),
        worst_read_p99.0,
        worst_read_p99.1
    );
    println!(
        "  RSS growth < 10 % after warm-up: {} ({:+.1} % by the fit)",
        verdict(growth.0 < 10.0 && growth.1 < 10.0),
        growth.0
    );
}

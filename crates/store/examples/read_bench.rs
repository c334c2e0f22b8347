//! Read figures at fleet scale: listing S series (`workload_summaries`, `list_series`,
//! `series_spans`: what `GET /api/v1/workloads` and `/metrics` read) and a 1-day window of one series
//! (`load_window`), p50/p99 over repeated calls, on a file built here: S series × N samples
//! appended scrape-shaped (one sample of every series per batch, 15 s apart), plus one series with
//! two days of 15-s samples for the window read. Also the file's bytes per sample and the memory the
//! writing handle holds.
//!
//! `cargo run --release -p prescale-store --example read_bench [-- SERIES SAMPLES [FILE]]`
//! (default 10,000 × 500; the file is built in a temporary folder and removed, or at FILE, which
//! must not exist yet, and kept, e.g. to time `GET /api/v1/workloads` of a daemon serving it).

use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};
use prescale_store::Store;
use std::time::Instant;

type Error = Box<dyn std::error::Error>;

const INTERVAL_MS: i64 = 15_000;
const DAY_MS: i64 = 86_400_000;

fn key(w: usize, m: &str) -> Result<SeriesKey, Error> {
    Ok(SeriesKey::new(
        WorkloadId::new(format!("w{w}"))?,
        MetricName::new(m)?,
    ))
}

/// p50 and p99 in milliseconds of `runs` calls of `f`.
fn timed(
    runs: usize,
    mut f: impl FnMut() -> Result<usize, Error>,
) -> Result<(f64, f64, usize), Error> {
    let mut ms = Vec::with_capacity(runs);
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = f()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.5), at(0.99), n))
}

/// Resident memory of this process in bytes (Linux), if readable.
fn rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() -> Result<(), Error> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let keep = raw.get(2).map(std::path::PathBuf::from);
    let args: Vec<usize> = raw
        .iter()
        .take(2)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let series = args.first().copied().unwrap_or(10_000);
    let samples = args.get(1).copied().unwrap_or(500);
    let dir = tempfile::tempdir()?;
    let db = match keep {
        Some(path) if path.exists() => return Err(format!("{} exists", path.display()).into()),
        Some(path) => path,
        None => dir.path().join("read.db"),
    };
    let mut store = Store::open(&db)?;
    let metrics = ["cpu_cores", "memory_bytes", "requests"];
    let keys: Vec<SeriesKey> = (0..series)
        .map(|i| key(i / metrics.len(), metrics[i % metrics.len()]))
        .collect::<Result<_, _>>()?;
    let labels = Labels::new();
    let rss0 = rss();
    let t0 = 1_700_000_000_000i64;
    let start = Instant::now();
    let mut batch = Vec::with_capacity(series);
    for t in 0..samples as i64 {
        batch.clear();
        for (i, k) in keys.iter().enumerate() {
            batch.push(Point {
                key: k.clone(),
                labels: labels.clone(),
                sample: Sample {
                    ts: Timestamp(t0 + t * INTERVAL_MS),
                    value: ((t + i as i64) % 97) as f64 * 0.25,
                },
            });
        }
        store.append_points(&batch)?;
    }
    let built = start.elapsed().as_secs_f64();
    let held = rss().zip(rss0).map(|(a, b)| a.saturating_sub(b));
    // The window series: two days at 15 s.
    let probe = key(999_999, "probe")?;
    let two_days = 2 * DAY_MS / INTERVAL_MS;
    let pts: Vec<Point> = (0..two_days)
        .map(|t| Point {
            key: probe.clone(),
            labels: labels.clone(),
            sample: Sample {
                ts: Timestamp(t0 + t * INTERVAL_MS),
                value: (t % 1000) as f64 * 0.5,
            },
        })
        .collect();
    store.append_points(&pts)?;
    store.flush_head()?;
    store.checkpoint()?;
    let total = series * samples + two_days as usize;
    let bytes = std::fs::metadata(&db)?.len();
    println!(
        "{series} series × {samples} samples (+ 1 × {two_days}) = {total} samples appended in {built:.1} s ({:.0}/s); file {bytes} bytes = {:.2} bytes/sample; writer RSS growth {}",
        (series * samples) as f64 / built,
        bytes as f64 / total as f64,
        held.map_or("?".into(), |b| format!("{} bytes = {} per series", b, b / series.max(1) as u64)),
    );
    drop(store);
    // A fresh reader, as the daemon's API handle is.
    let reader = Store::open(&db)?;
    println!("| read | calls | p50 ms | p99 ms | rows |");
    println!("|---|---:|---:|---:|---:|");
    let row = |name: &str, runs: usize, r: (f64, f64, usize)| {
        println!("| {name} | {runs} | {:.3} | {:.3} | {} |", r.0, r.1, r.2);
    };
    row(
        "workload_summaries",
        100,
        timed(100, || {
            Ok(reader
                .workload_summaries()?
                .iter()
                .map(|w| w.series.len())
                .sum())
        })?,
    );
    row(
        "list_series",
        100,
        timed(100, || Ok(reader.list_series()?.len()))?,
    );
    row(
        "series_spans",
        100,
        timed(100, || Ok(reader.series_spans()?.len()))?,
    );
    let end = t0 + (two_days - 1) * INTERVAL_MS;
    row(
        "load_window, last day of one series",
        1000,
        timed(1000, || {
            Ok(reader
                .load_window(&probe, Timestamp(end - DAY_MS), Timestamp(end))?
                .len())
        })?,
    );
    row(
        "load_series_tail 288, one series",
        1000,
        timed(1000, || {
            Ok(reader
                .load_series_tail(&probe, None, 288)?
                .map_or(0, |s| s.len()))
        })?,
    );
    Ok(())
}

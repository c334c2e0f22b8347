//! Live-store figures: `append_points` throughput by batch size and synchronous mode, and the
//! steady-state memory and disk per tracked series under retention.
//!
//! `cargo run --release -p prescale-store --example append_bench` runs both;
//! `... -- throughput` or `... -- memory 10000` runs one (memory: series count, default 10,000).
//! `... -- grouped [full|normal]` replays `bench/ingest.sh`'s remote-write shape straight into the
//! store (no HTTP): 4 clients x 1000 series x 10 samples a request, two requests a commit, through
//! `append_series`, and says how much of the time the flushes into chunks took.

use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};
use prescale_store::{Retention, Store, StoreOptions, Synchronous};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

fn keys(n: usize) -> Result<Vec<(SeriesKey, Labels)>, Error> {
    (0..n)
        .map(|i| {
            let mut labels = Labels::new();
            labels.insert("instance".into(), format!("host-{}:9100", i % 97));
            labels.insert("job".into(), format!("svc-{}", i / 20));
            let key = SeriesKey::new(
                WorkloadId::new(format!("svc-{}", i / 20))?,
                MetricName::new(format!("http_requests:rate{{code=\"{}\"}}", i % 20))?,
            );
            Ok((key, labels))
        })
        .collect()
}

/// Fills `buf` with one tick of every series.
fn tick(buf: &mut Vec<Point>, keys: &[(SeriesKey, Labels)], t: i64, interval_ms: i64) {
    buf.clear();
    buf.extend(keys.iter().enumerate().map(|(i, (k, l))| Point {
        key: k.clone(),
        labels: l.clone(),
        sample: Sample {
            ts: Timestamp(t * interval_ms),
            value: ((t as f64) * 0.1 + i as f64).sin() * 100.0,
        },
    }));
}

fn temp_db(name: &str) -> Result<(PathBuf, PathBuf), Error> {
    let dir = std::env::temp_dir().join(format!("prescale-append-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("live.db");
    Ok((dir, db))
}

fn throughput() -> Result<(), Error> {
    const SERIES: usize = 1000;
    const TOTAL: usize = 300_000;
    let keys = keys(SERIES)?;
    println!(
        "append_points, file-backed WAL, {SERIES} series, {TOTAL} points in time order per run"
    );
    println!("| synchronous | batch | commits | seconds | samples/s |");
    println!("|---|---:|---:|---:|---:|");
    for sync in [Synchronous::Full, Synchronous::Normal] {
        for batch in [100usize, 1_000, 10_000] {
            let (dir, db) = temp_db("tp")?;
            let mut store = Store::open_with(&db, &StoreOptions { synchronous: sync })?;
            let mut all = Vec::with_capacity(TOTAL);
            let mut buf = Vec::new();
            for t in 0..(TOTAL / SERIES) as i64 {
                tick(&mut buf, &keys, t, 15_000);
                all.append(&mut buf);
            }
            let start = Instant::now();
            let mut commits = 0;
            for chunk in all.chunks(batch) {
                store.append_points(chunk)?;
                commits += 1;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "| {sync:?} | {batch} | {commits} | {secs:.2} | {:.0} |",
                TOTAL as f64 / secs
            );
            if batch == 10_000 {
                // Back-fill: the same amount of older history, every sample earlier than the
                // latest stored one of its series, so each is looked up before it is written.
                let mut old = Vec::with_capacity(TOTAL);
                for t in 0..(TOTAL / SERIES) as i64 {
                    tick(&mut buf, &keys, -1 - t, 15_000);
                    old.append(&mut buf);
                }
                let start = Instant::now();
                for chunk in old.chunks(batch) {
                    store.append_points(chunk)?;
                }
                let secs = start.elapsed().as_secs_f64();
                println!(
                    "| {sync:?} | {batch} (older than stored: back-fill) | {} | {secs:.2} | {:.0} |",
                    TOTAL / batch,
                    TOTAL as f64 / secs
                );
            }
            drop(store);
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(())
}

/// Resident set size of this process in bytes (Linux), if readable.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn memory(series: usize) -> Result<(), Error> {
    const INTERVAL_MS: i64 = 15_000;
    const HOURS: i64 = 2;
    let retention = Retention {
        raw_for: Duration::from_secs(600),
        rollup_for: Some(Duration::from_secs(3600)),
        rollup_step: Duration::from_secs(60),
        ..Retention::default()
    };
    let keys = keys(series)?;
    let (dir, db) = temp_db("mem")?;
    let mut store = Store::open(&db)?;
    let mut buf = Vec::with_capacity(series);
    tick(&mut buf, &keys, 0, INTERVAL_MS);
    let base = rss();
    let ticks = HOURS * 3600 * 1000 / INTERVAL_MS;
    let start = Instant::now();
    let mut retention_secs = 0.0;
    for t in 0..ticks {
        tick(&mut buf, &keys, t, INTERVAL_MS);
        store.append_points(&buf)?;
        // Retention every 5 minutes of data time.
        if (t + 1) % 20 == 0 {
            let r = Instant::now();
            store.apply_retention(&retention, Timestamp(t * INTERVAL_MS))?;
            retention_secs += r.elapsed().as_secs_f64();
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let end = rss();
    let t = Instant::now();
    let summaries = store.workload_summaries()?;
    let summary_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut read = 0;
    for (k, _) in keys.iter().take(100) {
        read += store
            .load_window(k, Timestamp(0), Timestamp(ticks * INTERVAL_MS))?
            .len();
    }
    let window_ms = t.elapsed().as_secs_f64() * 1e3 / 100.0;
    let sqlite_heap = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    let cached = store.cached_series();
    drop(store);

    // Sizes by table, from a separate connection (dbstat when the build has it).
    let conn = rusqlite::Connection::open(&db)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let raw_rows: i64 =
        conn.query_row("SELECT COALESCE(SUM(n), 0) FROM chunks", [], |r| r.get(0))?;
    let rollup_rows: i64 = conn.query_row("SELECT COUNT(*) FROM rollups", [], |r| r.get(0))?;
    let by_table: Vec<(String, i64)> = conn
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_default();
    let n = series as f64;
    println!(
        "{series} series, one sample each {} s for {HOURS} h of data time ({} points) in {elapsed:.1} s \
         ({:.0} samples/s including retention; retention {retention_secs:.1} s over {} runs)",
        INTERVAL_MS / 1000,
        ticks as usize * series,
        ticks as f64 * n / elapsed,
        ticks / 20
    );
    println!(
        "retention: raw 10 min, 1-min rollups kept 1 h; rows now: {raw_rows} raw ({:.1}/series), \
         {rollup_rows} rollups ({:.1}/series)",
        raw_rows as f64 / n,
        rollup_rows as f64 / n
    );
    if let (Some(b), Some(e)) = (base, end) {
        let growth = e.saturating_sub(b);
        println!(
            "process RSS: {:.1} MiB -> {:.1} MiB, growth {:.0} B/series (SQLite heap now {:.1} MiB, \
             {cached} series ids cached)",
            b as f64 / 1048576.0,
            e as f64 / 1048576.0,
            growth as f64 / n,
            sqlite_heap as f64 / 1048576.0
        );
    }
    println!(
        "reads: workload_summaries ({} workloads) {summary_ms:.0} ms; load_window of 2 h \
         ({} samples per series: rollups then raw) {window_ms:.2} ms per series",
        summaries.len(),
        read / 100
    );
    let file = file_len(&db);
    println!(
        "file: {:.1} MiB ({pages} pages of {page_size} B, {free} free) = {:.0} B/series; WAL after checkpoint {} B",
        file as f64 / 1048576.0,
        file as f64 / n,
        file_len(&dir.join("live.db-wal"))
    );
    for (name, bytes) in by_table.iter().filter(|(_, b)| *b > 0) {
        let per_row = match name.as_str() {
            "samples" if raw_rows > 0 => format!(", {:.1} B/row", *bytes as f64 / raw_rows as f64),
            "rollups" if rollup_rows > 0 => {
                format!(", {:.1} B/row", *bytes as f64 / rollup_rows as f64)
            }
            _ => String::new(),
        };
        println!(
            "  {name}: {:.2} MiB = {:.0} B/series{per_row}",
            *bytes as f64 / 1048576.0,
            *bytes as f64 / n
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `bench/ingest.sh`'s payloads without HTTP: client `c`'s request `r` holds 10 samples of each of
/// its 1000 series (`s + k + r`, one a second); two requests make one commit, as the daemon's writer
/// gathers them under load.
fn grouped(sync: Synchronous) -> Result<(), Error> {
    use prescale_core::point::SeriesPoints;
    use std::sync::Arc;
    const CLIENTS: usize = 4;
    const SERIES: usize = 1000;
    const SAMPLES: usize = 10;
    const REQUESTS: usize = 200;
    const PER_COMMIT: usize = 2;
    let request = |c: usize, r: usize| -> Result<Vec<SeriesPoints>, Error> {
        (0..SERIES)
            .map(|s| {
                let mut labels = Labels::new();
                labels.insert("job".into(), format!("bench{c}"));
                labels.insert("series".into(), format!("s{s}"));
                let key = SeriesKey::new(
                    WorkloadId::new(format!("bench{c}"))?,
                    MetricName::new(format!("bench_value{{series=\"s{s}\"}}"))?,
                );
                let samples = (0..SAMPLES)
                    .map(|k| Sample {
                        ts: Timestamp(1_700_000_000_000 + ((r * SAMPLES + k) as i64) * 1000),
                        value: (s + k + r) as f64,
                    })
                    .collect();
                Ok(SeriesPoints {
                    key: Arc::new(key),
                    labels: Arc::new(labels),
                    samples,
                })
            })
            .collect()
    };
    let mut commits = Vec::new();
    let mut pending = Vec::new();
    for r in 0..REQUESTS / CLIENTS {
        for c in 0..CLIENTS {
            pending.extend(request(c, r)?);
            if pending.len() == PER_COMMIT * SERIES {
                commits.push(std::mem::take(&mut pending));
            }
        }
    }
    let total = REQUESTS * SERIES * SAMPLES;
    let (dir, db) = temp_db("grouped")?;
    let mut store = Store::open_with(&db, &StoreOptions { synchronous: sync })?;
    let (mut flushing, mut flushes) = (Duration::ZERO, 0);
    let start = Instant::now();
    for batch in &commits {
        let t = Instant::now();
        let stats = store.append_series(batch)?;
        if stats.flushed > 0 {
            flushing += t.elapsed();
            flushes += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    store.flush_head()?;
    store.checkpoint()?;
    drop(store);
    let bytes = file_len(&db);
    println!(
        "grouped appends, synchronous={sync:?}: {total} samples in {} commits, {secs:.2} s = {:.0} \
         samples/s; the {flushes} commits that flushed took {:.2} s; file {:.2} bytes/sample",
        commits.len(),
        total as f64 / secs,
        flushing.as_secs_f64(),
        bytes as f64 / total as f64
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("throughput") => throughput(),
        Some("memory") => memory(match args.get(1) {
            Some(n) => n.parse()?,
            None => 10_000,
        }),
        Some("grouped") => grouped(match args.get(1).map(String::as_str) {
            None | Some("full") => Synchronous::Full,
            Some("normal") => Synchronous::Normal,
            Some(other) => return Err(format!("unknown synchronous mode {other:?}").into()),
        }),
        None => {
            throughput()?;
            memory(10_000)
        }
        Some(other) => Err(format!(
            "unknown mode {other:?}: throughput | memory [series] | grouped [full|normal]"
        )
        .into()),
    }
}

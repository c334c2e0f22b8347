//! `list_series` and `workload_summaries` at fleet scale, against the grouped scans they replaced
//! (kept here as "before", run on the same file): S series × N samples appended scrape-shaped (one
//! sample of every series per batch), the oldest fifth rolled up by retention and the last 20 ticks
//! left in the head.
//!
//! `cargo run --release -p prescale-store --example summary_bench [-- SERIES SAMPLES]`
//! (default 10,000 × 500).

use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};
use prescale_store::{Retention, Store};
use rusqlite::Connection;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

const INTERVAL_MS: i64 = 15_000;
/// Ticks appended last and left in the head.
const HEAD_TICKS: usize = 20;

/// Per series: head samples whose (series, ts) is not also in `samples` (count, first, last).
const HEAD_ONLY: &str = "
SELECT h.series_id AS series_id, COUNT(*) AS n, MIN(h.ts) AS first, MAX(h.ts) AS last
FROM (SELECT DISTINCT series_id, ts FROM samples_head) h
WHERE NOT EXISTS (SELECT 1 FROM samples x WHERE x.series_id = h.series_id AND x.ts = h.ts)
GROUP BY h.series_id";

/// What `list_series` ran before the summaries were kept on write.
fn old_list_sql() -> String {
    format!(
        "SELECT s.workload, s.metric, s.labels, COALESCE(r.n, 0) + COALESCE(h.n, 0),
                r.first, r.last, h.first, h.last
         FROM series s
         LEFT JOIN (SELECT series_id, COUNT(*) AS n, MIN(ts) AS first, MAX(ts) AS last
                    FROM samples GROUP BY series_id) r ON r.series_id = s.id
         LEFT JOIN ({HEAD_ONLY}) h ON h.series_id = s.id
         ORDER BY s.workload, s.metric"
    )
}

/// What `workload_summaries` ran before.
fn old_summary_sql() -> String {
    format!(
        "SELECT s.workload, s.metric, s.labels, s.live,
                COALESCE(r.n, 0) + COALESCE(h.n, 0),
                MIN(COALESCE(r.first, h.first), COALESCE(h.first, r.first)),
                MAX(COALESCE(r.last, h.last), COALESCE(h.last, r.last)),
                COALESCE(u.rows, 0), COALESCE(u.n, 0), u.first, u.last
         FROM series s
         LEFT JOIN (SELECT series_id, COUNT(*) AS n, MIN(ts) AS first, MAX(ts) AS last
                    FROM samples GROUP BY series_id) r ON r.series_id = s.id
         LEFT JOIN ({HEAD_ONLY}) h ON h.series_id = s.id
         LEFT JOIN (SELECT series_id, COUNT(*) AS rows, SUM(n) AS n, MIN(ts) AS first,
                           MAX(ts) AS last
                    FROM rollups GROUP BY series_id) u ON u.series_id = s.id
         ORDER BY s.workload, s.metric"
    )
}

/// Runs an old query to the end, parsing each row's labels as the store did; the row count.
fn old_scan(conn: &Connection, sql: &str) -> Result<usize, Error> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        let labels: String = row.get(2)?;
        let _: Labels = serde_json::from_str(&labels)?;
        n += 1;
    }
    Ok(n)
}

/// Median wall time of `runs` calls of `f`, and what the last one returned.
fn median<T>(runs: usize, mut f: impl FnMut() -> Result<T, Error>) -> Result<(Duration, T), Error> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f()?);
        times.push(t.elapsed());
    }
    times.sort();
    let out = last.ok_or("no runs")?;
    Ok((times[times.len() / 2], out))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat` (Linux; `None`
/// elsewhere). Less disturbed by other work on a shared machine than wall time.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which ends with ')'): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

fn keys(n: usize) -> Result<Vec<(SeriesKey, Labels)>, Error> {
    (0..n)
        .map(|i| {
            let mut labels = Labels::new();
            labels.insert("instance".into(), format!("host-{}:9100", i % 97));
            labels.insert("job".into(), format!("svc-{}", i / 20));
            let key = SeriesKey::new(
                WorkloadId::new(format!("svc-{}", i / 20))?,
                MetricName::new(format!("m{}", i % 20))?,
            );
            Ok((key, labels))
        })
        .collect()
}

fn fill(store: &mut Store, series: usize, samples: usize) -> Result<(), Error> {
    let keys = keys(series)?;
    let mut buf = Vec::with_capacity(series);
    let t0 = Instant::now();
    let cpu0 = cpu_secs();
    let mut retention_time = Duration::ZERO;
    let mut retention_cpu = 0.0;
    let rolled_ticks = samples / 5;
    for t in 0..samples {
        if t + HEAD_TICKS == samples {
            // Roll the oldest fifth up (1-minute steps), which also flushes the head.
            let now = Timestamp((rolled_ticks as i64) * INTERVAL_MS + 3_600_000);
            let r = Retention {
                raw_for: Duration::from_secs(3600),
                rollup_for: None,
                ..Retention::default()
            };
            let (t, c) = (Instant::now(), cpu_secs());
            let stats = store.apply_retention(&r, now)?;
            retention_time = t.elapsed();
            retention_cpu = cpu_secs().zip(c).map_or(0.0, |(b, a)| b - a);
            println!(
                "retention: {} raw rolled into {} rollups in {} transactions, {:.0} ms",
                stats.raw_rolled_up,
                stats.rollups_written,
                stats.transactions,
                ms(retention_time)
            );
        }
        buf.clear();
        buf.extend(keys.iter().enumerate().map(|(i, (k, l))| Point {
            key: k.clone(),
            labels: l.clone(),
            sample: Sample {
                ts: Timestamp(t as i64 * INTERVAL_MS),
                value: ((t as f64) * 0.1 + i as f64).sin() * 100.0,
            },
        }));
        store.append_points(&buf)?;
    }
    let secs = (t0.elapsed() - retention_time).as_secs_f64();
    let cpu = cpu_secs()
        .zip(cpu0)
        .map_or(f64::NAN, |(b, a)| b - a - retention_cpu);
    println!(
        "appended {series} series x {samples} samples, {series} points a batch, in {secs:.1} s \
         ({:.0} samples/s; {cpu:.1} CPU s, {:.0} samples per CPU s)",
        (series * samples) as f64 / secs,
        (series * samples) as f64 / cpu
    );
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let series = args.first().copied().unwrap_or(10_000);
    let samples = args.get(1).copied().unwrap_or(500);
    if samples <= HEAD_TICKS {
        return Err(format!("samples must exceed {HEAD_TICKS}").into());
    }
    let dir = std::env::temp_dir().join(format!("prescale-summary-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("bench.db");
    let mut store = Store::open(&path)?;
    fill(&mut store, series, samples)?;
    let conn = Connection::open(&path)?;
    let (list_new, listed) = median(5, || Ok(store.list_series()?.len()))?;
    let (sum_new, summed) = median(5, || {
        Ok(store
            .workload_summaries()?
            .iter()
            .map(|w| w.series.len())
            .sum::<usize>())
    })?;
    let (list_old, old_listed) = median(3, || old_scan(&conn, &old_list_sql()))?;
    let (sum_old, old_summed) = median(3, || old_scan(&conn, &old_summary_sql()))?;
    // Where the kept summaries' time goes: the query alone, then with the labels parsed.
    let kept_sql = "SELECT s.workload, s.metric, s.labels, s.live, t.raw_n, t.raw_first,
                           t.raw_last, t.rollup_rows, t.rolled_n, t.rollup_first, t.rollup_last
                    FROM series s LEFT JOIN series_stats t ON t.series_id = s.id
                    ORDER BY s.workload, s.metric";
    let (sql_only, _) = median(5, || {
        let mut stmt = conn.prepare_cached(kept_sql)?;
        let mut rows = stmt.query([])?;
        let mut n = 0usize;
        while let Some(row) = rows.next()? {
            let (_, _, _): (String, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
            n += 1;
        }
        Ok(n)
    })?;
    let (with_labels, _) = median(5, || old_scan(&conn, kept_sql))?;
    let reader = Store::open(&path)?;
    let (reader_list, _) = median(5, || Ok(reader.list_series()?.len()))?;
    let (reader_sum, _) = median(5, || Ok(reader.workload_summaries()?.len()))?;
    println!(
        "second handle: list_series {:.1} ms, workload_summaries {:.1} ms",
        ms(reader_list),
        ms(reader_sum)
    );
    println!(
        "workload_summaries, kept: the query alone {:.1} ms, with labels parsed {:.1} ms",
        ms(sql_only),
        ms(with_labels)
    );
    if (listed, summed) != (old_listed, old_summed) || listed != series {
        return Err(format!(
            "row counts differ: {listed}/{summed} kept, {old_listed}/{old_summed} scanned"
        )
        .into());
    }
    println!("| call ({series} series x {samples} samples) | scan (before) ms | kept (after) ms | ratio |");
    println!("|---|---:|---:|---:|");
    for (name, old, new) in [
        ("list_series", list_old, list_new),
        ("workload_summaries", sum_old, sum_new),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.0}x |",
            ms(old),
            ms(new),
            old.as_secs_f64() / new.as_secs_f64()
        );
    }
    drop(store);
    drop(conn);
    println!(
        "file size: {:.1} MB",
        std::fs::metadata(&path)?.len() as f64 / 1e6
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

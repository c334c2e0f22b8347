//! Crash safety: a child process writes batches and acknowledges each commit, the parent kills it with
//! SIGKILL, reopens the file and finds every acknowledged batch whole (and no partial batch).
//! Two children: one saving a series with `upsert_series`, one appending live points across many
//! series with `append_points` while retention rolls the older ones up in small transactions.

use prescale_core::{Labels, MetricName, Point, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_store::{Retention, Store};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "PRESCALE_STORE_CRASH_CHILD";
const TEST_NAME: &str = "acknowledged_commits_survive_sigkill";
const BATCH: i64 = 5000;
const ACKS_BEFORE_KILL: i64 = 15;

fn key() -> SeriesKey {
    SeriesKey::new(
        WorkloadId::new("crash").unwrap(),
        MetricName::new("cpu").unwrap(),
    )
}

/// Child mode: write batch after batch, printing `ACK n` after each commit returned.
fn run_child(path: &Path) {
    let mut store = Store::open(path).expect("child opens the store");
    let mut out = std::io::stdout();
    for batch in 0..2_000i64 {
        let samples = (0..BATCH)
            .map(|i| Sample {
                ts: Timestamp(batch * BATCH + i),
                value: batch as f64,
            })
            .collect();
        let series = Series::new(key(), Labels::new(), samples).expect("valid series");
        store.upsert_series(&series).expect("child upsert");
        writeln!(out, "ACK {batch}").expect("child stdout");
        out.flush().expect("child stdout");
    }
}

/// Kills the child if the parent fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs this test binary's `test_name` as a child with `env` set to `db`, reads its `ACK n` lines and
/// kills it with SIGKILL once `acks` commits were acknowledged; the last acknowledged `n`.
fn kill_after_acks(test_name: &str, env: &str, db: &Path, acks: i64) -> i64 {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(env, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut last_ack = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest may print "test NAME ... " on the same line before the first ACK.
        if let Some(n) = line.rsplit("ACK ").next().filter(|_| line.contains("ACK ")) {
            let n: i64 = n.trim().parse().unwrap();
            last_ack = Some(n);
            if n + 1 >= acks {
                child.0.kill().unwrap(); // SIGKILL on Unix
                break;
            }
        }
    }
    let status = child.0.wait().unwrap();
    let last_ack = last_ack.expect("the child acknowledged no commit");
    assert!(last_ack + 1 >= acks, "the child stopped early ({status})");
    assert!(!status.success(), "the child was killed, not finished");
    last_ack
}

fn temp_dir(name: &str) -> PathBuf {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("prescale-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        run_child(Path::new(&path));
        return;
    }
    let dir = temp_dir("crash");
    let db = dir.join("prescale.db");
    let last_ack = kill_after_acks(TEST_NAME, CHILD_ENV, &db, ACKS_BEFORE_KILL);

    let store = Store::open(&db).unwrap();
    let series = store
        .load_series(&key())
        .unwrap()
        .expect("acknowledged data is stored");
    let n = series.len() as i64;
    println!(
        "killed after ACK {last_ack}; {n} samples ({} batches) found",
        n / BATCH
    );
    assert!(
        n >= (last_ack + 1) * BATCH,
        "{n} samples, {} acknowledged",
        (last_ack + 1) * BATCH
    );
    assert_eq!(n % BATCH, 0, "a partial batch was committed");
    for (i, s) in series.samples().iter().enumerate() {
        let i = i as i64;
        assert_eq!((s.ts.0, s.value), (i, (i / BATCH) as f64));
    }
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

const APPEND_CHILD_ENV: &str = "PRESCALE_STORE_CRASH_APPEND_CHILD";
const APPEND_TEST_NAME: &str = "acknowledged_appends_survive_sigkill_during_retention";
const SERIES: usize = 40;
/// Samples per series per batch, one a second; not a multiple of the 60 s step, so rollup steps
/// straddle batches.
const PER_SERIES: i64 = 125;
const APPEND_ACKS_BEFORE_KILL: i64 = 20;

fn append_keys() -> Vec<SeriesKey> {
    (0..SERIES)
        .map(|i| {
            SeriesKey::new(
                WorkloadId::new(format!("w{}", i % 4)).unwrap(),
                MetricName::new(format!("m{i}")).unwrap(),
            )
        })
        .collect()
}

/// Child mode: batch b holds seconds [b*125, (b+1)*125) of every series, all with value b; after
/// each acknowledged batch, retention (raw kept 60 s, at most 300 rows a transaction) runs as of
/// the batch's last second, so the kill can land in an append or between retention chunks.
fn run_append_child(path: &Path) {
    let mut store = Store::open(path).expect("child opens the store");
    let keys = append_keys();
    let retention = Retention {
        raw_for: Duration::from_secs(60),
        rollup_for: None,
        rollup_step: Duration::from_secs(60),
        max_rows_per_transaction: 300,
    };
    let mut out = std::io::stdout();
    for batch in 0..2_000i64 {
        let points: Vec<Point> = (0..PER_SERIES)
            .flat_map(|i| {
                keys.iter().map(move |k| Point {
                    key: k.clone(),
                    labels: Labels::new(),
                    sample: Sample {
                        ts: Timestamp((batch * PER_SERIES + i) * 1000),
                        value: batch as f64,
                    },
                })
            })
            .collect();
        store.append_points(&points).expect("child append");
        writeln!(out, "ACK {batch}").expect("child stdout");
        out.flush().expect("child stdout");
        let now = Timestamp(((batch + 1) * PER_SERIES - 1) * 1000);
        store
            .apply_retention(&retention, now)
            .expect("child retention");
    }
}

#[test]
fn acknowledged_appends_survive_sigkill_during_retention() {
    if let Ok(path) = std::env::var(APPEND_CHILD_ENV) {
        run_append_child(Path::new(&path));
        return;
    }
    let dir = temp_dir("crash-append");
    let db = dir.join("prescale.db");
    let last_ack = kill_after_acks(
        APPEND_TEST_NAME,
        APPEND_CHILD_ENV,
        &db,
        APPEND_ACKS_BEFORE_KILL,
    );

    let store = Store::open(&db).unwrap();
    let mut batches = None;
    for key in append_keys() {
        // Every sample is counted once, raw or in a rollup.
        let rollups = store
            .load_rollups(&key, Timestamp(i64::MIN), Timestamp(i64::MAX))
            .unwrap();
        let raw = store
            .load_series(&key)
            .unwrap()
            .expect("acknowledged series is stored");
        let count = raw.len() as i64 + rollups.iter().map(|r| r.count as i64).sum::<i64>();
        let sum = raw.values().iter().sum::<f64>() + rollups.iter().map(|r| r.sum).sum::<f64>();
        assert_eq!(
            count % PER_SERIES,
            0,
            "{key}: a partial batch ({count} samples)"
        );
        let b = count / PER_SERIES;
        assert!(
            b > last_ack,
            "{key}: {b} batches stored, {} acknowledged",
            last_ack + 1
        );
        assert_eq!(
            *batches.get_or_insert(b),
            b,
            "{key}: batches differ between series"
        );
        // Batch i contributes 125 * i; a sample lost or counted twice would change the sum.
        assert_eq!(sum, (PER_SERIES * b * (b - 1) / 2) as f64, "{key}");
        let window = store
            .load_window(&key, Timestamp(i64::MIN), Timestamp(i64::MAX))
            .unwrap();
        assert!(window.windows(2).all(|w| w[0].ts < w[1].ts), "{key}");
        assert!(!rollups.is_empty(), "{key}: retention ran");
    }
    println!(
        "killed after ACK {last_ack}; {} batches of {} series found",
        batches.unwrap_or(0),
        SERIES
    );
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

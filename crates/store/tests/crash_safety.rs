//! Crash safety: a child process writes batches and acknowledges each commit, the parent kills it with
//! SIGKILL, reopens the file and finds every acknowledged batch whole (and no partial batch).
//! Three children: one saving a series with `upsert_series`, one appending live points across many
//! series with `append_points` while retention rolls the older ones up in small transactions, and one
//! appending grouped samples (`append_series`, the remote-write path) long enough that the
//! write-ahead log is flushed into chunks several times, killed at random points, again and again
//! on the same file.

use prescale_core::point::SeriesPoints;
use prescale_core::{Labels, MetricName, Point, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_store::{Retention, Store};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    kill_later(test_name, env, db, acks, Duration::ZERO)
}

/// [`kill_after_acks`], killing `delay` after the `acks`-th acknowledgement (the child goes on
/// writing meanwhile, so the kill lands wherever it happens to be).
fn kill_later(test_name: &str, env: &str, db: &Path, acks: i64, delay: Duration) -> i64 {
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
                std::thread::sleep(delay);
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

const GROUPED_CHILD_ENV: &str = "PRESCALE_STORE_CRASH_GROUPED_CHILD";
const GROUPED_TEST_NAME: &str = "acknowledged_grouped_appends_survive_sigkill_at_random_points";
const GROUPED_SERIES: usize = 2000;
/// Samples per series per batch: 10,000 a batch, so the log (flushed into chunks once it holds
/// 262,144) is flushed every 27 batches or so, about 130 samples per series a flush: each flush
/// appends them to the series' newest chunk (the first flush after a restart decodes and encodes
/// it again, later ones encode only the new samples), or starts a new chunk when it is full.
const GROUPED_PER_SERIES: i64 = 5;
const KILLS: usize = 4;

fn grouped_keys() -> Vec<Arc<SeriesKey>> {
    (0..GROUPED_SERIES)
        .map(|i| {
            Arc::new(SeriesKey::new(
                WorkloadId::new(format!("g{}", i % 5)).unwrap(),
                MetricName::new(format!("m{i}")).unwrap(),
            ))
        })
        .collect()
}

/// Batches stored whole for `key`, checking every sample is there exactly once: sample `i` at
/// second `i` with value `i / GROUPED_PER_SERIES` (its batch).
fn grouped_batches(store: &Store, key: &SeriesKey) -> i64 {
    let samples = store
        .load_series(key)
        .unwrap()
        .map_or_else(Vec::new, |s| s.samples().to_vec());
    for (i, s) in samples.iter().enumerate() {
        let i = i as i64;
        assert_eq!(
            (s.ts.0, s.value),
            (i * 1000, (i / GROUPED_PER_SERIES) as f64),
            "{key}: sample {i} missing, repeated or wrong"
        );
    }
    let n = samples.len() as i64;
    assert_eq!(
        n % GROUPED_PER_SERIES,
        0,
        "{key}: a partial batch ({n} samples)"
    );
    n / GROUPED_PER_SERIES
}

/// Child mode: resumes after the batches already stored; batch b holds seconds
/// [b*5, (b+1)*5) of every series, value b, appended grouped by series with shared keys.
fn run_grouped_child(path: &Path) {
    let mut store = Store::open(path).expect("child opens the store");
    let keys = grouped_keys();
    let labels = Arc::new(Labels::new());
    let start = grouped_batches(&store, &keys[0]);
    let mut out = std::io::stdout();
    for batch in start..start + 2_000 {
        let series: Vec<SeriesPoints> = keys
            .iter()
            .map(|k| SeriesPoints {
                key: Arc::clone(k),
                labels: Arc::clone(&labels),
                samples: (0..GROUPED_PER_SERIES)
                    .map(|i| Sample {
                        ts: Timestamp((batch * GROUPED_PER_SERIES + i) * 1000),
                        value: batch as f64,
                    })
                    .collect(),
            })
            .collect();
        store.append_series(&series).expect("child append");
        writeln!(out, "ACK {batch}").expect("child stdout");
        out.flush().expect("child stdout");
    }
}

/// A small seeded generator (xorshift64*), so that a failing run can be repeated by its seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

#[test]
fn acknowledged_grouped_appends_survive_sigkill_at_random_points() {
    if let Ok(path) = std::env::var(GROUPED_CHILD_ENV) {
        run_grouped_child(Path::new(&path));
        return;
    }
    let seed = std::env::var("PRESCALE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("seed {seed} (PRESCALE_CRASH_SEED={seed} repeats this run)");
    let mut rng = seed;
    let dir = temp_dir("crash-grouped");
    let db = dir.join("prescale.db");
    let mut stored = 0;
    let mut flushed_at_least_once = false;
    for round in 0..KILLS {
        // 30 to 89 acknowledged batches (one to three flushes of the log), then 0 to 30 ms more.
        let acks = 30 + (next(&mut rng) % 60) as i64;
        let delay = Duration::from_micros(next(&mut rng) % 30_000);
        let last_ack = kill_later(
            GROUPED_TEST_NAME,
            GROUPED_CHILD_ENV,
            &db,
            stored + acks,
            delay,
        );
        let store = Store::open(&db).unwrap();
        let mut batches = None;
        for key in grouped_keys() {
            let b = grouped_batches(&store, &key);
            assert!(
                b > last_ack,
                "round {round}: {key}: {b} batches stored, {} acknowledged",
                last_ack + 1
            );
            assert_eq!(
                *batches.get_or_insert(b),
                b,
                "round {round}: {key}: batches differ between series"
            );
        }
        let b = batches.unwrap_or(0);
        // Read after the reads above replayed the log into this handle's head.
        let in_log = store.head_samples();
        // Some of it in chunks (the log was flushed), the rest replayed from the log.
        let total = b * GROUPED_PER_SERIES * GROUPED_SERIES as i64;
        flushed_at_least_once |= (in_log as i64) < total;
        println!(
            "round {round}: killed {} ms after ACK {last_ack}; {b} batches found, {in_log} of {total} samples in the log",
            delay.as_millis()
        );
        stored = b;
    }
    assert!(
        flushed_at_least_once,
        "the log was never flushed into chunks"
    );
    // Replaying the log once more and flushing it leaves every sample exactly once.
    let mut store = Store::open(&db).unwrap();
    store.flush_head().unwrap();
    assert_eq!(store.head_samples(), 0);
    for key in grouped_keys() {
        assert_eq!(
            grouped_batches(&store, &key),
            stored,
            "{key} after the flush"
        );
    }
    drop(store);
    // Chunks grew in place across flushes: the largest holds more than one flush's samples.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let largest: i64 = conn
        .query_row("SELECT MAX(n) FROM chunks", [], |r| r.get(0))
        .unwrap();
    assert!(largest > 200, "largest chunk {largest} samples");
    std::fs::remove_dir_all(&dir).unwrap();
}

const CONCURRENT_CHILD_ENV: &str = "PRESCALE_STORE_CRASH_CONCURRENT_CHILD";
const CONCURRENT_TEST_NAME: &str = "concurrent_group_commits_survive_sigkill";
/// Writer threads sharing one store handle, each appending its own series.
const WRITERS: usize = 8;
const WRITER_SERIES: usize = 100;
const WRITER_PER_SERIES: i64 = 5;

fn writer_keys(writer: usize) -> Vec<Arc<SeriesKey>> {
    (0..WRITER_SERIES)
        .map(|i| {
            Arc::new(SeriesKey::new(
                WorkloadId::new(format!("writer{writer}")).unwrap(),
                MetricName::new(format!("m{i}")).unwrap(),
            ))
        })
        .collect()
}

/// Batches stored whole for `key` (sample `i` at second `i`, value `i / 5`), checking each sample.
fn writer_batches(store: &Store, key: &SeriesKey) -> i64 {
    let samples = store
        .load_series(key)
        .unwrap()
        .map_or_else(Vec::new, |s| s.samples().to_vec());
    for (i, s) in samples.iter().enumerate() {
        let i = i as i64;
        assert_eq!(
            (s.ts.0, s.value),
            (i * 1000, (i / WRITER_PER_SERIES) as f64),
            "{key}: sample {i} missing, repeated or wrong"
        );
    }
    let n = samples.len() as i64;
    assert_eq!(n % WRITER_PER_SERIES, 0, "{key}: a partial batch ({n})");
    n / WRITER_PER_SERIES
}

/// Child mode: 8 threads share one handle; each appends its batches with `append_batch_deferred`
/// under the lock, waits for durability outside it (so that waits overlap and share fsyncs) and
/// prints `ACK writer batch`.
fn run_concurrent_child(path: &Path) {
    let store = Arc::new(std::sync::Mutex::new(
        Store::open(path).expect("child opens the store"),
    ));
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, out) = (Arc::clone(&store), Arc::clone(&out));
            std::thread::spawn(move || {
                let keys = writer_keys(w);
                let labels = Arc::new(Labels::new());
                let start = writer_batches(&store.lock().unwrap(), &keys[0]);
                for batch in start..start + 100_000 {
                    let series: Vec<SeriesPoints> = keys
                        .iter()
                        .map(|k| SeriesPoints {
                            key: Arc::clone(k),
                            labels: Arc::clone(&labels),
                            samples: (0..WRITER_PER_SERIES)
                                .map(|i| Sample {
                                    ts: Timestamp((batch * WRITER_PER_SERIES + i) * 1000),
                                    value: batch as f64,
                                })
                                .collect(),
                        })
                        .collect();
                    let (_, pending) = store
                        .lock()
                        .unwrap()
                        .append_batch_deferred(&[], &series)
                        .expect("child append");
                    pending.wait().expect("child append durable");
                    let mut out = out.lock().unwrap();
                    writeln!(out, "ACK {w} {batch}").expect("child stdout");
                    out.flush().expect("child stdout");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
}

#[test]
fn concurrent_group_commits_survive_sigkill() {
    if let Ok(path) = std::env::var(CONCURRENT_CHILD_ENV) {
        run_concurrent_child(Path::new(&path));
        return;
    }
    let dir = temp_dir("crash-concurrent");
    let db = dir.join("prescale.db");
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..3 {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                CONCURRENT_TEST_NAME,
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CONCURRENT_CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(child);
        let stdout = child.0.stdout.take().unwrap();
        // The last batch each writer acknowledged; killed once 150 to 449 acknowledgements were read
        // this round (with the writers still going), 0 to 20 ms later.
        let mut acked: Vec<Option<i64>> = vec![None; WRITERS];
        let target = 150 + next(&mut rng) % 300;
        let delay = Duration::from_micros(next(&mut rng) % 20_000);
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let Some(rest) = line.split("ACK ").nth(1) else {
                continue;
            };
            let mut it = rest.split_whitespace().map(|x| x.parse::<i64>().unwrap());
            let (w, b) = (it.next().unwrap() as usize, it.next().unwrap());
            acked[w] = Some(b);
            seen += 1;
            if seen >= target {
                std::thread::sleep(delay);
                child.0.kill().unwrap();
                break;
            }
        }
        let status = child.0.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child was killed, not finished"
        );
        assert!(
            seen >= target,
            "round {round}: the child stopped early ({status})"
        );

        let store = Store::open(&db).unwrap();
        let mut stored = 0;
        for (w, last) in acked.iter().enumerate() {
            let keys = writer_keys(w);
            let b = writer_batches(&store, &keys[0]);
            if let Some(last) = last {
                assert!(
                    b > *last,
                    "round {round}: writer {w}: {b} batches stored, batch {last} acknowledged"
                );
            }
            for key in &keys[1..] {
                assert_eq!(
                    writer_batches(&store, key),
                    b,
                    "round {round}: {key}: batches differ between one writer's series"
                );
            }
            stored += b;
        }
        println!(
            "round {round}: killed {} ms after {seen} acknowledgements; {stored} batches of {WRITERS} writers found",
            delay.as_millis()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

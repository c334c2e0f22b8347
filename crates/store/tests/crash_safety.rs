//! Crash safety: a child process writes batches and acknowledges each commit, the parent kills it with
//! SIGKILL, reopens the file and finds every acknowledged batch whole (and no partial batch).

use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_store::Store;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

#[test]
fn acknowledged_commits_survive_sigkill() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        run_child(Path::new(&path));
        return;
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("prescale-store-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("prescale.db");

    let child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
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
            if n + 1 >= ACKS_BEFORE_KILL {
                child.0.kill().unwrap(); // SIGKILL on Unix
                break;
            }
        }
    }
    let status = child.0.wait().unwrap();
    let last_ack = last_ack.expect("the child acknowledged no commit");
    assert!(
        last_ack + 1 >= ACKS_BEFORE_KILL,
        "the child stopped early ({status})"
    );
    assert!(!status.success(), "the child was killed, not finished");

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

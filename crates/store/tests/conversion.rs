//! Converting a store written before chunks (schema 8: a row per sample, a head of rows) in bounded
//! steps: interrupted after a few steps, reopened, finished, every sample present once with the
//! value that won (the head's newest generation over `samples`), summaries unchanged.

use prescale_core::{MetricName, SeriesKey, Timestamp, WorkloadId};
use prescale_store::{convert_some, Store, SCHEMA_VERSION};
use std::path::Path;

const SERIES: i64 = 3;
const PER_SERIES: i64 = 5_000;

fn key(i: i64) -> SeriesKey {
    SeriesKey::new(
        WorkloadId::new("web").unwrap(),
        MetricName::new(format!("m{i}")).unwrap(),
    )
}

/// A schema-8 file: SERIES live series of PER_SERIES samples (ts = 10 s steps, value = ts / 1000 +
/// series), and head rows repeating two stored times (generations 1 and 2) and adding one.
fn old_file(path: &Path) {
    let mut store = Store::open(path).unwrap();
    for i in 0..SERIES {
        let pts = (0..1).map(|_| prescale_core::Point {
            key: key(i),
            labels: Default::default(),
            sample: prescale_core::Sample {
                ts: Timestamp(0),
                value: 0.0,
            },
        });
        store.append_points(&pts.collect::<Vec<_>>()).unwrap();
    }
    drop(store);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TABLE chunks; DROP TABLE wal_log; DROP TABLE log_state; DROP TABLE outbox;
         CREATE TABLE samples (series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
             ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
         CREATE TABLE samples_head (gen INTEGER NOT NULL, series_id INTEGER NOT NULL,
             ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (gen, series_id, ts)) WITHOUT ROWID;
         CREATE TABLE head_gens (gen INTEGER PRIMARY KEY, rows INTEGER NOT NULL);
         PRAGMA user_version = 8;",
    )
    .unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM series ORDER BY metric")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..PER_SERIES {
            let ts = k * 10_000;
            tx.execute(
                "INSERT INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3)",
                rusqlite::params![id, ts, (ts / 1000 + i as i64) as f64],
            )
            .unwrap();
        }
        tx.execute_batch(&format!(
            "INSERT INTO samples_head (gen, series_id, ts, value) VALUES
                 (1, {id}, 20000, -1), (2, {id}, 20000, -2), (1, {id}, 5, -5);
             UPDATE series_stats SET raw_n = {n}, raw_first = 0, raw_last = {last}
             WHERE series_id = {id};",
            n = PER_SERIES + 1,
            last = (PER_SERIES - 1) * 10_000
        ))
        .unwrap();
    }
    tx.execute_batch("INSERT INTO head_gens (gen, rows) VALUES (1, 6), (2, 3);")
        .unwrap();
    tx.commit().unwrap();
}

fn check(store: &Store) {
    for i in 0..SERIES {
        let s = store.load_series(&key(i)).unwrap().unwrap();
        assert_eq!(s.len() as i64, PER_SERIES + 1, "series {i}");
        for x in s.samples() {
            let want = match x.ts.0 {
                5 => -5.0,
                20_000 => -2.0,
                ts => (ts / 1000 + i) as f64,
            };
            assert_eq!(x.value, want, "series {i} at {}", x.ts);
        }
    }
    let listed = store.list_series().unwrap();
    assert!(listed
        .iter()
        .all(|l| l.samples as i64 == PER_SERIES + 1 && l.first_ts == Some(Timestamp(0))));
}

#[test]
fn an_interrupted_conversion_finishes_on_the_next_open_with_every_sample_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    old_file(&path);
    // Three steps of 4,000 rows: the head and part of the samples moved, then "interrupted".
    assert!(!convert_some(&path, 3, 4_000).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))
            .unwrap();
        let moved: i64 = conn
            .query_row("SELECT COALESCE(SUM(n), 0) FROM chunks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, SERIES * PER_SERIES + SERIES - 12_000);
        assert_eq!(moved, 12_000);
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    check(&store);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let old: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('samples', 'samples_head', 'head_gens')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "the old tables are dropped");
    drop(conn);
    check(&Store::open(&path).unwrap());
}

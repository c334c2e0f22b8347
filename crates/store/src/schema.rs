//! The schema as an ordered list of migrations; `PRAGMA user_version` records how many were applied.

use crate::error::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// Migration i (0-based) brings the schema from version i to version i + 1. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: series, samples, fingerprints, clusterings, models, forecasts.
    r#"
CREATE TABLE series (
    id       INTEGER PRIMARY KEY,
    workload TEXT NOT NULL,
    metric   TEXT NOT NULL,
    labels   TEXT NOT NULL,
    UNIQUE (workload, metric)
);
CREATE TABLE samples (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

CREATE TABLE fingerprint_runs (
    id                 INTEGER PRIMARY KEY,
    at                 INTEGER NOT NULL,
    created            INTEGER NOT NULL,
    model_json         TEXT NOT NULL,
    explained_variance BLOB NOT NULL,
    kept               INTEGER NOT NULL
);
CREATE TABLE fingerprints (
    run_id   INTEGER NOT NULL REFERENCES fingerprint_runs(id) ON DELETE CASCADE,
    pos      INTEGER NOT NULL,
    workload TEXT NOT NULL,
    at       INTEGER NOT NULL,
    vector   BLOB NOT NULL,
    PRIMARY KEY (run_id, pos)
);
CREATE INDEX fingerprints_by_workload ON fingerprints (workload, at);
CREATE TABLE fingerprint_map2d (
    run_id   INTEGER NOT NULL REFERENCES fingerprint_runs(id) ON DELETE CASCADE,
    pos      INTEGER NOT NULL,
    workload TEXT NOT NULL,
    x        REAL NOT NULL,
    y        REAL NOT NULL,
    PRIMARY KEY (run_id, pos)
);

CREATE TABLE clustering_runs (
    id              INTEGER PRIMARY KEY,
    created         INTEGER NOT NULL,
    fingerprint_run INTEGER NOT NULL REFERENCES fingerprint_runs(id) ON DELETE CASCADE,
    algorithm       TEXT NOT NULL,
    params_json     TEXT NOT NULL
);
CREATE INDEX clustering_runs_by_algorithm ON clustering_runs (algorithm, created);
CREATE TABLE clusters (
    run_id     INTEGER NOT NULL REFERENCES clustering_runs(id) ON DELETE CASCADE,
    pos        INTEGER NOT NULL,
    cluster_id INTEGER NOT NULL,
    centroid   BLOB NOT NULL,
    PRIMARY KEY (run_id, pos),
    UNIQUE (run_id, cluster_id)
);
-- cluster_id NULL: noise.
CREATE TABLE cluster_members (
    run_id     INTEGER NOT NULL REFERENCES clustering_runs(id) ON DELETE CASCADE,
    pos        INTEGER NOT NULL,
    workload   TEXT NOT NULL,
    cluster_id INTEGER,
    PRIMARY KEY (run_id, pos),
    UNIQUE (run_id, workload)
);
CREATE INDEX cluster_members_by_workload ON cluster_members (workload);

CREATE TABLE models (
    id            INTEGER PRIMARY KEY,
    workload      TEXT NOT NULL,
    metric        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    spec          TEXT NOT NULL,
    params_json   TEXT NOT NULL,
    fitted_at     INTEGER NOT NULL,
    trained_until INTEGER NOT NULL,
    in_sample_mae REAL
);
CREATE INDEX models_by_key ON models (workload, metric, fitted_at);
CREATE TABLE forecasts (
    id        INTEGER PRIMARY KEY,
    workload  TEXT NOT NULL,
    metric    TEXT NOT NULL,
    model_id  INTEGER REFERENCES models(id) ON DELETE SET NULL,
    issued_at INTEGER NOT NULL,
    step_ms   INTEGER NOT NULL,
    level     REAL NOT NULL,
    point     BLOB NOT NULL,
    lower     BLOB NOT NULL,
    upper     BLOB NOT NULL
);
CREATE INDEX forecasts_by_key ON forecasts (workload, metric, issued_at);
"#,
    // 2: rollups (the downsampled samples retention keeps once the raw ones are gone), the head of
    // live appends and the live flag. Rollups: one row per series and step; `ts` is the step start,
    // the step covers [ts, ts + step_ms); `n` samples with sum `total`, smallest `lo` and largest
    // `hi`. Sums (not means) so that merging is exact.
    r#"
CREATE TABLE rollups (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    ts        INTEGER NOT NULL,
    step_ms   INTEGER NOT NULL CHECK (step_ms > 0),
    n         INTEGER NOT NULL CHECK (n > 0),
    total     REAL NOT NULL,
    lo        REAL NOT NULL,
    hi        REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
-- The head: recent live appends clustered by generation (see head.rs), and its generations.
CREATE TABLE samples_head (
    gen       INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (gen, series_id, ts)
) WITHOUT ROWID;
CREATE TABLE head_gens (
    gen  INTEGER PRIMARY KEY,
    rows INTEGER NOT NULL
);
-- live = 1: written by live appends, so subject to retention; series saved whole stay as they are.
ALTER TABLE series ADD COLUMN live INTEGER NOT NULL DEFAULT 0;
"#,
    // 3: control decisions, each with its explanation as JSON (the control crate's record).
    r#"
CREATE TABLE decisions (
    id       INTEGER PRIMARY KEY,
    workload TEXT NOT NULL,
    at       INTEGER NOT NULL,
    mode     TEXT NOT NULL,
    before   INTEGER,
    after    INTEGER,
    record   TEXT NOT NULL
);
CREATE INDEX decisions_by_workload ON decisions (workload, at);
CREATE INDEX decisions_by_at ON decisions (at);
"#,
    // 4: operator annotations; `workload` NULL is fleet-wide, `tags` a JSON array of strings.
    r#"
CREATE TABLE annotations (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    workload TEXT,
    text     TEXT NOT NULL,
    tags     TEXT NOT NULL
);
CREATE INDEX annotations_by_at ON annotations (at);
"#,
    // 5: fleet models trained across workloads (the gbm), one row per training, the
    // model itself as its own versioned JSON.
    r#"
CREATE TABLE fleet_models (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    step_ms      INTEGER NOT NULL,
    trained_at   INTEGER NOT NULL,
    series       INTEGER NOT NULL,
    rows         INTEGER NOT NULL,
    horizon      INTEGER NOT NULL,
    holdout_mae  REAL,
    seconds      REAL NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX fleet_models_by_kind ON fleet_models (kind, step_ms, trained_at);
"#,
    // 6: each fingerprint's behavioural-anomaly score (the fingerprint model's reconstruction
    // error); NULL for fingerprints stored before it existed.
    r#"
ALTER TABLE fingerprints ADD COLUMN reconstruction_error REAL;
"#,
    // 7: per-series summaries kept on write (see series_stats.rs), filled here from the stored data in one
    // pass. Raw: distinct timestamps of `samples` and the head together; rollups: rows, the samples
    // they summarize (SUM(n)) and the span of their step starts. Triggers give each new series row
    // an empty summary and drop it with the row, whatever path writes the series table.
    r#"
CREATE TABLE series_stats (
    series_id    INTEGER PRIMARY KEY,
    raw_n        INTEGER NOT NULL DEFAULT 0,
    raw_first    INTEGER,
    raw_last     INTEGER,
    rollup_rows  INTEGER NOT NULL DEFAULT 0,
    rolled_n     INTEGER NOT NULL DEFAULT 0,
    rollup_first INTEGER,
    rollup_last  INTEGER
);
INSERT INTO series_stats (series_id) SELECT id FROM series;
UPDATE series_stats SET raw_n = r.n, raw_first = r.first, raw_last = r.last
FROM (SELECT series_id, COUNT(*) AS n, MIN(ts) AS first, MAX(ts) AS last
      FROM samples GROUP BY series_id) r
WHERE r.series_id = series_stats.series_id;
UPDATE series_stats SET raw_n = raw_n + h.n,
                        raw_first = MIN(COALESCE(raw_first, h.first), h.first),
                        raw_last = MAX(COALESCE(raw_last, h.last), h.last)
FROM (SELECT h.series_id AS series_id, COUNT(*) AS n, MIN(h.ts) AS first, MAX(h.ts) AS last
      FROM (SELECT DISTINCT series_id, ts FROM samples_head) h
      WHERE NOT EXISTS (SELECT 1 FROM samples x WHERE x.series_id = h.series_id AND x.ts = h.ts)
      GROUP BY h.series_id) h
WHERE h.series_id = series_stats.series_id;
UPDATE series_stats SET rollup_rows = u.rows, rolled_n = u.n, rollup_first = u.first,
                        rollup_last = u.last
FROM (SELECT series_id, COUNT(*) AS rows, SUM(n) AS n, MIN(ts) AS first, MAX(ts) AS last
      FROM rollups GROUP BY series_id) u
WHERE u.series_id = series_stats.series_id;
CREATE TRIGGER series_stats_create AFTER INSERT ON series
BEGIN
    INSERT OR REPLACE INTO series_stats (series_id) VALUES (NEW.id);
END;
CREATE TRIGGER series_stats_drop AFTER DELETE ON series
BEGIN
    DELETE FROM series_stats WHERE series_id = OLD.id;
END;
"#,
    // 8: the basis each fingerprint run's vectors live in (fingerprints.rs: the content id of its
    // model text), so that the runs sharing one are found without reading their models; NULL for
    // runs stored before, each of which fitted its own.
    r#"
ALTER TABLE fingerprint_runs ADD COLUMN basis TEXT;
CREATE INDEX fingerprint_runs_by_basis ON fingerprint_runs (basis, at);
"#,
    // 9: samples as compressed chunks per series (chunks.rs, chunk_codec.rs) and live appends as a
    // write-ahead log of compressed batches (wal_log.rs); `flushed` is the last log row moved into
    // chunks. The rows of `samples` and the old head are converted afterwards in bounded steps
    // (convert.rs), which drop those tables when done.
    r#"
CREATE TABLE chunks (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    start_ts  INTEGER NOT NULL,
    end_ts    INTEGER NOT NULL,
    n         INTEGER NOT NULL CHECK (n > 0),
    data      BLOB NOT NULL,
    PRIMARY KEY (series_id, start_ts DESC)
);
CREATE TABLE wal_log (
    seq  INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE log_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    flushed INTEGER NOT NULL
);
INSERT INTO log_state (id, flushed) VALUES (1, 0);
"#,
    // 10: outboxes (outbox.rs): per outbox (`decisions`: the decision log published to the bus),
    // the highest row id published and acknowledged. No row until the outbox first starts.
    r#"
CREATE TABLE outbox (
    name      TEXT PRIMARY KEY,
    published INTEGER NOT NULL
);
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database to `SCHEMA_VERSION` in one transaction; refuses a newer file.
pub(crate) fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_string(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_err)?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    if found < 0 || found > i64::from(SCHEMA_VERSION) {
        return Err(StoreError::TooNew {
            path: path.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as u32 + 1;
        let migrate_err = |source| StoreError::Migrate {
            path: path.to_string(),
            version,
            source,
        };
        tx.execute_batch(sql).map_err(migrate_err)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(migrate_err)?;
    }
    tx.commit().map_err(open_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open::Store;
    use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};

    /// A file at schema `version` (before the summaries) holding samples, head rows (repeats of
    /// stored times and of each other included) and rollups.
    fn old_file(path: &std::path::Path, version: usize) {
        let conn = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO series (id, workload, metric, labels, live) VALUES
                 (1, 'web', 'cpu', '{}', 1), (2, 'web', 'mem', '{}', 1),
                 (3, 'db', 'cpu', '{}', 0), (4, 'db', 'mem', '{}', 1);
             INSERT INTO samples (series_id, ts, value) VALUES
                 (1, 10000, 1), (1, 20000, 2), (1, 30000, 3);
             INSERT INTO head_gens (gen, rows) VALUES (1, 2), (2, 3);
             INSERT INTO samples_head (gen, series_id, ts, value) VALUES
                 (1, 1, 20000, 9), (1, 1, 40000, 4), (2, 1, 40000, 5), (2, 1, 5000, 6),
                 (2, 2, 50000, 7);
             INSERT INTO rollups (series_id, ts, step_ms, n, total, lo, hi) VALUES
                 (1, -60000, 60000, 3, 6, 1, 3), (1, -120000, 60000, 2, 2, 1, 1),
                 (4, 0, 60000, 5, 5, 1, 1);",
        )
        .unwrap();
    }

    fn key(w: &str, m: &str) -> SeriesKey {
        SeriesKey::new(WorkloadId::new(w).unwrap(), MetricName::new(m).unwrap())
    }

    /// (metric, raw, rollups, rolled, first, last) of one series.
    type Row = (String, usize, usize, u64, Option<i64>, Option<i64>);

    /// Each series' [`Row`], by workload then metric.
    fn summary(store: &Store) -> Vec<Row> {
        store
            .workload_summaries()
            .unwrap()
            .into_iter()
            .flat_map(|w| w.series)
            .map(|s| {
                (
                    s.metric.to_string(),
                    s.samples,
                    s.rollups,
                    s.rolled_samples,
                    s.first.map(|t| t.0),
                    s.last.map(|t| t.0),
                )
            })
            .collect()
    }

    #[test]
    fn summaries_are_filled_from_the_data_of_an_older_file_and_kept_after() {
        for version in [5, 6] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.db");
            old_file(&path, version);
            let mut store = Store::open(&path).unwrap();
            assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
            let m = |s: &str| s.to_string();
            assert_eq!(
                summary(&store),
                [
                    (m("cpu"), 0, 0, 0, None, None),
                    (m("mem"), 0, 1, 5, Some(0), Some(0)),
                    (m("cpu"), 5, 2, 5, Some(-120_000), Some(40_000)),
                    (m("mem"), 1, 0, 0, Some(50_000), Some(50_000)),
                ],
                "from schema {version}"
            );
            let listed: Vec<_> = store
                .list_series()
                .unwrap()
                .into_iter()
                .map(|i| (i.samples, i.first_ts.map(|t| t.0), i.last_ts.map(|t| t.0)))
                .collect();
            assert_eq!(
                listed,
                [
                    (0, None, None),
                    (0, None, None),
                    (5, Some(5_000), Some(40_000)),
                    (1, Some(50_000), Some(50_000)),
                ]
            );
            // Kept from here on: a repeat and a new time, a new series, a deleted one.
            let pt = |k: &SeriesKey, ts: i64| Point {
                key: k.clone(),
                labels: Labels::new(),
                sample: Sample {
                    ts: Timestamp(ts),
                    value: 1.0,
                },
            };
            let (cpu, new) = (key("web", "cpu"), key("web", "new"));
            store
                .append_points(&[pt(&cpu, 40_000), pt(&cpu, 60_000), pt(&new, 1_000)])
                .unwrap();
            assert!(store.delete_series(&key("db", "mem")).unwrap());
            let got = summary(&store);
            assert_eq!(got[1], (m("cpu"), 6, 2, 5, Some(-120_000), Some(60_000)));
            assert_eq!(got[3], (m("new"), 1, 0, 0, Some(1_000), Some(1_000)));
            let rows: i64 = store
                .conn
                .query_row("SELECT COUNT(*) FROM series_stats", [], |r| r.get(0))
                .unwrap();
            assert_eq!(rows, 4);
        }
    }
}

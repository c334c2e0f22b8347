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

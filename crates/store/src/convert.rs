//! Converting a store written before chunks (schema 8: one `samples` row per sample and a head of
//! rows) into chunks, in bounded transactions: each moves the oldest rows of `samples` (in series
//! and time order) into chunks and deletes exactly those rows, so an interrupted conversion leaves
//! every sample once, in a row or in a chunk, and the next open carries on. The last step drops the
//! old tables. Summaries do not change: the samples stay the same.

use crate::chunks;
use crate::error::{Context, StoreError};
use prescale_core::{Sample, Timestamp};
use rusqlite::{params, Connection, TransactionBehavior};

/// Rows moved per transaction.
pub(crate) const STEP_ROWS: usize = 200_000;

fn has_table(conn: &Connection, name: &str, context: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        params![name],
        |r| r.get(0),
    )
    .ctx(context)
}

/// Runs one conversion transaction of at most `rows` rows; `false` once nothing is left to convert.
pub(crate) fn step(conn: &mut Connection, rows: usize, context: &str) -> Result<bool, StoreError> {
    if !has_table(conn, "samples", context)? {
        return Ok(false);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(context)?;
    // Checked again under the write lock: another handle opening the same file (a read pool, a
    // second process) may have finished the conversion and dropped the table meanwhile.
    if !has_table(&tx, "samples", context)? {
        return Ok(false);
    }
    // The old head first: it holds at most one flush's worth of rows (262,144). The newest
    // generation wins for a time, and the head wins over `samples`.
    if has_table(&tx, "samples_head", context)? {
        tx.execute_batch(
            "INSERT INTO samples (series_id, ts, value)
             SELECT series_id, ts, value FROM
                 (SELECT series_id, ts, value, MAX(gen) FROM samples_head GROUP BY series_id, ts)
             WHERE series_id IN (SELECT id FROM series)
             ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value;
             DROP TABLE samples_head;
             DROP TABLE head_gens;",
        )
        .ctx(context)?;
    }
    let limit = i64::try_from(rows.max(1)).unwrap_or(i64::MAX);
    let taken: Vec<(i64, i64, f64)> = tx
        .prepare("SELECT series_id, ts, value FROM samples ORDER BY series_id, ts LIMIT ?1")
        .ctx(context)?
        .query_map(params![limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .ctx(context)?
        .collect::<Result<_, _>>()
        .ctx(context)?;
    let Some(&(last_id, last_ts, _)) = taken.last() else {
        tx.execute_batch("DROP TABLE samples").ctx(context)?;
        tx.commit().ctx(context)?;
        return Ok(false);
    };
    for run in taken.chunk_by(|a, b| a.0 == b.0) {
        let samples: Vec<Sample> = run
            .iter()
            .map(|&(_, ts, value)| Sample {
                ts: Timestamp(ts),
                value,
            })
            .collect();
        chunks::merge(&tx, run[0].0, &samples, &mut Default::default(), context)?;
    }
    tx.execute(
        "DELETE FROM samples WHERE series_id < ?1 OR (series_id = ?1 AND ts <= ?2)",
        params![last_id, last_ts],
    )
    .ctx(context)?;
    tx.commit().ctx(context)?;
    Ok(true)
}

/// Converts what is left, step after step.
pub(crate) fn finish(conn: &mut Connection, context: &str) -> Result<(), StoreError> {
    while step(conn, STEP_ROWS, context)? {}
    Ok(())
}

/// Brings the file at `path` to the current schema and runs at most `steps` conversion steps of
/// `rows` rows; `true` when the conversion is complete. For tests of interrupted conversions.
#[doc(hidden)]
pub fn convert_some(path: &std::path::Path, steps: usize, rows: usize) -> Result<bool, StoreError> {
    let name = path.display().to_string();
    let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: name.clone(),
        source,
    })?;
    crate::schema::migrate(&mut conn, &name)?;
    let context = format!("converting {name} to chunks");
    for _ in 0..steps {
        if !step(&mut conn, rows, &context)? {
            return Ok(true);
        }
    }
    Ok(!has_table(&conn, "samples", &context)?)
}

//! Per-series summaries kept on write (`series_stats`, schema 7), so that listings read one row a
//! series instead of scanning every sample.
//!
//! Raw: the number of distinct timestamps in chunks and their earliest and latest time; samples
//! still in the write-ahead log are added by readers from their head (`Added` per series), and
//! written here when the log is flushed into chunks (what the merge found new). Rollups: rows, the
//! raw samples they summarize (`SUM(n)`) and the earliest and latest step start. Upserts add what was
//! new; retention subtracts what it rolls up or expires, then reads the new spans with indexed
//! seeks, for the series it touched only. Series rows get an empty summary and lose it through
//! triggers (see the migration).

use crate::error::{Context, StoreError};
use rusqlite::{params, Connection};

/// Raw samples new to one series in one write: how many, and their earliest and latest time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Added {
    n: i64,
    span: Option<(i64, i64)>,
}

impl Added {
    /// `n` more new samples spanning `first..=last`.
    pub(crate) fn add(&mut self, n: u64, first: i64, last: i64) {
        self.n += i64::try_from(n).unwrap_or(i64::MAX);
        self.span = Some(match self.span {
            None => (first, last),
            Some((f, l)) => (f.min(first), l.max(last)),
        });
    }

    /// How many new samples.
    pub(crate) fn count(&self) -> u64 {
        u64::try_from(self.n).unwrap_or(0)
    }

    /// Adds them to the summary of series `id` (nothing when there are none).
    pub(crate) fn write(
        &self,
        conn: &Connection,
        id: i64,
        context: &str,
    ) -> Result<(), StoreError> {
        let Some((first, last)) = self.span else {
            return Ok(());
        };
        conn.prepare_cached(
            "UPDATE series_stats SET raw_n = raw_n + ?2,
                 raw_first = MIN(COALESCE(raw_first, ?3), ?3),
                 raw_last = MAX(COALESCE(raw_last, ?4), ?4)
             WHERE series_id = ?1",
        )
        .ctx(context)?
        .execute(params![id, self.n, first, last])
        .ctx(context)?;
        Ok(())
    }
}

/// A summary's raw count and span with the samples pending in the head (`pending` by series id).
pub(crate) fn with_pending(
    pending: &std::collections::HashMap<i64, Added>,
    id: i64,
    n: i64,
    first: Option<i64>,
    last: Option<i64>,
) -> (i64, Option<i64>, Option<i64>) {
    match pending.get(&id).and_then(|a| a.span.map(|s| (a.n, s))) {
        None => (n, first, last),
        Some((k, (f, l))) => (
            n + k,
            Some(first.map_or(f, |x| x.min(f))),
            Some(last.map_or(l, |x| x.max(l))),
        ),
    }
}

/// Series summaries updated by one statement in [`write_all`].
const PER_STATEMENT: usize = 64;

/// [`Added::write`] for many series: [`PER_STATEMENT`] of them a statement (a batch that carries one
/// sample of each of thousands of series pays one statement per 64 series, not per series), the
/// rest one a statement.
pub(crate) fn write_all(
    conn: &Connection,
    added: &[(i64, Added)],
    context: &str,
) -> Result<(), StoreError> {
    let rows: Vec<(i64, i64, i64, i64)> = added
        .iter()
        .filter_map(|&(id, a)| a.span.map(|(first, last)| (id, a.n, first, last)))
        .collect();
    let mut chunks = rows.chunks_exact(PER_STATEMENT);
    if chunks.len() > 0 {
        let mut stmt = conn.prepare_cached(&many_sql()).ctx(context)?;
        for chunk in &mut chunks {
            let values = chunk.iter().flat_map(|&(id, n, f, l)| [id, n, f, l]);
            stmt.execute(rusqlite::params_from_iter(values))
                .ctx(context)?;
        }
    }
    for &(id, n, first, last) in chunks.remainder() {
        let one = Added {
            n,
            span: Some((first, last)),
        };
        one.write(conn, id, context)?;
    }
    Ok(())
}

/// The statement of [`write_all`]: (series id, new samples, first, last) for each of
/// [`PER_STATEMENT`] series, joined to the summaries by rowid.
fn many_sql() -> String {
    let values = vec!["(?, ?, ?, ?)"; PER_STATEMENT].join(", ");
    format!(
        "UPDATE series_stats SET raw_n = raw_n + v.column2,
             raw_first = MIN(COALESCE(raw_first, v.column3), v.column3),
             raw_last = MAX(COALESCE(raw_last, v.column4), v.column4)
         FROM (VALUES {values}) AS v
         WHERE series_stats.series_id = v.column1"
    )
}

/// The live series of a retention group (?1, ?2: its smallest and largest id; one series: both).
macro_rules! group {
    () => {
        "series_id IN (SELECT id FROM series WHERE live = 1 AND id BETWEEN ?1 AND ?2)"
    };
}

/// Before the rollups below ?3 of a group are deleted: they leave the rollup and rolled counts.
const BEFORE_EXPIRY: &str = concat!(
    "UPDATE series_stats SET
         rollup_rows = rollup_rows - (SELECT COUNT(*) FROM rollups
                                      WHERE series_id = series_stats.series_id AND ts < ?3),
         rolled_n = rolled_n - (SELECT COALESCE(SUM(n), 0) FROM rollups
                                WHERE series_id = series_stats.series_id AND ts < ?3)
     WHERE ",
    group!(),
    " AND rollup_first < ?3"
);

/// After the rollups below ?3 of a group were deleted: the rollup span, read again with seeks.
const AFTER_EXPIRY: &str = concat!(
    "UPDATE series_stats SET
         rollup_first = (SELECT ts FROM rollups WHERE series_id = series_stats.series_id
                         ORDER BY ts LIMIT 1),
         rollup_last = (SELECT ts FROM rollups WHERE series_id = series_stats.series_id
                        ORDER BY ts DESC LIMIT 1)
     WHERE ",
    group!(),
    " AND rollup_first < ?3"
);

/// Live series `lo..=hi` (one series: `id..=id`) and a time bound, as retention handles them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    /// Rows strictly before this time are rolled up, or expired.
    pub(crate) below: i64,
}

/// After retention rolled `removed` raw samples of series `id` up (`new_rollups` rollup rows
/// created): the counts move and the spans are read again with seeks.
pub(crate) fn rolled_up(
    conn: &Connection,
    id: i64,
    removed: usize,
    new_rollups: usize,
    context: &str,
) -> Result<(), StoreError> {
    let (first, last) = match crate::chunks::span(conn, id, context)? {
        Some((f, l)) => (Some(f), Some(l)),
        None => (None, None),
    };
    conn.prepare_cached(
        "UPDATE series_stats SET raw_n = raw_n - ?2, rolled_n = rolled_n + ?2,
             rollup_rows = rollup_rows + ?3, raw_first = ?4, raw_last = ?5,
             rollup_first = (SELECT ts FROM rollups WHERE series_id = ?1 ORDER BY ts LIMIT 1),
             rollup_last = (SELECT ts FROM rollups WHERE series_id = ?1 ORDER BY ts DESC LIMIT 1)
         WHERE series_id = ?1",
    )
    .ctx(context)?
    .execute(params![id, removed as i64, new_rollups as i64, first, last])
    .ctx(context)?;
    Ok(())
}

/// Run before retention deletes the rollups of `g`.
pub(crate) fn before_expiry(conn: &Connection, g: Group, context: &str) -> Result<(), StoreError> {
    conn.prepare_cached(BEFORE_EXPIRY)
        .ctx(context)?
        .execute(params![g.lo, g.hi, g.below])
        .ctx(context)?;
    Ok(())
}

/// Run after the delete that [`before_expiry`] prepared.
pub(crate) fn after_expiry(conn: &Connection, g: Group, context: &str) -> Result<(), StoreError> {
    conn.prepare_cached(AFTER_EXPIRY)
        .ctx(context)?
        .execute(params![g.lo, g.hi, g.below])
        .ctx(context)?;
    Ok(())
}

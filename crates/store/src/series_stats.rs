//! Per-series summaries kept on write (`series_stats`, schema 7), so that listings read one row a
//! series instead of scanning every sample.
//!
//! Raw: the number of distinct timestamps in `samples` and the head together (a head row repeating
//! a stored time counts once) and their earliest and latest time. Rollups: rows, the raw samples they
//! summarize (`SUM(n)`) and the earliest and latest step start. Every path that adds or removes
//! samples or rollups updates them in its own transaction: appends and upserts add what was new
//! (one statement a series a write), flushes of the head move rows without changing the union, and
//! retention subtracts what it rolls up or expires before deleting it, then reads the new spans
//! with indexed seeks, for the series it touched only. Series rows get an empty summary and lose it
//! through triggers (see the migration).

use crate::error::{Context, StoreError};
use rusqlite::{params, Connection};

/// Raw samples new to one series in one write: how many, and their earliest and latest time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Added {
    n: i64,
    span: Option<(i64, i64)>,
}

impl Added {
    /// One more new sample at `ts`.
    pub(crate) fn push(&mut self, ts: i64) {
        self.n += 1;
        self.span = Some(match self.span {
            None => (ts, ts),
            Some((first, last)) => (first.min(ts), last.max(ts)),
        });
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

/// The step start of raw row `x` at step ?4 (as retention's roll-up computes it).
macro_rules! start {
    () => {
        "(x.ts - (((x.ts % ?4) + ?4) % ?4))"
    };
}

/// Before the raw rows below ?3 of a group are rolled up at step ?4 and deleted: they leave the raw
/// count (unless the head holds the same time, which stays), join the rolled count, and each step
/// with no rollup row yet becomes one.
const BEFORE_ROLL_UP: &str = concat!(
    "UPDATE series_stats SET
         raw_n = raw_n - (SELECT COUNT(*) FROM samples x
                          WHERE x.series_id = series_stats.series_id AND x.ts < ?3
                            AND NOT EXISTS (SELECT 1 FROM samples_head h
                                            WHERE h.gen IN (SELECT gen FROM head_gens)
                                              AND h.series_id = x.series_id AND h.ts = x.ts)),
         rolled_n = rolled_n + (SELECT COUNT(*) FROM samples x
                                WHERE x.series_id = series_stats.series_id AND x.ts < ?3),
         rollup_rows = rollup_rows + (SELECT COUNT(DISTINCT ",
    start!(),
    ") FROM samples x
                 WHERE x.series_id = series_stats.series_id AND x.ts < ?3
                   AND NOT EXISTS (SELECT 1 FROM rollups r
                                   WHERE r.series_id = x.series_id AND r.ts = ",
    start!(),
    "))
     WHERE ",
    group!(),
    " AND raw_first < ?3"
);

/// Seeks for the earliest (`ASC`) or latest (`DESC`) time of the summarized series in `samples`...
macro_rules! main_edge {
    ($dir:literal) => {
        concat!(
            "(SELECT ts FROM samples WHERE series_id = series_stats.series_id ORDER BY ts ",
            $dir,
            " LIMIT 1)"
        )
    };
}

/// ...and in the head (`MIN` or `MAX`; a few rows a generation).
macro_rules! head_edge {
    ($agg:literal) => {
        concat!(
            "(SELECT ",
            $agg,
            "(ts) FROM samples_head WHERE gen IN (SELECT gen FROM head_gens)
              AND series_id = series_stats.series_id)"
        )
    };
}

/// Of two possibly NULL values, the `MIN` or `MAX` (NULL when both are).
macro_rules! either {
    ($agg:literal, $a:expr, $b:expr) => {
        concat!(
            $agg,
            "(COALESCE(",
            $a,
            ", ",
            $b,
            "), COALESCE(",
            $b,
            ", ",
            $a,
            "))"
        )
    };
}

/// After the raw rows below ?3 of a group were rolled up and deleted: the raw and rollup spans of
/// the series that had any, read again with seeks.
const AFTER_ROLL_UP: &str = concat!(
    "UPDATE series_stats SET raw_first = ",
    either!("MIN", main_edge!("ASC"), head_edge!("MIN")),
    ", raw_last = ",
    either!("MAX", main_edge!("DESC"), head_edge!("MAX")),
    ", rollup_first = (SELECT ts FROM rollups WHERE series_id = series_stats.series_id
                       ORDER BY ts LIMIT 1),
       rollup_last = (SELECT ts FROM rollups WHERE series_id = series_stats.series_id
                      ORDER BY ts DESC LIMIT 1)
     WHERE ",
    group!(),
    " AND raw_first < ?3"
);

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

/// Run before retention rolls up the raw rows of `g` at `step` and deletes them.
pub(crate) fn before_roll_up(
    conn: &Connection,
    g: Group,
    step: i64,
    context: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(BEFORE_ROLL_UP)
        .ctx(context)?
        .execute(params![g.lo, g.hi, g.below, step])
        .ctx(context)?;
    Ok(())
}

/// Run after the roll-up and delete that [`before_roll_up`] prepared.
pub(crate) fn after_roll_up(conn: &Connection, g: Group, context: &str) -> Result<(), StoreError> {
    conn.prepare_cached(AFTER_ROLL_UP)
        .ctx(context)?
        .execute(params![g.lo, g.hi, g.below])
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

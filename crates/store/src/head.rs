//! The head: recent live appends, kept apart from `samples` until a flush moves them in.
//!
//! `samples` is clustered by (series, ts), so a batch that carries one sample for each of S series
//! dirties S pages, and every commit writes all of them to the WAL: about one 4 KiB page per sample
//! for scrape-shaped batches. The head is clustered by (generation, series, ts) instead. A generation
//! is one append batch, or several small consecutive ones until it holds `GEN_ROWS` rows, so an
//! append writes one contiguous key range at the right edge of the tree: a few pages per thousand
//! samples. A flush moves the whole head into `samples` in one statement sorted by (series, ts),
//! touching each series' last page once for many samples, then empties the head.
//!
//! Reads merge `samples` with the head of the series (one indexed seek per generation, at most
//! `MAX_GENS`); for one (series, ts) the newest generation wins, and the head wins over `samples`.

use crate::error::{Context, StoreError};
use crate::open::Store;
use prescale_core::{Sample, Timestamp};
use rusqlite::{params, Connection};

/// A generation takes further small batches until it holds this many rows.
pub(crate) const GEN_ROWS: usize = 4096;
/// The head is flushed before an append once it holds this many rows...
pub(crate) const FLUSH_ROWS: usize = 262_144;
/// ...or this many generations (each read of a series seeks once per generation).
pub(crate) const MAX_GENS: usize = 64;

/// What the head holds, as known to this handle (reloaded whenever another connection commits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HeadState {
    /// Rows written to the head since its last flush (repeats included, so an upper bound).
    pub(crate) rows: usize,
    pub(crate) gens: usize,
    /// The newest generation and its rows.
    pub(crate) last_gen: Option<(i64, usize)>,
}

impl HeadState {
    pub(crate) fn needs_flush(&self) -> bool {
        self.rows >= FLUSH_ROWS || self.gens >= MAX_GENS
    }
}

pub(crate) fn load_state(conn: &Connection, context: &str) -> Result<HeadState, StoreError> {
    let (rows, gens): (i64, i64) = conn
        .prepare_cached("SELECT COALESCE(SUM(rows), 0), COUNT(*) FROM head_gens")
        .ctx(context)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx(context)?;
    let last: Option<(i64, i64)> = conn
        .prepare_cached("SELECT gen, rows FROM head_gens ORDER BY gen DESC LIMIT 1")
        .ctx(context)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx(context)?
        .next()
        .transpose()
        .ctx(context)?;
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    Ok(HeadState {
        rows: count(rows),
        gens: count(gens),
        last_gen: last.map(|(g, n)| (g, count(n))),
    })
}

/// Moves every head row into `samples` (newest generation winning) and empties the head; the number
/// of head rows moved. Runs inside the caller's transaction.
pub(crate) fn flush(conn: &Connection, context: &str) -> Result<usize, StoreError> {
    // With MAX(gen), SQLite takes the bare `value` from the row holding the maximum. Rows of a
    // series deleted meanwhile (there is no foreign key on the head) are dropped, not moved.
    let moved = conn
        .prepare_cached(
            "INSERT INTO samples (series_id, ts, value)
             SELECT series_id, ts, value FROM
                 (SELECT series_id, ts, value, MAX(gen) FROM samples_head GROUP BY series_id, ts)
             WHERE series_id IN (SELECT id FROM series)
             ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value",
        )
        .ctx(context)?
        .execute([])
        .ctx(context)?;
    conn.prepare_cached("DELETE FROM samples_head")
        .ctx(context)?
        .execute([])
        .ctx(context)?;
    conn.prepare_cached("DELETE FROM head_gens")
        .ctx(context)?
        .execute([])
        .ctx(context)?;
    Ok(moved)
}

/// Moves the head rows of one series into `samples` and deletes them from the head.
pub(crate) fn flush_series(conn: &Connection, id: i64, context: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO samples (series_id, ts, value)
         SELECT series_id, ts, value FROM
             (SELECT series_id, ts, value, MAX(gen) FROM samples_head
              WHERE gen IN (SELECT gen FROM head_gens) AND series_id = ?1 GROUP BY ts)
         WHERE true
         ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value",
    )
    .ctx(context)?
    .execute(params![id])
    .ctx(context)?;
    delete_series(conn, id, context)
}

/// Deletes the head rows of one series.
pub(crate) fn delete_series(conn: &Connection, id: i64, context: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM samples_head WHERE gen IN (SELECT gen FROM head_gens) AND series_id = ?1",
    )
    .ctx(context)?
    .execute(params![id])
    .ctx(context)?;
    Ok(())
}

/// The latest time stored for a series, in `samples` or the head.
pub(crate) fn max_ts(conn: &Connection, id: i64, context: &str) -> Result<Option<i64>, StoreError> {
    let main: Option<i64> = conn
        .prepare_cached("SELECT MAX(ts) FROM samples WHERE series_id = ?1")
        .ctx(context)?
        .query_row(params![id], |r| r.get(0))
        .ctx(context)?;
    let head: Option<i64> = conn
        .prepare_cached(
            "SELECT MAX(ts) FROM samples_head
             WHERE gen IN (SELECT gen FROM head_gens) AND series_id = ?1",
        )
        .ctx(context)?
        .query_row(params![id], |r| r.get(0))
        .ctx(context)?;
    Ok(main.max(head))
}

/// Whether (series, ts) is stored, in `samples` or the head.
pub(crate) fn contains(
    conn: &Connection,
    id: i64,
    ts: i64,
    context: &str,
) -> Result<bool, StoreError> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM samples WHERE series_id = ?1 AND ts = ?2)
             OR EXISTS (SELECT 1 FROM samples_head
                        WHERE gen IN (SELECT gen FROM head_gens) AND series_id = ?1 AND ts = ?2)",
    )
    .ctx(context)?
    .query_row(params![id, ts], |r| r.get(0))
    .ctx(context)
}

/// The stored times of a series with `from <= ts <= to`, in `samples` or the head, sorted, unique.
pub(crate) fn stored_times(
    conn: &Connection,
    id: i64,
    from: i64,
    to: i64,
    context: &str,
) -> Result<Vec<i64>, StoreError> {
    let mut times = Vec::new();
    for sql in [
        "SELECT ts FROM samples WHERE series_id = ?1 AND ts BETWEEN ?2 AND ?3",
        "SELECT ts FROM samples_head
         WHERE gen IN (SELECT gen FROM head_gens) AND series_id = ?1 AND ts BETWEEN ?2 AND ?3",
    ] {
        let mut stmt = conn.prepare_cached(sql).ctx(context)?;
        let rows = stmt
            .query_map(params![id, from, to], |r| r.get::<_, i64>(0))
            .ctx(context)?;
        for ts in rows {
            times.push(ts.ctx(context)?);
        }
    }
    times.sort_unstable();
    times.dedup();
    Ok(times)
}

/// The raw samples of a series with `from <= ts <= to`: `samples` overlaid with the head.
pub(crate) fn raw_range(
    conn: &Connection,
    id: i64,
    from: i64,
    to: i64,
    context: &str,
) -> Result<Vec<Sample>, StoreError> {
    let main = conn
        .prepare_cached(
            "SELECT ts, value FROM samples WHERE series_id = ?1 AND ts BETWEEN ?2 AND ?3
             ORDER BY ts",
        )
        .ctx(context)?
        .query_map(params![id, from, to], |r| {
            Ok(Sample {
                ts: Timestamp(r.get(0)?),
                value: r.get(1)?,
            })
        })
        .ctx(context)?
        .collect::<Result<Vec<_>, _>>()
        .ctx(context)?;
    let mut head = head_rows(conn, id, from, to, context)?;
    if head.is_empty() {
        return Ok(main);
    }
    head.sort_by_key(|&(ts, gen, _)| (ts, gen));
    Ok(overlay(&main, &head))
}

/// The last `n` raw samples of a series with `ts <= to`: the last `n` rows of `samples` overlaid
/// with every head row of the series up to `to`, cut to the last `n`. Exact: a main row among the
/// last `n` of the merged times is among the last `n` main rows, and the head rows are all there
/// (a head row of any age may repeat a time of those main rows, and must win over it).
pub(crate) fn raw_tail(
    conn: &Connection,
    id: i64,
    to: i64,
    n: usize,
    context: &str,
) -> Result<Vec<Sample>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(n).unwrap_or(i64::MAX);
    let mut main = conn
        .prepare_cached(
            "SELECT ts, value FROM samples WHERE series_id = ?1 AND ts <= ?2
             ORDER BY ts DESC LIMIT ?3",
        )
        .ctx(context)?
        .query_map(params![id, to, limit], |r| {
            Ok(Sample {
                ts: Timestamp(r.get(0)?),
                value: r.get(1)?,
            })
        })
        .ctx(context)?
        .collect::<Result<Vec<_>, _>>()
        .ctx(context)?;
    main.reverse();
    let mut head = head_rows(conn, id, i64::MIN, to, context)?;
    let mut out = if head.is_empty() {
        main
    } else {
        head.sort_by_key(|&(ts, gen, _)| (ts, gen));
        overlay(&main, &head)
    };
    let cut = out.len().saturating_sub(n);
    out.drain(..cut);
    Ok(out)
}

/// The head rows (ts, gen, value) of a series with `from <= ts <= to`, unsorted.
fn head_rows(
    conn: &Connection,
    id: i64,
    from: i64,
    to: i64,
    context: &str,
) -> Result<Vec<(i64, i64, f64)>, StoreError> {
    conn.prepare_cached(
        "SELECT ts, gen, value FROM samples_head
         WHERE gen IN (SELECT gen FROM head_gens) AND series_id = ?1 AND ts BETWEEN ?2 AND ?3",
    )
    .ctx(context)?
    .query_map(params![id, from, to], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .ctx(context)?
    .collect::<Result<Vec<_>, _>>()
    .ctx(context)
}

/// Merges time-ordered `main` samples with head rows sorted by (ts, gen): for one timestamp the last
/// head row wins over earlier ones and over `main`.
fn overlay(main: &[Sample], head: &[(i64, i64, f64)]) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::with_capacity(main.len() + head.len());
    let (mut i, mut j) = (0, 0);
    loop {
        let next = match (main.get(i), head.get(j)) {
            (None, None) => break,
            (Some(s), Some(&(ts, _, _))) if s.ts.0 < ts => {
                i += 1;
                *s
            }
            // The head holds a newer value for this time.
            (Some(s), Some(&(ts, _, _))) if s.ts.0 == ts => {
                i += 1;
                continue;
            }
            (Some(s), None) => {
                i += 1;
                *s
            }
            (_, Some(&(ts, _, value))) => {
                j += 1;
                Sample {
                    ts: Timestamp(ts),
                    value,
                }
            }
        };
        match out.last_mut() {
            // A later head row (newer generation) for the same time replaces the earlier one.
            Some(last) if last.ts == next.ts => *last = next,
            _ => out.push(next),
        }
    }
    out
}

impl Store {
    /// Moves the head (recent appends) into the main samples table now, in one transaction; the
    /// number of head rows moved. Appends and retention flush by themselves; call this before
    /// reading the file with other tools, or when idle.
    pub fn flush_head(&mut self) -> Result<usize, StoreError> {
        let context = format!("flushing the head of {}", self.path);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx(&context)?;
        let moved = flush(&tx, &context)?;
        tx.commit().ctx(&context)?;
        self.cache.head_flushed();
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts: i64, value: f64) -> Sample {
        Sample {
            ts: Timestamp(ts),
            value,
        }
    }

    #[test]
    fn head_rows_win_and_the_newest_generation_wins() {
        let main = [s(0, 1.0), s(10, 2.0), s(20, 3.0), s(30, 4.0)];
        let head = [(5, 1, 9.0), (10, 1, 8.0), (10, 3, 7.0), (30, 2, 6.0)];
        assert_eq!(
            overlay(&main, &head),
            [s(0, 1.0), s(5, 9.0), s(10, 7.0), s(20, 3.0), s(30, 6.0)]
        );
        assert_eq!(overlay(&main, &[]), main);
        assert_eq!(overlay(&main[..1], &[(0, 1, 5.0)]), [s(0, 5.0)]);
        assert_eq!(overlay(&[], &head[..2]), [s(5, 9.0), s(10, 8.0)]);
    }
}

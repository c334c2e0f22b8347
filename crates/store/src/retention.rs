//! Retention and downsampling: raw samples older than `raw_for` become per-step rollups
//! (count, sum, min, max) and are deleted; rollups older than `rollup_for` are deleted.
//!
//! The work is cut into bounded transactions of at most `max_rows_per_transaction` rows (raw rows
//! rolled up plus rollups deleted plus one per series visited). Live series are visited in id order,
//! in groups of 512. A group whose work fits in a transaction (counted first with `LIMIT`ed
//! probes: the steady state) is done with a handful of set-based statements. Otherwise (a backlog)
//! its series are done one at a time, the raw rows of a series taken oldest first, at most the
//! remaining budget at a time (the bound is found with an indexed `LIMIT 1 OFFSET budget` probe, so a
//! chunk may end in the middle of a step). Each transaction rolls up a set of raw rows *and* deletes exactly those
//! rows, so every committed state counts each sample once, raw or in a rollup, never both or neither;
//! a step split across two transactions is merged into the same rollup row (counts and sums add,
//! min of mins, max of maxes). A kill -9 between chunks leaves a consistent file and the next run
//! carries on where this one stopped.

use crate::error::{invalid, Context, StoreError};
use crate::head;
use crate::open::Store;
use crate::series_stats::{self, Group};
use prescale_core::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use std::time::Duration;

/// How long raw samples and their rollups are kept, and the rollup step.
///
/// Retention applies to live series, the ones written by `append_points`; series saved whole with
/// `upsert_series` (imported traces, experiments) are never downsampled or deleted by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Raw samples are kept at least this long (up to one step longer: the cut is aligned down to a
    /// step boundary so that whole steps are rolled up at once).
    pub raw_for: Duration,
    /// Rollups whose step starts more than this long ago are deleted; `None` keeps them forever.
    pub rollup_for: Option<Duration>,
    /// The rollup step (default 60 s); steps start at multiples of it since the Unix epoch.
    pub rollup_step: Duration,
    /// Rows (raw rolled up, or rollups deleted) handled per transaction, so that a large backlog is
    /// worked off in many short transactions instead of one that holds the write lock for long.
    pub max_rows_per_transaction: usize,
}

impl Default for Retention {
    /// One day of raw samples, two weeks of 1-minute rollups (two weekly cycles; about 55 bytes of
    /// file per rollup, so 1.1 MB per series), 50,000 rows per transaction.
    fn default() -> Self {
        Retention {
            raw_for: Duration::from_secs(24 * 3600),
            rollup_for: Some(Duration::from_secs(14 * 24 * 3600)),
            rollup_step: Duration::from_secs(60),
            max_rows_per_transaction: 50_000,
        }
    }
}

/// The longest rollup step accepted (one day).
const MAX_STEP: Duration = Duration::from_secs(24 * 3600);

/// What one `apply_retention` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionStats {
    /// Head rows (recent appends) moved into the main samples table first.
    pub flushed: usize,
    /// Raw samples folded into rollups and deleted.
    pub raw_rolled_up: usize,
    /// Rollup rows created or merged into.
    pub rollups_written: usize,
    /// Rollup rows deleted for being older than `rollup_for`.
    pub rollups_deleted: usize,
    /// Live series rows removed because nothing of them was left.
    pub series_dropped: usize,
    /// Transactions committed.
    pub transactions: usize,
}

/// A validated retention, in milliseconds, for one `now`.
#[derive(Debug, Clone, Copy)]
struct Plan {
    step: i64,
    raw_cutoff: i64,
    rollup_cutoff: Option<i64>,
    max_rows: usize,
}

fn millis(context: &str, what: &str, d: Duration) -> Result<i64, StoreError> {
    i64::try_from(d.as_millis()).map_err(|_| {
        invalid(
            context,
            format!("{what} {d:?} does not fit in 64-bit milliseconds"),
        )
    })
}

impl Retention {
    /// Checks the settings: 1 s ≤ rollup_step ≤ 1 day in whole milliseconds, raw_for ≥ rollup_step,
    /// rollup_for (when set) longer than raw_for, at least one row per transaction.
    pub fn validate(&self) -> Result<(), StoreError> {
        self.checked("checking retention").map(|_| ())
    }

    fn checked(&self, context: &str) -> Result<(i64, i64, Option<i64>), StoreError> {
        let step = millis(context, "rollup_step", self.rollup_step)?;
        if self.rollup_step < Duration::from_secs(1) || self.rollup_step > MAX_STEP {
            return Err(invalid(
                context,
                format!("rollup_step {:?} is outside 1s..=1d", self.rollup_step),
            ));
        }
        if !self.rollup_step.subsec_nanos().is_multiple_of(1_000_000) {
            return Err(invalid(
                context,
                format!(
                    "rollup_step {:?} is not a whole number of milliseconds",
                    self.rollup_step
                ),
            ));
        }
        let raw = millis(context, "raw_for", self.raw_for)?;
        if self.raw_for < self.rollup_step {
            return Err(invalid(
                context,
                format!(
                    "raw_for {:?} is shorter than rollup_step {:?}",
                    self.raw_for, self.rollup_step
                ),
            ));
        }
        let rollup = match self.rollup_for {
            None => None,
            Some(d) => {
                if d <= self.raw_for {
                    return Err(invalid(
                        context,
                        format!(
                            "rollup_for {d:?} must be longer than raw_for {:?}",
                            self.raw_for
                        ),
                    ));
                }
                Some(millis(context, "rollup_for", d)?)
            }
        };
        if self.max_rows_per_transaction == 0 {
            return Err(invalid(
                context,
                "max_rows_per_transaction must be at least 1",
            ));
        }
        Ok((step, raw, rollup))
    }

    fn plan(&self, now: Timestamp, context: &str) -> Result<Plan, StoreError> {
        let (step, raw, rollup) = self.checked(context)?;
        let raw_cut = now.0.saturating_sub(raw);
        Ok(Plan {
            step,
            raw_cutoff: raw_cut.saturating_sub(raw_cut.rem_euclid(step)),
            rollup_cutoff: rollup.map(|r| now.0.saturating_sub(r)),
            max_rows: self.max_rows_per_transaction,
        })
    }
}

/// The step start of each raw row (floor to a multiple of the step, negative times included).
const ROLL_UP: &str = "
INSERT INTO rollups (series_id, ts, step_ms, n, total, lo, hi)
SELECT ?1, ts - (((ts % ?3) + ?3) % ?3) AS start, ?3, COUNT(*), SUM(value), MIN(value), MAX(value)
FROM samples WHERE series_id = ?1 AND ts < ?2
GROUP BY start
ON CONFLICT (series_id, ts) DO UPDATE SET
    n = n + excluded.n,
    total = total + excluded.total,
    lo = MIN(lo, excluded.lo),
    hi = MAX(hi, excluded.hi),
    step_ms = MAX(step_ms, excluded.step_ms)";

const RAW_BOUND: &str =
    "SELECT ts FROM samples WHERE series_id = ?1 AND ts < ?2 ORDER BY ts LIMIT 1 OFFSET ?3";
const RAW_DELETE: &str = "DELETE FROM samples WHERE series_id = ?1 AND ts < ?2";
const ROLLUP_BOUND: &str =
    "SELECT ts FROM rollups WHERE series_id = ?1 AND ts < ?2 ORDER BY ts LIMIT 1 OFFSET ?3";
const ROLLUP_DELETE: &str = "DELETE FROM rollups WHERE series_id = ?1 AND ts < ?2";
// The head was flushed at the start, but another connection may have appended since.
const DROP_EMPTY: &str = "
DELETE FROM series WHERE id = ?1
  AND NOT EXISTS (SELECT 1 FROM samples WHERE series_id = ?1)
  AND NOT EXISTS (SELECT 1 FROM rollups WHERE series_id = ?1)
  AND NOT EXISTS (SELECT 1 FROM samples_head
                  WHERE gen IN (SELECT gen FROM head_gens) AND series_id = ?1)";

/// One open write transaction with a row budget; commits and begins the next when it is spent.
struct Chunk<'c> {
    conn: &'c Connection,
    budget: usize,
    max: usize,
    context: &'c str,
}

impl<'c> Chunk<'c> {
    fn begin(
        conn: &'c Connection,
        max: usize,
        context: &'c str,
        stats: &mut RetentionStats,
    ) -> Result<Self, StoreError> {
        conn.execute_batch("BEGIN IMMEDIATE").ctx(context)?;
        stats.transactions += 1;
        Ok(Chunk {
            conn,
            budget: max,
            max,
            context,
        })
    }

    fn spend(&mut self, rows: usize, stats: &mut RetentionStats) -> Result<(), StoreError> {
        self.budget = self.budget.saturating_sub(rows);
        if self.budget == 0 {
            self.next(stats)?;
        }
        Ok(())
    }

    /// Commits this transaction and begins the next with a full budget.
    fn next(&mut self, stats: &mut RetentionStats) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").ctx(self.context)?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .ctx(self.context)?;
        stats.transactions += 1;
        self.budget = self.max;
        Ok(())
    }

    fn commit(self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").ctx(self.context)
    }
}

/// The exclusive upper bound of the next piece of `table` rows below `cutoff` for one series: the
/// timestamp of the row just past the budget, or `cutoff` when fewer rows remain; `true` when the
/// budget bounded it.
fn bounded_upper(
    conn: &Connection,
    probe: &str,
    id: i64,
    cutoff: i64,
    budget: usize,
    context: &str,
) -> Result<(i64, bool), StoreError> {
    let offset = i64::try_from(budget).unwrap_or(i64::MAX);
    let next: Option<i64> = conn
        .prepare_cached(probe)
        .ctx(context)?
        .query_row(params![id, cutoff, offset], |r| r.get(0))
        .optional()
        .ctx(context)?;
    Ok(match next {
        Some(ts) => (ts, true),
        None => (cutoff, false),
    })
}

/// Series handled together by the set-based path.
const GROUP: usize = 512;

/// The live series of one group, for `IN` (?1, ?2: the group's smallest and largest id).
macro_rules! group_ids {
    () => {
        "(SELECT id FROM series WHERE live = 1 AND id BETWEEN ?1 AND ?2)"
    };
}

const RAW_COUNT_GROUP: &str = concat!(
    "SELECT COUNT(*) FROM (SELECT 1 FROM samples WHERE series_id IN ",
    group_ids!(),
    " AND ts < ?3 LIMIT ?4)"
);
const ROLLUP_COUNT_GROUP: &str = concat!(
    "SELECT COUNT(*) FROM (SELECT 1 FROM rollups WHERE series_id IN ",
    group_ids!(),
    " AND ts < ?3 LIMIT ?4)"
);
const ROLL_UP_GROUP: &str = concat!(
    "INSERT INTO rollups (series_id, ts, step_ms, n, total, lo, hi)
     SELECT series_id, ts - (((ts % ?4) + ?4) % ?4) AS start, ?4,
            COUNT(*), SUM(value), MIN(value), MAX(value)
     FROM samples WHERE series_id IN ",
    group_ids!(),
    " AND ts < ?3
     GROUP BY series_id, start
     ON CONFLICT (series_id, ts) DO UPDATE SET
         n = n + excluded.n,
         total = total + excluded.total,
         lo = MIN(lo, excluded.lo),
         hi = MAX(hi, excluded.hi),
         step_ms = MAX(step_ms, excluded.step_ms)"
);
const RAW_DELETE_GROUP: &str = concat!(
    "DELETE FROM samples WHERE series_id IN ",
    group_ids!(),
    " AND ts < ?3"
);
const ROLLUP_DELETE_GROUP: &str = concat!(
    "DELETE FROM rollups WHERE series_id IN ",
    group_ids!(),
    " AND ts < ?3"
);
const DROP_EMPTY_GROUP: &str = "
DELETE FROM series WHERE live = 1 AND id BETWEEN ?1 AND ?2
  AND NOT EXISTS (SELECT 1 FROM samples WHERE series_id = series.id)
  AND NOT EXISTS (SELECT 1 FROM rollups WHERE series_id = series.id)
  AND NOT EXISTS (SELECT 1 FROM samples_head
                  WHERE gen IN (SELECT gen FROM head_gens) AND series_id = series.id)";

/// Rows below `cutoff` in a group, counting no further than `limit`.
fn count_group(
    conn: &Connection,
    sql: &str,
    (lo, hi): (i64, i64),
    cutoff: i64,
    limit: usize,
    context: &str,
) -> Result<usize, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let n: i64 = conn
        .prepare_cached(sql)
        .ctx(context)?
        .query_row(params![lo, hi, cutoff, limit], |r| r.get(0))
        .ctx(context)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The steady-state path: a group of series whose work fits in one transaction is handled with a
/// few set-based statements. `false` (nothing done) when it does not fit.
fn run_group(
    conn: &Connection,
    plan: &Plan,
    group: (i64, i64, usize),
    chunk: &mut Chunk<'_>,
    stats: &mut RetentionStats,
    context: &str,
) -> Result<bool, StoreError> {
    let (lo, hi, series) = group;
    let count = |sql: &str, cutoff: i64| {
        count_group(conn, sql, (lo, hi), cutoff, plan.max_rows + 1, context)
    };
    let raw = count(RAW_COUNT_GROUP, plan.raw_cutoff)?;
    let expired = match plan.rollup_cutoff {
        Some(cutoff) => count(ROLLUP_COUNT_GROUP, cutoff)?,
        None => 0,
    };
    let work = raw + expired + series;
    if work > plan.max_rows {
        return Ok(false);
    }
    if work > chunk.budget {
        chunk.next(stats)?;
    }
    if raw > 0 {
        let g = Group {
            lo,
            hi,
            below: plan.raw_cutoff,
        };
        series_stats::before_roll_up(conn, g, plan.step, context)?;
        stats.rollups_written += conn
            .prepare_cached(ROLL_UP_GROUP)
            .ctx(context)?
            .execute(params![lo, hi, plan.raw_cutoff, plan.step])
            .ctx(context)?;
        stats.raw_rolled_up += conn
            .prepare_cached(RAW_DELETE_GROUP)
            .ctx(context)?
            .execute(params![lo, hi, plan.raw_cutoff])
            .ctx(context)?;
        series_stats::after_roll_up(conn, g, context)?;
    }
    if let Some(cutoff) = plan.rollup_cutoff {
        // Late samples rolled up just now may themselves be past the rollup horizon.
        let g = Group {
            lo,
            hi,
            below: cutoff,
        };
        series_stats::before_expiry(conn, g, context)?;
        stats.rollups_deleted += conn
            .prepare_cached(ROLLUP_DELETE_GROUP)
            .ctx(context)?
            .execute(params![lo, hi, cutoff])
            .ctx(context)?;
        series_stats::after_expiry(conn, g, context)?;
        stats.series_dropped += conn
            .prepare_cached(DROP_EMPTY_GROUP)
            .ctx(context)?
            .execute(params![lo, hi])
            .ctx(context)?;
    }
    chunk.spend(work, stats)?;
    Ok(true)
}

/// The backlog path: one series, its rows taken oldest first at most a budget per transaction.
fn run_series(
    conn: &Connection,
    plan: &Plan,
    id: i64,
    chunk: &mut Chunk<'_>,
    stats: &mut RetentionStats,
    context: &str,
) -> Result<(), StoreError> {
    loop {
        let (upper, full) =
            bounded_upper(conn, RAW_BOUND, id, plan.raw_cutoff, chunk.budget, context)?;
        let g = Group {
            lo: id,
            hi: id,
            below: upper,
        };
        series_stats::before_roll_up(conn, g, plan.step, context)?;
        let written = conn
            .prepare_cached(ROLL_UP)
            .ctx(context)?
            .execute(params![id, upper, plan.step])
            .ctx(context)?;
        if written == 0 {
            break;
        }
        let deleted = conn
            .prepare_cached(RAW_DELETE)
            .ctx(context)?
            .execute(params![id, upper])
            .ctx(context)?;
        series_stats::after_roll_up(conn, g, context)?;
        stats.rollups_written += written;
        stats.raw_rolled_up += deleted;
        chunk.spend(deleted, stats)?;
        if !full {
            break;
        }
    }
    if let Some(cutoff) = plan.rollup_cutoff {
        loop {
            let (upper, full) =
                bounded_upper(conn, ROLLUP_BOUND, id, cutoff, chunk.budget, context)?;
            let g = Group {
                lo: id,
                hi: id,
                below: upper,
            };
            series_stats::before_expiry(conn, g, context)?;
            let deleted = conn
                .prepare_cached(ROLLUP_DELETE)
                .ctx(context)?
                .execute(params![id, upper])
                .ctx(context)?;
            series_stats::after_expiry(conn, g, context)?;
            stats.rollups_deleted += deleted;
            chunk.spend(deleted, stats)?;
            if !full {
                break;
            }
        }
        stats.series_dropped += conn
            .prepare_cached(DROP_EMPTY)
            .ctx(context)?
            .execute(params![id])
            .ctx(context)?;
    }
    // Visiting a series costs a few statements even when it has nothing to do.
    chunk.spend(1, stats)
}

fn run(
    conn: &Connection,
    plan: &Plan,
    ids: &[i64],
    stats: &mut RetentionStats,
    context: &str,
) -> Result<(), StoreError> {
    let mut chunk = Chunk::begin(conn, plan.max_rows, context, stats)?;
    // Recent appends join the main table first, in the first transaction.
    stats.flushed = head::flush(conn, context)?;
    for group in ids.chunks(GROUP) {
        let (Some(&lo), Some(&hi)) = (group.first(), group.last()) else {
            continue;
        };
        if !run_group(
            conn,
            plan,
            (lo, hi, group.len()),
            &mut chunk,
            stats,
            context,
        )? {
            for &id in group {
                run_series(conn, plan, id, &mut chunk, stats, context)?;
            }
        }
    }
    chunk.commit()
}

impl Store {
    /// Applies `retention` as of `now` to every live series: raw samples older than the cut
    /// (`now - raw_for`, aligned down to a step start) are aggregated into per-step rollups, merged
    /// with any rollup row already there for a step (late samples, or a step split across chunks),
    /// and deleted; then rollups older than `now - rollup_for` are deleted, and live series left with
    /// nothing are removed. Runs in bounded transactions (see the module notes): if one fails, the
    /// ones before it stay committed, each consistent. Running it twice with the same `now` changes
    /// nothing the second time.
    pub fn apply_retention(
        &mut self,
        retention: &Retention,
        now: Timestamp,
    ) -> Result<RetentionStats, StoreError> {
        let context = format!("applying retention at {now}");
        let plan = retention.plan(now, &context)?;
        let ids: Vec<i64> = self
            .conn
            .prepare_cached("SELECT id FROM series WHERE live = 1 ORDER BY id")
            .ctx(&context)?
            .query_map([], |r| r.get(0))
            .ctx(&context)?
            .collect::<Result<_, _>>()
            .ctx(&context)?;
        let mut stats = RetentionStats::default();
        let result = run(&self.conn, &plan, &ids, &mut stats, &context);
        if result.is_err() && !self.conn.is_autocommit() {
            // Best effort: the error being returned is the one that matters.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if stats.series_dropped > 0 || result.is_err() {
            self.cache.clear();
        } else {
            self.cache.head_flushed();
        }
        result.map(|()| stats)
    }
}

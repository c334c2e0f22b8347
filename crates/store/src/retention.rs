//! Retention and downsampling: raw samples older than `raw_for` become per-step rollups
//! (count, sum, min, max) and are deleted; rollups older than `rollup_for` are deleted.
//!
//! The work is cut into bounded transactions of about `max_rows_per_transaction` rows (raw samples
//! rolled up plus rollups deleted plus one per series visited); each starts by flushing the
//! write-ahead log into chunks. Live series are visited in id order. Raw samples are taken a whole
//! chunk at a time, oldest first (so a transaction may exceed the budget by up to one chunk of
//! 1024 samples); the samples of the taken chunks below the cut are folded into rollups and the rest
//! written back as a chunk, in the transaction that deletes the taken chunks, so every committed
//! state counts each sample once, raw or in a rollup, never both or neither; a step split across two
//! transactions is merged into the same rollup row (counts and sums add, min of mins, max of maxes).
//! A kill -9 between transactions leaves a consistent file and the next run carries on where this
//! one stopped.

use crate::chunks;
use crate::error::{invalid, Context, StoreError};
use crate::head::Head;
use crate::open::Store;
use crate::series_stats::{self, Group};
use prescale_core::{Sample, Timestamp};
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

const ROLLUP_BOUND: &str =
    "SELECT ts FROM rollups WHERE series_id = ?1 AND ts < ?2 ORDER BY ts LIMIT 1 OFFSET ?3";
const ROLLUP_DELETE: &str = "DELETE FROM rollups WHERE series_id = ?1 AND ts < ?2";
/// The log is flushed at the start of every transaction, so no head sample is left for the series.
const DROP_EMPTY: &str = "
DELETE FROM series WHERE id = ?1
  AND NOT EXISTS (SELECT 1 FROM chunks WHERE series_id = ?1)
  AND NOT EXISTS (SELECT 1 FROM rollups WHERE series_id = ?1)";
const OLD_CHUNKS: &str = "
SELECT start_ts, end_ts, n, data FROM chunks WHERE series_id = ?1 AND start_ts < ?2
ORDER BY start_ts";
const ROLLUP_NEW: &str = "
INSERT OR IGNORE INTO rollups (series_id, ts, step_ms, n, total, lo, hi)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const ROLLUP_MERGE: &str = "
UPDATE rollups SET n = n + ?4, total = total + ?5, lo = MIN(lo, ?6), hi = MAX(hi, ?7),
                   step_ms = MAX(step_ms, ?3)
WHERE series_id = ?1 AND ts = ?2";

/// One open write transaction with a row budget; commits and begins the next when it is spent.
/// Every transaction starts by flushing the write-ahead log into chunks.
struct Chunk<'c> {
    conn: &'c Connection,
    head: &'c mut Head,
    budget: usize,
    max: usize,
    context: &'c str,
}

impl<'c> Chunk<'c> {
    fn begin(
        conn: &'c Connection,
        head: &'c mut Head,
        max: usize,
        context: &'c str,
        stats: &mut RetentionStats,
    ) -> Result<Self, StoreError> {
        let mut chunk = Chunk {
            conn,
            head,
            budget: max,
            max,
            context,
        };
        chunk.open(stats)?;
        Ok(chunk)
    }

    fn open(&mut self, stats: &mut RetentionStats) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .ctx(self.context)?;
        stats.transactions += 1;
        self.head.sync(self.conn, self.context)?;
        stats.flushed += self.head.flush(self.conn, self.context)?;
        self.budget = self.max;
        Ok(())
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
        self.open(stats)
    }

    fn commit(self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").ctx(self.context)
    }
}

/// The exclusive upper bound of the next piece of rollups below `cutoff` for one series: the
/// step start of the row just past the budget, or `cutoff` when fewer rows remain; `true` when the
/// budget bounded it.
fn bounded_upper(
    conn: &Connection,
    id: i64,
    cutoff: i64,
    budget: usize,
    context: &str,
) -> Result<(i64, bool), StoreError> {
    let offset = i64::try_from(budget).unwrap_or(i64::MAX);
    let next: Option<i64> = conn
        .prepare_cached(ROLLUP_BOUND)
        .ctx(context)?
        .query_row(params![id, cutoff, offset], |r| r.get(0))
        .optional()
        .ctx(context)?;
    Ok(match next {
        Some(ts) => (ts, true),
        None => (cutoff, false),
    })
}

/// One step's aggregate: (start, count, sum, min, max).
type StepSum = (i64, i64, f64, f64, f64);

/// Aggregates time-ordered samples by step start (floor to a multiple of `step`).
fn by_step(samples: &[Sample], step: i64) -> Vec<StepSum> {
    let mut out: Vec<StepSum> = Vec::new();
    for s in samples {
        let start = s.ts.0 - s.ts.0.rem_euclid(step);
        match out.last_mut() {
            Some(r) if r.0 == start => {
                r.1 += 1;
                r.2 += s.value;
                r.3 = r.3.min(s.value);
                r.4 = r.4.max(s.value);
            }
            _ => out.push((start, 1, s.value, s.value, s.value)),
        }
    }
    out
}

/// Rolls up the raw samples of series `id` below the cut: its oldest chunks, about a budget of
/// samples a transaction (at least one chunk), decoded, their samples below the cut folded into
/// rollups (merged with a row already there for a step) and the rest written back as a chunk, then
/// the chunks deleted: each transaction moves a set of samples from raw to rollups, exactly once.
fn roll_up_series(
    plan: &Plan,
    id: i64,
    chunk: &mut Chunk<'_>,
    stats: &mut RetentionStats,
    context: &str,
) -> Result<(), StoreError> {
    loop {
        let conn = chunk.conn;
        let mut taken: Vec<chunks::Stored> = Vec::new();
        let mut more = false;
        {
            let mut stmt = conn.prepare(OLD_CHUNKS).ctx(context)?;
            let mut rows = stmt.query(params![id, plan.raw_cutoff]).ctx(context)?;
            let mut n = 0usize;
            while let Some(r) = rows.next().ctx(context)? {
                let c = chunks::Stored {
                    start: r.get(0).ctx(context)?,
                    end: r.get(1).ctx(context)?,
                    n: r.get(2).ctx(context)?,
                    data: r.get(3).ctx(context)?,
                };
                let cn = usize::try_from(c.n).unwrap_or(0);
                if !taken.is_empty() && n + cn > chunk.budget {
                    more = true;
                    break;
                }
                n += cn;
                taken.push(c);
            }
        }
        let (Some(first), Some(last)) = (taken.first(), taken.last()) else {
            return Ok(());
        };
        let (from, to) = (first.start, last.start);
        let mut samples = Vec::new();
        for c in &taken {
            chunks::decode(id, c, &mut samples, context)?;
        }
        let cut = samples.partition_point(|s| s.ts.0 < plan.raw_cutoff);
        chunks::delete_starting(conn, id, from, to, context)?;
        chunks::insert_run(conn, id, &samples[cut..], context)?;
        let mut created = 0usize;
        for (start, n, sum, lo, hi) in by_step(&samples[..cut], plan.step) {
            let values = params![id, start, plan.step, n, sum, lo, hi];
            let inserted = conn
                .prepare_cached(ROLLUP_NEW)
                .ctx(context)?
                .execute(values)
                .ctx(context)?;
            if inserted == 0 {
                conn.prepare_cached(ROLLUP_MERGE)
                    .ctx(context)?
                    .execute(values)
                    .ctx(context)?;
            }
            created += inserted;
            stats.rollups_written += 1;
        }
        series_stats::rolled_up(conn, id, cut, created, context)?;
        stats.raw_rolled_up += cut;
        chunk.spend(cut.max(1), stats)?;
        if !more {
            return Ok(());
        }
    }
}

/// Deletes the rollups of series `id` below `cutoff`, at most the remaining budget a transaction.
fn expire_series(
    id: i64,
    cutoff: i64,
    chunk: &mut Chunk<'_>,
    stats: &mut RetentionStats,
    context: &str,
) -> Result<(), StoreError> {
    loop {
        let conn = chunk.conn;
        let (upper, full) = bounded_upper(conn, id, cutoff, chunk.budget, context)?;
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
            return Ok(());
        }
    }
}

fn run(
    conn: &Connection,
    head: &mut Head,
    plan: &Plan,
    ids: &[i64],
    stats: &mut RetentionStats,
    context: &str,
) -> Result<(), StoreError> {
    let mut chunk = Chunk::begin(conn, head, plan.max_rows, context, stats)?;
    for &id in ids {
        roll_up_series(plan, id, &mut chunk, stats, context)?;
        if let Some(cutoff) = plan.rollup_cutoff {
            // Late samples rolled up just now may themselves be past the rollup horizon.
            expire_series(id, cutoff, &mut chunk, stats, context)?;
            stats.series_dropped += chunk
                .conn
                .prepare_cached(DROP_EMPTY)
                .ctx(context)?
                .execute(params![id])
                .ctx(context)?;
        }
        // Visiting a series costs a few statements even when it has nothing to do.
        chunk.spend(1, stats)?;
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
        let Store {
            conn, cache, head, ..
        } = self;
        let head = head.get_mut().unwrap_or_else(|p| p.into_inner());
        let result = run(conn, head, &plan, &ids, &mut stats, &context);
        if result.is_err() && !conn.is_autocommit() {
            // Best effort: the error being returned is the one that matters.
            let _ = conn.execute_batch("ROLLBACK");
        }
        if result.is_err() {
            head.invalidate();
        }
        if stats.series_dropped > 0 || result.is_err() {
            cache.clear();
        }
        result.map(|()| stats)
    }
}

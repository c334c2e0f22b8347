//! Live appends: a batch of points from any source written to the head in one transaction, with
//! series ids cached.

use crate::error::{invalid, Context, StoreError};
use crate::head::{self, HeadState, GEN_ROWS};
use crate::open::Store;
use crate::series_stats::{self, Added};
use prescale_core::{Labels, Point, SeriesKey};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// What one `append_points` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendStats {
    /// Samples whose (series, timestamp) was not stored before.
    pub inserted: usize,
    /// Samples that overwrote a stored value, or an earlier point of the same batch with the same
    /// series and timestamp (last write wins).
    pub replaced: usize,
    /// Series rows this batch created.
    pub new_series: usize,
    /// Head rows moved into the main samples table before this batch (0 unless the head was full).
    pub flushed: usize,
}

/// A known series row, a hash of the labels stored with it and the latest time stored for it.
#[derive(Debug, Clone, Copy)]
struct CachedSeries {
    id: i64,
    labels_hash: u64,
    /// An upper bound of the stored times: a later sample cannot be a repeat, so only samples at or
    /// before it are looked up. `None`: nothing stored.
    last_ts: Option<i64>,
}

/// What this handle remembers between appends: series ids by key and the state of the head. Valid
/// only while no other connection has committed (`PRAGMA data_version` unchanged), and kept up to
/// date by this handle's own writes.
#[derive(Debug, Default)]
pub(crate) struct SeriesCache {
    ids: HashMap<SeriesKey, CachedSeries>,
    /// `None`: unknown, read it from the file.
    head: Option<HeadState>,
    data_version: Option<i64>,
}

impl SeriesCache {
    /// Forgets one key (its row was deleted or its samples rewritten by another path).
    pub(crate) fn forget(&mut self, key: &SeriesKey) {
        self.ids.remove(key);
    }

    /// Forgets everything (series rows were deleted in bulk, or a write failed half way).
    pub(crate) fn clear(&mut self) {
        self.ids.clear();
        self.head = None;
    }

    /// The head was emptied.
    pub(crate) fn head_flushed(&mut self) {
        self.head = Some(HeadState::default());
    }

    /// Drops everything when another connection committed since the last look.
    fn refresh(&mut self, conn: &Connection, context: &str) -> Result<(), StoreError> {
        let version: i64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .ctx(context)?;
        if self.data_version != Some(version) {
            self.clear();
            self.data_version = Some(version);
        }
        Ok(())
    }
}

fn labels_hash(labels: &Labels) -> u64 {
    let mut h = DefaultHasher::new();
    labels.hash(&mut h);
    h.finish()
}

/// Late rows of one series (at or before its latest stored time) looked up one at a time; beyond
/// this, the stored times of their span are read at once.
const LOOKUPS_PER_SERIES: usize = 2;

/// A series of the batch being appended.
struct Slot<'a> {
    key: &'a SeriesKey,
    labels: &'a Labels,
    entry: CachedSeries,
}

impl Store {
    /// How many series ids this handle holds in memory for live appends.
    pub fn cached_series(&self) -> usize {
        self.cache.ids.len()
    }

    /// Appends live points in one transaction: series rows are created for new keys and marked live,
    /// that is subject to `apply_retention` (a point whose labels differ from the stored ones
    /// rewrites them, as `upsert_series` does), samples are accepted in any time order, and a
    /// (series, timestamp) already stored or repeated in the batch keeps the last value written.
    /// A non-finite value rejects the whole batch; on any error nothing of the batch is written and
    /// earlier data is untouched. Samples go to the head (see `flush_head`); every read sees them.
    pub fn append_points(&mut self, points: &[Point]) -> Result<AppendStats, StoreError> {
        let context = format!("appending {} points", points.len());
        if points.is_empty() {
            return Ok(AppendStats::default());
        }
        if let Some((i, p)) = points
            .iter()
            .enumerate()
            .find(|(_, p)| !p.sample.value.is_finite())
        {
            return Err(invalid(
                &context,
                format!(
                    "point {i} ({} at {}) has the non-finite value {}",
                    p.key, p.sample.ts, p.sample.value
                ),
            ));
        }
        let Store { conn, cache, .. } = self;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&context)?;
        // Inside the write lock: another connection may have deleted or renumbered series rows.
        cache.refresh(&tx, &context)?;
        let mut state = match cache.head {
            Some(state) => state,
            None => head::load_state(&tx, &context)?,
        };
        let mut stats = AppendStats::default();
        if state.needs_flush() {
            stats.flushed = head::flush(&tx, &context)?;
            state = HeadState::default();
        }
        let gen = match state.last_gen {
            Some((gen, rows)) if rows < GEN_ROWS => gen,
            last => {
                let gen = last.map_or(1, |(gen, _)| gen + 1);
                tx.prepare_cached("INSERT INTO head_gens (gen, rows) VALUES (?1, 0)")
                    .ctx(&context)?
                    .execute(params![gen])
                    .ctx(&context)?;
                state.gens += 1;
                state.last_gen = Some((gen, 0));
                gen
            }
        };

        // Resolve every point to its series (entries change only in `slots` until the commit).
        let mut slots: Vec<Slot<'_>> = Vec::new();
        let mut slot_of: HashMap<&SeriesKey, usize> = HashMap::new();
        let mut rows: Vec<(i64, i64, f64, usize)> = Vec::with_capacity(points.len());
        let mut last: Option<(&Point, usize)> = None;
        for p in points {
            let idx = match last {
                Some((q, i)) if q.key == p.key && q.labels == p.labels => i,
                _ => match slot_of.get(&p.key) {
                    Some(&i) if *slots[i].labels == p.labels => i,
                    Some(&i) => {
                        write_series_row(&tx, &p.key, &p.labels, &context)?;
                        slots[i].labels = &p.labels;
                        slots[i].entry.labels_hash = labels_hash(&p.labels);
                        i
                    }
                    None => {
                        let h = labels_hash(&p.labels);
                        let entry = match cache.ids.get(&p.key) {
                            Some(c) if c.labels_hash == h => *c,
                            Some(c) => {
                                write_series_row(&tx, &p.key, &p.labels, &context)?;
                                CachedSeries {
                                    labels_hash: h,
                                    ..*c
                                }
                            }
                            None => {
                                let (id, created) =
                                    write_series_row(&tx, &p.key, &p.labels, &context)?;
                                stats.new_series += usize::from(created);
                                let last_ts = if created {
                                    None
                                } else {
                                    head::max_ts(&tx, id, &context)?
                                };
                                CachedSeries {
                                    id,
                                    labels_hash: h,
                                    last_ts,
                                }
                            }
                        };
                        slots.push(Slot {
                            key: &p.key,
                            labels: &p.labels,
                            entry,
                        });
                        slot_of.insert(&p.key, slots.len() - 1);
                        slots.len() - 1
                    }
                },
            };
            last = Some((p, idx));
            rows.push((slots[idx].entry.id, p.sample.ts.0, p.sample.value, idx));
        }
        // Series by series in time order keeps B-tree writes local; the sort is stable, so among
        // repeats of one (series, ts) the last point of the batch comes last and is the one kept.
        rows.sort_by_key(|&(id, ts, _, _)| (id, ts));
        let mut written = 0usize;
        let mut added_by_series: Vec<(i64, Added)> = Vec::with_capacity(slots.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO samples_head (gen, series_id, ts, value) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (gen, series_id, ts) DO UPDATE SET value = excluded.value",
                )
                .ctx(&context)?;
            // One run of rows per series.
            for run in rows.chunk_by(|a, b| a.0 == b.0) {
                let (id, slot) = (run[0].0, run[0].3);
                let entry = &mut slots[slot].entry;
                // Only rows at or before the latest stored time can repeat a stored sample. A few
                // are looked up one by one; more at once with one read of the stored times.
                let last_ts = entry.last_ts;
                let late = |ts: i64| last_ts.is_some_and(|last| ts <= last);
                let late_rows: Vec<i64> = run.iter().map(|r| r.1).filter(|&ts| late(ts)).collect();
                let stored_times = match (late_rows.first(), late_rows.last()) {
                    (Some(&from), Some(&to)) if late_rows.len() > LOOKUPS_PER_SERIES => {
                        Some(head::stored_times(&tx, id, from, to, &context)?)
                    }
                    _ => None,
                };
                let mut added = Added::default();
                for (i, &(_, ts, value, _)) in run.iter().enumerate() {
                    if run.get(i + 1).is_some_and(|next| next.1 == ts) {
                        stats.replaced += 1;
                        continue;
                    }
                    let stored = late(ts)
                        && match &stored_times {
                            Some(times) => times.binary_search(&ts).is_ok(),
                            None => head::contains(&tx, id, ts, &context)?,
                        };
                    if stored {
                        stats.replaced += 1;
                    } else {
                        stats.inserted += 1;
                        added.push(ts);
                    }
                    insert.execute(params![gen, id, ts, value]).ctx(&context)?;
                    written += 1;
                }
                added_by_series.push((id, added));
                let run_last = run.last().map(|r| r.1);
                entry.last_ts = last_ts.max(run_last);
            }
        }
        // The summaries of the series written, a few statements for the batch.
        series_stats::write_all(&tx, &added_by_series, &context)?;
        tx.prepare_cached("UPDATE head_gens SET rows = rows + ?2 WHERE gen = ?1")
            .ctx(&context)?
            .execute(params![gen, i64::try_from(written).unwrap_or(i64::MAX)])
            .ctx(&context)?;
        tx.commit().ctx(&context)?;
        state.rows += written;
        state.last_gen = state.last_gen.map(|(g, n)| (g, n + written));
        cache.head = Some(state);
        for slot in slots {
            match cache.ids.get_mut(slot.key) {
                Some(e) => *e = slot.entry,
                None => {
                    cache.ids.insert(slot.key.clone(), slot.entry);
                }
            }
        }
        Ok(stats)
    }
}

/// Finds or creates the series row for `key`, makes its labels `labels` and marks it live (subject to
/// retention); `true` when created.
fn write_series_row(
    tx: &Transaction<'_>,
    key: &SeriesKey,
    labels: &Labels,
    context: &str,
) -> Result<(i64, bool), StoreError> {
    let json = serde_json::to_string(labels).ctx(context)?;
    let found: Option<(i64, String, bool)> = tx
        .prepare_cached("SELECT id, labels, live FROM series WHERE workload = ?1 AND metric = ?2")
        .ctx(context)?
        .query_row(params![key.workload.as_str(), key.metric.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .ctx(context)?;
    match found {
        Some((id, stored, live)) => {
            if stored != json || !live {
                tx.prepare_cached("UPDATE series SET labels = ?2, live = 1 WHERE id = ?1")
                    .ctx(context)?
                    .execute(params![id, json])
                    .ctx(context)?;
            }
            Ok((id, false))
        }
        None => {
            let id = tx
                .prepare_cached(
                    "INSERT INTO series (workload, metric, labels, live) VALUES (?1, ?2, ?3, 1)
                     RETURNING id",
                )
                .ctx(context)?
                .query_row(
                    params![key.workload.as_str(), key.metric.as_str(), json],
                    |r| r.get(0),
                )
                .ctx(context)?;
            Ok((id, true))
        }
    }
}

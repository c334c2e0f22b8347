//! Live appends: a batch of points from any source, or of samples grouped by series, written as one
//! write-ahead log row in one transaction, with series ids cached.

use crate::chunks;
use crate::error::{invalid, Context, StoreError};
use crate::group_commit::PendingCommit;
use crate::head::Head;
use crate::open::Store;
use crate::wal_log::{self, Run};
use prescale_core::point::SeriesPoints;
use prescale_core::{Labels, Point, Sample, SeriesKey, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::hash::BuildHasher;

/// What one `append_points` / `append_series` / `append_batch` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendStats {
    /// Samples whose (series, timestamp) was not stored before.
    pub inserted: usize,
    /// Samples that overwrote a stored value, or an earlier point of the same batch with the same
    /// series and timestamp (last write wins).
    pub replaced: usize,
    /// Series rows this batch created.
    pub new_series: usize,
    /// Head samples moved from the write-ahead log into chunks before this batch (0 unless the log
    /// was full).
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

/// What this handle remembers between appends: series ids by key. Valid only while no other
/// connection has committed (`PRAGMA data_version` unchanged), and kept up to date by this handle's
/// own writes.
#[derive(Debug, Default)]
pub(crate) struct SeriesCache {
    ids: HashMap<SeriesKey, CachedSeries, KeyHasher>,
    data_version: Option<i64>,
    /// Hashes label sets for `CachedSeries::labels_hash` (seeded per handle).
    labels_hasher: KeyHasher,
}

/// Hashing of series keys and label sets: foldhash's quality variant, randomly seeded (several
/// times faster than SipHash on these short strings; the caches are bounded by admission).
type KeyHasher = foldhash::quality::RandomState;

impl SeriesCache {
    /// Forgets one key (its row was deleted or its samples rewritten by another path).
    pub(crate) fn forget(&mut self, key: &SeriesKey) {
        self.ids.remove(key);
    }

    /// Forgets everything (series rows were deleted in bulk, or a write failed half way).
    pub(crate) fn clear(&mut self) {
        self.ids.clear();
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

impl SeriesCache {
    fn labels_hash(&self, labels: &Labels) -> u64 {
        self.labels_hasher.hash_one(labels)
    }
}

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
    /// earlier data is untouched. The batch is one compressed row of the write-ahead log, committed
    /// (durable at `synchronous=FULL`) before this returns; every read sees it.
    pub fn append_points(&mut self, points: &[Point]) -> Result<AppendStats, StoreError> {
        self.append_batch(points, &[])
    }

    /// [`Store::append_points`] for samples grouped by series: each series' key and labels are
    /// resolved once, not once per sample. The same outcome as appending one point per sample.
    pub fn append_series(&mut self, series: &[SeriesPoints]) -> Result<AppendStats, StoreError> {
        self.append_batch(&[], series)
    }

    /// `points` and then `series` in one transaction and one log row (for a repeated (series,
    /// timestamp) a sample of `series` is written after the points), as [`Store::append_points`].
    pub fn append_batch(
        &mut self,
        points: &[Point],
        series: &[SeriesPoints],
    ) -> Result<AppendStats, StoreError> {
        let (stats, pending) = self.append_batch_deferred(points, series)?;
        pending.wait()?;
        Ok(stats)
    }

    /// [`Store::append_batch`] without waiting for the disk: the batch is committed (every read
    /// sees it) when this returns, and durable once the returned [`PendingCommit::wait`] returned
    /// `Ok` (acknowledge it only then). The caller may append the next batch meanwhile; batches
    /// waiting together share one fsync of the journal (group commit, see `PendingCommit`). With
    /// `synchronous=NORMAL` or in memory there is nothing to wait for.
    pub fn append_batch_deferred(
        &mut self,
        points: &[Point],
        series: &[SeriesPoints],
    ) -> Result<(AppendStats, PendingCommit), StoreError> {
        let total = points.len() + series.iter().map(|s| s.samples.len()).sum::<usize>();
        let context = format!("appending {total} points");
        if total == 0 {
            return Ok((AppendStats::default(), PendingCommit::done(&self.group)));
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
        for g in series {
            if let Some(s) = g.samples.iter().find(|s| !s.value.is_finite()) {
                return Err(invalid(
                    &context,
                    format!(
                        "a sample of {} at {} has the non-finite value {}",
                        g.key, s.ts, s.value
                    ),
                ));
            }
        }
        let groups = points
            .iter()
            .map(|p| (&p.key, &p.labels, std::slice::from_ref(&p.sample)))
            .chain(series.iter().map(|g| (&*g.key, &*g.labels, &g.samples[..])));
        let Store {
            conn,
            cache,
            head,
            group,
            group_appends,
            ..
        } = self;
        let head = head.get_mut().unwrap_or_else(|p| p.into_inner());
        // The commit does not wait for the disk; `group` fsyncs the journal for it (and for the
        // other appends waiting then) before it is acknowledged.
        if *group_appends {
            set_synchronous(conn, "NORMAL", &context)?;
        }
        let result = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&context)
            .and_then(|tx| {
                let done = append_in(&tx, cache, head, groups, total, &context)?;
                tx.commit().ctx(&context).map(|()| done)
            });
        // Every other write commits at FULL, as before.
        let restored = if *group_appends {
            set_synchronous(conn, "FULL", &context)
        } else {
            Ok(())
        };
        let result = result.map(|done| (done, PendingCommit::after_commit(group)));
        let result = match result {
            Ok(((stats, (seq, bytes), runs, slots), pending)) => {
                head.applied_own(seq, &runs, bytes);
                for (key, entry) in slots {
                    match cache.ids.get_mut(key) {
                        Some(e) => *e = entry,
                        None => {
                            cache.ids.insert(key.clone(), entry);
                        }
                    }
                }
                Ok((stats, pending))
            }
            Err(e) => {
                head.invalidate();
                cache.clear();
                cache.data_version = None;
                Err(e)
            }
        };
        restored?;
        result
    }
}

/// Sets this connection's `PRAGMA synchronous` (outside a transaction).
fn set_synchronous(conn: &Connection, level: &str, context: &str) -> Result<(), StoreError> {
    conn.prepare_cached(&format!("PRAGMA synchronous = {level}"))
        .ctx(context)?
        .execute([])
        .ctx(context)?;
    Ok(())
}

/// What a committed append leaves to record: its stats, log row (sequence number and length), runs
/// and series entries.
type Appended<'a> = (
    AppendStats,
    (i64, usize),
    Vec<Run>,
    Vec<(&'a SeriesKey, CachedSeries)>,
);

/// One series' part of a batch: its key, labels and samples (one for a point).
type Group<'a> = (&'a SeriesKey, &'a Labels, &'a [Sample]);

/// The body of `append_batch` inside its transaction; `total` samples in `groups`.
fn append_in<'a>(
    tx: &Transaction<'_>,
    cache: &mut SeriesCache,
    head: &mut Head,
    groups: impl Iterator<Item = Group<'a>>,
    total: usize,
    context: &str,
) -> Result<Appended<'a>, StoreError> {
    // Inside the write lock: another connection may have deleted or renumbered series rows, or
    // written or flushed the log.
    cache.refresh(tx, context)?;
    head.sync(tx, context)?;
    let mut stats = AppendStats::default();
    if head.needs_flush() {
        stats.flushed = head.flush(tx, context)?;
    }

    // Resolve every group to its series (entries change only in `slots` until the commit).
    let mut slots: Vec<Slot<'_>> = Vec::new();
    let mut slot_of: HashMap<&SeriesKey, usize, KeyHasher> = HashMap::default();
    let mut rows: Vec<(i64, i64, f64, usize)> = Vec::with_capacity(total);
    let mut last: Option<(Group<'a>, usize)> = None;
    // Shared (`Arc`) keys and labels compare by address first.
    let same = |a: &SeriesKey, b: &SeriesKey| std::ptr::eq(a, b) || a == b;
    let same_labels = |a: &Labels, b: &Labels| std::ptr::eq(a, b) || a == b;
    for g in groups {
        let (key, labels, samples) = g;
        let idx = match last {
            Some(((k, l, _), i)) if same(k, key) && same_labels(l, labels) => i,
            _ => match slot_of.get(key) {
                Some(&i) if same_labels(slots[i].labels, labels) => i,
                Some(&i) => {
                    write_series_row(tx, key, labels, context)?;
                    slots[i].labels = labels;
                    slots[i].entry.labels_hash = cache.labels_hash(labels);
                    i
                }
                None => {
                    let h = cache.labels_hash(labels);
                    let entry = match cache.ids.get(key) {
                        Some(c) if c.labels_hash == h => *c,
                        Some(c) => {
                            write_series_row(tx, key, labels, context)?;
                            CachedSeries {
                                labels_hash: h,
                                ..*c
                            }
                        }
                        None => {
                            let (id, created) = write_series_row(tx, key, labels, context)?;
                            stats.new_series += usize::from(created);
                            let last_ts = if created {
                                None
                            } else {
                                let in_head = head
                                    .series(id)
                                    .and_then(|h| h.samples.last())
                                    .map(|s| s.ts.0);
                                chunks::last_ts(tx, id, context)?.max(in_head)
                            };
                            CachedSeries {
                                id,
                                labels_hash: h,
                                last_ts,
                            }
                        }
                    };
                    slots.push(Slot { key, labels, entry });
                    slot_of.insert(key, slots.len() - 1);
                    slots.len() - 1
                }
            },
        };
        last = Some((g, idx));
        let id = slots[idx].entry.id;
        rows.extend(samples.iter().map(|s| (id, s.ts.0, s.value, idx)));
    }
    // Series by series in time order; the sort is stable, so among repeats of one (series, ts) the
    // last point of the batch comes last and is the one kept. Grouped batches usually come sorted.
    if !rows.is_sorted_by_key(|&(id, ts, _, _)| (id, ts)) {
        rows.sort_by_key(|&(id, ts, _, _)| (id, ts));
    }
    let mut runs: Vec<Run> = Vec::with_capacity(slots.len());
    for run in rows.chunk_by(|a, b| a.0 == b.0) {
        let (id, slot) = (run[0].0, run[0].3);
        let entry = &mut slots[slot].entry;
        let last_ts = entry.last_ts;
        let late = |ts: i64| last_ts.is_some_and(|last| ts <= last);
        // Only samples at or before the latest stored time can repeat a stored one: the stored
        // times of their span are read once (chunks, then the head).
        let late_span = run.iter().map(|r| r.1).filter(|&ts| late(ts)).fold(
            None,
            |span: Option<(i64, i64)>, ts| {
                Some(span.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))))
            },
        );
        let stored: Vec<i64> = match late_span {
            None => Vec::new(),
            Some((from, to)) => {
                let mut t: Vec<i64> = chunks::range(tx, id, from, to, context)?
                    .iter()
                    .map(|s| s.ts.0)
                    .collect();
                t.extend(head.range(id, from, to).iter().map(|s| s.ts.0));
                t.sort_unstable();
                t.dedup();
                t
            }
        };
        let mut samples = Vec::with_capacity(run.len());
        let (mut new_n, mut new_span) = (0u64, None::<(i64, i64)>);
        for (i, &(_, ts, value, _)) in run.iter().enumerate() {
            if run.get(i + 1).is_some_and(|next| next.1 == ts) {
                stats.replaced += 1;
                continue;
            }
            if late(ts) && stored.binary_search(&ts).is_ok() {
                stats.replaced += 1;
            } else {
                stats.inserted += 1;
                new_n += 1;
                new_span = Some(new_span.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))));
            }
            samples.push(Sample {
                ts: Timestamp(ts),
                value,
            });
        }
        entry.last_ts = last_ts.max(run.last().map(|r| r.1));
        runs.push(Run {
            id,
            samples,
            new_n,
            new_span,
        });
    }
    let seq = head.next_seq();
    let body = wal_log::encode(&runs);
    wal_log::insert(tx, seq, &body, context)?;
    let entries = slots.into_iter().map(|s| (s.key, s.entry)).collect();
    Ok((stats, (seq, body.len()), runs, entries))
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

#[cfg(test)]
mod tests {
    use crate::open::Store;
    use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};

    #[test]
    fn the_connection_is_back_at_full_after_every_append() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let level = |s: &Store| -> i64 {
            s.conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(level(&store), 2, "FULL after opening");
        let point = Point {
            key: SeriesKey::new(WorkloadId::new("w").unwrap(), MetricName::new("m").unwrap()),
            labels: Labels::new(),
            sample: Sample {
                ts: Timestamp(1),
                value: 1.0,
            },
        };
        let (_, pending) = store
            .append_batch_deferred(std::slice::from_ref(&point), &[])
            .unwrap();
        assert_eq!(level(&store), 2, "FULL again after an append");
        pending.wait().unwrap();
        // A failed append (non-finite value) leaves it at FULL too.
        let bad = Point {
            sample: Sample {
                ts: Timestamp(2),
                value: f64::NAN,
            },
            ..point
        };
        assert!(store.append_points(&[bad]).is_err());
        assert_eq!(level(&store), 2);
    }
}

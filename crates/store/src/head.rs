//! The head: the write-ahead log (`wal_log.rs`) decoded in memory, per handle, so that reads see
//! live appends not yet in chunks; and the flush that moves the log into chunks.
//!
//! Every handle keeps its own copy, brought up to date before each read or write: when another
//! connection committed (`PRAGMA data_version` moved), the log rows after the last one seen are
//! decoded and applied; when the log was flushed meanwhile (`log_state.flushed` moved) the copy is
//! rebuilt from the rows left. For one (series, ts) the latest log row wins, and the head wins over
//! chunks. A flush merges each series' head samples into its chunks (`chunks::merge`), adds what was
//! new to the series summaries and empties the log, in the caller's transaction.

use crate::chunks;
use crate::error::{Context, StoreError};
use crate::open::Store;
use crate::series_stats::{self, Added};
use crate::wal_log::{self, Run};
use prescale_core::Sample;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};

/// The log is flushed into chunks by the append that finds it holding this many samples (the most
/// the head holds in memory)...
pub(crate) const FLUSH_SAMPLES: usize = 262_144;
/// ... or this many bytes of log rows: the pages a flushed log leaves free in the file stay at most
/// about this size whatever the batches' shape (one sample per series a batch, as scrapes write, costs
/// ~20 log bytes a sample; remote-write's 10 a series ~2).
pub(crate) const FLUSH_LOG_BYTES: usize = 2 << 20;

/// One series' samples in the log: time-ordered, unique, the latest write of each time.
#[derive(Debug, Default)]
pub(crate) struct SeriesHead {
    pub(crate) samples: Vec<Sample>,
    /// Samples that were new to the series when appended (not yet in its summary row).
    pub(crate) added: Added,
}

#[derive(Debug, Clone, Copy)]
struct Synced {
    data_version: i64,
    flushed: i64,
    last_seq: i64,
}

/// A handle's copy of the log.
#[derive(Debug, Default)]
pub(crate) struct Head {
    synced: Option<Synced>,
    series: HashMap<i64, SeriesHead, foldhash::fast::RandomState>,
    /// Samples applied since the last flush (repeats included: an upper bound of the memory held).
    samples: usize,
    /// Bytes of the log rows applied since the last flush.
    log_bytes: usize,
    /// Where each series' newest chunk stands, so the next flush appends to it without decoding.
    open: chunks::OpenChunks,
}

/// Merges time-ordered unique `run` into time-ordered unique `into`; `run` wins on equal times.
pub(crate) fn merge_into(into: &mut Vec<Sample>, run: &[Sample]) {
    match (into.last(), run.first()) {
        (_, None) => {}
        (None, _) => into.extend_from_slice(run),
        (Some(l), Some(f)) if l.ts < f.ts => into.extend_from_slice(run),
        _ => {
            let old = std::mem::take(into);
            into.reserve(old.len() + run.len());
            let (mut i, mut j) = (0, 0);
            while i < old.len() || j < run.len() {
                match (old.get(i), run.get(j)) {
                    (Some(o), Some(n)) if o.ts == n.ts => {
                        into.push(*n);
                        i += 1;
                        j += 1;
                    }
                    (Some(o), Some(n)) if o.ts < n.ts => {
                        into.push(*o);
                        i += 1;
                    }
                    (Some(o), None) => {
                        into.push(*o);
                        i += 1;
                    }
                    (_, Some(n)) => {
                        into.push(*n);
                        j += 1;
                    }
                    (None, None) => break,
                }
            }
        }
    }
}

fn data_version(conn: &Connection, context: &str) -> Result<i64, StoreError> {
    conn.prepare_cached("PRAGMA data_version")
        .ctx(context)?
        .query_row([], |r| r.get(0))
        .ctx(context)
}

impl Head {
    /// Forgets everything: the next sync rebuilds from the file (after a failed write).
    pub(crate) fn invalidate(&mut self) {
        self.synced = None;
        self.series.clear();
        self.samples = 0;
        self.log_bytes = 0;
        self.open.clear();
    }

    /// Brings this copy up to date with the file.
    pub(crate) fn sync(&mut self, conn: &Connection, context: &str) -> Result<(), StoreError> {
        let dv = data_version(conn, context)?;
        if self.synced.is_some_and(|s| s.data_version == dv) {
            return Ok(());
        }
        let flushed = wal_log::flushed(conn, context)?;
        let from = match self.synced {
            Some(s) if s.flushed == flushed => s.last_seq,
            _ => {
                self.invalidate();
                flushed
            }
        };
        let mut last = from;
        for (seq, body) in wal_log::rows_after(conn, from, context)? {
            for run in wal_log::decode(seq, &body, context)? {
                self.apply(&run);
            }
            self.log_bytes += body.len();
            last = seq;
        }
        self.synced = Some(Synced {
            data_version: dv,
            flushed,
            last_seq: last,
        });
        Ok(())
    }

    fn apply(&mut self, run: &Run) {
        let h = self.series.entry(run.id).or_default();
        merge_into(&mut h.samples, &run.samples);
        if let Some((first, last)) = run.new_span {
            h.added.add(run.new_n, first, last);
        }
        self.samples += run.samples.len();
    }

    /// The sequence number of the next log row (after a sync in the write transaction).
    pub(crate) fn next_seq(&self) -> i64 {
        self.synced.map_or(1, |s| s.last_seq.max(s.flushed) + 1)
    }

    /// Records this handle's own committed log row (`bytes` long).
    pub(crate) fn applied_own(&mut self, seq: i64, runs: &[Run], bytes: usize) {
        for run in runs {
            self.apply(run);
        }
        self.log_bytes += bytes;
        if let Some(s) = &mut self.synced {
            s.last_seq = seq;
        }
    }

    pub(crate) fn needs_flush(&self) -> bool {
        self.samples >= FLUSH_SAMPLES || self.log_bytes >= FLUSH_LOG_BYTES
    }

    /// Samples held.
    pub(crate) fn held(&self) -> usize {
        self.samples
    }

    pub(crate) fn series(&self, id: i64) -> Option<&SeriesHead> {
        self.series.get(&id)
    }

    /// The head samples of a series with `from <= ts <= to`.
    pub(crate) fn range(&self, id: i64, from: i64, to: i64) -> &[Sample] {
        let Some(h) = self.series.get(&id) else {
            return &[];
        };
        let a = h.samples.partition_point(|s| s.ts.0 < from);
        let b = h.samples.partition_point(|s| s.ts.0 <= to);
        &h.samples[a..b.max(a)]
    }

    /// Moves the log into chunks and empties it, inside the caller's transaction (after a sync in
    /// it); the number of head samples moved. The copy is emptied: on a failed transaction call
    /// [`Head::invalidate`].
    pub(crate) fn flush(&mut self, conn: &Connection, context: &str) -> Result<usize, StoreError> {
        let Some(synced) = self.synced else {
            return Ok(0);
        };
        if self.series.is_empty() && synced.last_seq == synced.flushed {
            return Ok(0);
        }
        let mut ids: Vec<i64> = self.series.keys().copied().collect();
        ids.sort_unstable();
        let mut moved = 0;
        let mut added = Vec::with_capacity(ids.len());
        // Rows of a series deleted meanwhile are dropped (one scan of the ids, not a query each).
        let live: HashSet<i64> = conn
            .prepare_cached("SELECT id FROM series")
            .ctx(context)?
            .query_map([], |r| r.get(0))
            .ctx(context)?
            .collect::<Result<_, _>>()
            .ctx(context)?;
        for id in ids {
            let Some(h) = self.series.get(&id) else {
                continue;
            };
            if !live.contains(&id) {
                continue;
            }
            let m = chunks::merge(conn, id, &h.samples, &mut self.open, context)?;
            moved += h.samples.len();
            if let (Some(first), Some(last)) = (m.first_new, m.last_new) {
                let mut a = Added::default();
                a.add(m.inserted as u64, first, last);
                added.push((id, a));
            }
        }
        self.open.retain(|id, _| live.contains(id));
        series_stats::write_all(conn, &added, context)?;
        wal_log::truncate(conn, synced.last_seq, context)?;
        self.series.clear();
        self.samples = 0;
        self.log_bytes = 0;
        self.synced = Some(Synced {
            flushed: synced.last_seq,
            ..synced
        });
        Ok(moved)
    }
}

impl Store {
    /// Moves the head (recent appends, kept in the write-ahead log) into chunks now, in one
    /// transaction; the number of head samples moved. Appends and retention flush by themselves.
    pub fn flush_head(&mut self) -> Result<usize, StoreError> {
        let context = format!("flushing the head of {}", self.path);
        let Store { conn, head, .. } = self;
        let head = head.get_mut().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx(&context)?;
        let result = head
            .sync(&tx, &context)
            .and_then(|()| head.flush(&tx, &context))
            .and_then(|moved| tx.commit().ctx(&context).map(|()| moved));
        if result.is_err() {
            head.invalidate();
        }
        result
    }

    /// Samples held in memory for the write-ahead log (this handle's copy).
    pub fn head_samples(&self) -> usize {
        self.head.lock().map_or(0, |h| h.held())
    }

    /// The new samples of each series still in the write-ahead log (not yet in its summary row).
    pub(crate) fn pending_adds(&self, context: &str) -> Result<HashMap<i64, Added>, StoreError> {
        self.with_head(context, |head| {
            Ok(head
                .series
                .iter()
                .filter(|(_, h)| h.added.count() > 0)
                .map(|(&id, h)| (id, h.added))
                .collect())
        })
    }

    /// Runs `f` with this handle's head brought up to date with the file.
    pub(crate) fn with_head<T>(
        &self,
        context: &str,
        f: impl FnOnce(&Head) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = head.sync(&self.conn, context) {
            head.invalidate();
            return Err(e);
        }
        f(&head)
    }

    /// The raw samples of series `id` with `from <= ts <= to`: chunks overlaid with the head.
    pub(crate) fn raw_range(
        &self,
        id: i64,
        from: i64,
        to: i64,
        context: &str,
    ) -> Result<Vec<Sample>, StoreError> {
        self.with_head(context, |head| {
            let mut out = chunks::range(&self.conn, id, from, to, context)?;
            merge_into(&mut out, head.range(id, from, to));
            Ok(out)
        })
    }

    /// The last `n` raw samples of series `id` with `ts <= to`. Exact: a chunk sample among the last
    /// `n` of the merged times is among the last `n` chunk samples, and every head sample is there.
    pub(crate) fn raw_tail(
        &self,
        id: i64,
        to: i64,
        n: usize,
        context: &str,
    ) -> Result<Vec<Sample>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        self.with_head(context, |head| {
            let mut out = chunks::tail(&self.conn, id, to, n, context)?;
            merge_into(&mut out, head.range(id, i64::MIN, to));
            let cut = out.len().saturating_sub(n);
            out.drain(..cut);
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::Timestamp;

    fn s(ts: i64, value: f64) -> Sample {
        Sample {
            ts: Timestamp(ts),
            value,
        }
    }

    #[test]
    fn a_log_of_single_sample_runs_is_flushed_by_its_bytes() {
        use prescale_core::{Labels, MetricName, Point, SeriesKey, WorkloadId};
        let mut store = Store::open_in_memory().unwrap();
        let keys: Vec<SeriesKey> = (0..5000)
            .map(|i| {
                SeriesKey::new(
                    WorkloadId::new(format!("w{}", i % 50)).unwrap(),
                    MetricName::new(format!("m{i}")).unwrap(),
                )
            })
            .collect();
        // Scrape-shaped batches: one sample of each series, each its own run in the log row.
        let (mut samples, mut flushed_at) = (0, None);
        for t in 0..40 {
            let points: Vec<Point> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| Point {
                    key: k.clone(),
                    labels: Labels::new(),
                    sample: s(t * 15_000, (i as f64 * 0.37 + t as f64).sin()),
                })
                .collect();
            if store.append_points(&points).unwrap().flushed > 0 {
                flushed_at = Some(samples);
                break;
            }
            samples += points.len();
        }
        let at = flushed_at.expect("the log was never flushed");
        assert!(at < FLUSH_SAMPLES / 2, "flushed at {at} samples");
        let held = store.head.lock().unwrap().log_bytes;
        assert!(
            held < FLUSH_LOG_BYTES,
            "{held} log bytes held after the flush"
        );
    }

    #[test]
    fn later_writes_win_and_order_is_kept() {
        let mut v = vec![s(0, 1.0), s(10, 2.0), s(20, 3.0), s(30, 4.0)];
        merge_into(&mut v, &[s(5, 9.0), s(10, 8.0), s(30, 6.0)]);
        assert_eq!(
            v,
            [s(0, 1.0), s(5, 9.0), s(10, 8.0), s(20, 3.0), s(30, 6.0)]
        );
        merge_into(&mut v, &[s(40, 1.0)]);
        assert_eq!(v.len(), 6);
        let mut e = Vec::new();
        merge_into(&mut e, &[s(1, 1.0)]);
        assert_eq!(e, [s(1, 1.0)]);
    }
}

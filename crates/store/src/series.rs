//! Series and their samples: upsert (merging by timestamp), listing and loading.

use crate::chunks;
use crate::codec::{key as stored_key, to_usize, workload};
use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use crate::records::{SeriesInfo, UpsertStats};
use crate::series_stats::{with_pending, Added};
use prescale_core::{Labels, Series, SeriesKey, Timestamp, WorkloadId};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

impl Store {
    /// Writes a series in one transaction: creates it or replaces its labels, inserts new samples
    /// and overwrites the values of samples whose timestamp is already stored.
    pub fn upsert_series(&mut self, series: &Series) -> Result<UpsertStats, StoreError> {
        let context = format!("saving series {}", series.key);
        if series.is_empty() {
            return Err(invalid(&context, "the series has no samples"));
        }
        let labels = serde_json::to_string(&series.labels).ctx(&context)?;
        let Store {
            conn, cache, head, ..
        } = self;
        let head = head.get_mut().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&context)?;
        let id: i64 = tx
            .query_row(
                "INSERT INTO series (workload, metric, labels) VALUES (?1, ?2, ?3)
                 ON CONFLICT (workload, metric) DO UPDATE SET labels = excluded.labels
                 RETURNING id",
                params![
                    series.key.workload.as_str(),
                    series.key.metric.as_str(),
                    labels
                ],
                |r| r.get(0),
            )
            .ctx(&context)?;
        // Recent live appends first (into chunks), so that this write overrides them.
        let written = head
            .sync(&tx, &context)
            .and_then(|()| head.flush(&tx, &context))
            .and_then(|_| {
                chunks::merge(&tx, id, series.samples(), &mut Default::default(), &context)
            });
        let merged = match written {
            Ok(m) => m,
            Err(e) => {
                head.invalidate();
                return Err(e);
            }
        };
        let stats = UpsertStats {
            inserted: merged.inserted,
            replaced: merged.replaced,
        };
        let mut added = Added::default();
        if let (Some(first), Some(last)) = (merged.first_new, merged.last_new) {
            added.add(merged.inserted as u64, first, last);
        }
        if let Err(e) = added.write(&tx, id, &context) {
            head.invalidate();
            return Err(e);
        }
        if let Err(e) = tx.commit().ctx(&context) {
            head.invalidate();
            return Err(e);
        }
        // The labels may have changed under the live-append cache.
        cache.forget(&series.key);
        Ok(stats)
    }

    /// Every stored series with its raw sample count and time span, ordered by key. Reads the
    /// summaries kept on write (one row a series), not the samples.
    pub fn list_series(&self) -> Result<Vec<SeriesInfo>, StoreError> {
        let context = "listing series";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.workload, s.metric, s.labels, COALESCE(t.raw_n, 0), t.raw_first,
                        t.raw_last, s.id
                 FROM series s LEFT JOIN series_stats t ON t.series_id = s.id
                 ORDER BY s.workload, s.metric",
            )
            .ctx(context)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .ctx(context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(context)?;
        let pending = self.pending_adds(context)?;
        let mut out = Vec::new();
        for (w, m, labels, n, first, last, id) in rows {
            let (n, first, last) = with_pending(&pending, id, n, first, last);
            out.push(SeriesInfo {
                key: stored_key(context, w, m)?,
                labels: serde_json::from_str(&labels).ctx(context)?,
                samples: to_usize(context, "sample count", n)?,
                first_ts: first.map(Timestamp),
                last_ts: last.map(Timestamp),
            });
        }
        Ok(out)
    }

    /// The whole raw series, or `None` when it is not stored. Raw samples only: steps already rolled
    /// up by retention are absent here (read them with `load_window`), so callers that need a regular
    /// series never see rollup means mixed in at a coarser step.
    pub fn load_series(&self, key: &SeriesKey) -> Result<Option<Series>, StoreError> {
        self.load_range(key, i64::MAX, &format!("loading series {key}"))
    }

    /// The samples with `ts <= at` (what was known at `at`), or `None` when the series is not stored.
    pub fn load_series_until(
        &self,
        key: &SeriesKey,
        at: Timestamp,
    ) -> Result<Option<Series>, StoreError> {
        self.load_range(key, at.0, &format!("loading series {key} until {at}"))
    }

    /// The last `n` raw samples with `ts <= until` (all times when `None`), oldest first, or `None`
    /// when the series is not stored: `load_series_until(..)` cut to its last `n` samples, reading
    /// about `n` rows of the main table (plus the series' head rows) instead of all of them.
    pub fn load_series_tail(
        &self,
        key: &SeriesKey,
        until: Option<Timestamp>,
        n: usize,
    ) -> Result<Option<Series>, StoreError> {
        let context = match until {
            Some(t) => format!("loading the last {n} samples of {key} until {t}"),
            None => format!("loading the last {n} samples of {key}"),
        };
        let Some((id, labels)) = self.series_row(key, &context)? else {
            return Ok(None);
        };
        let until = until.map_or(i64::MAX, |t| t.0);
        let samples = self.raw_tail(id, until, n, &context)?;
        Series::new(key.clone(), labels, samples)
            .map(Some)
            .map_err(|e| invalid(&context, format!("stored samples: {e}")))
    }

    fn load_range(
        &self,
        key: &SeriesKey,
        until: i64,
        context: &str,
    ) -> Result<Option<Series>, StoreError> {
        let Some((id, labels)) = self.series_row(key, context)? else {
            return Ok(None);
        };
        let samples = self.raw_range(id, i64::MIN, until, context)?;
        Series::new(key.clone(), labels, samples)
            .map(Some)
            .map_err(|e| invalid(context, format!("stored samples: {e}")))
    }

    pub(crate) fn series_row(
        &self,
        key: &SeriesKey,
        context: &str,
    ) -> Result<Option<(i64, Labels)>, StoreError> {
        let row: Option<(i64, String)> = self
            .conn
            .prepare_cached("SELECT id, labels FROM series WHERE workload = ?1 AND metric = ?2")
            .ctx(context)?
            .query_row(params![key.workload.as_str(), key.metric.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .ctx(context)?;
        match row {
            None => Ok(None),
            Some((id, labels)) => Ok(Some((id, serde_json::from_str(&labels).ctx(context)?))),
        }
    }

    /// Removes a series and its samples; `false` when it was not stored.
    pub fn delete_series(&mut self, key: &SeriesKey) -> Result<bool, StoreError> {
        let context = format!("deleting series {key}");
        let Some(id) = self.series_id(key, &context)? else {
            return Ok(false);
        };
        let Store {
            conn, cache, head, ..
        } = self;
        let head = head.get_mut().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&context)?;
        // The log first (its rows name series by id, and a new series may reuse this one's); then
        // chunks and rollups go by cascade.
        let result = head
            .sync(&tx, &context)
            .and_then(|()| head.flush(&tx, &context))
            .and_then(|_| {
                tx.execute("DELETE FROM series WHERE id = ?1", params![id])
                    .ctx(&context)
            })
            .and_then(|n| tx.commit().ctx(&context).map(|()| n));
        let n = match result {
            Ok(n) => n,
            Err(e) => {
                head.invalidate();
                return Err(e);
            }
        };
        cache.forget(key);
        Ok(n > 0)
    }

    /// Every stored series' key, ordered by key: [`Store::list_series`] without its sample counts
    /// and spans, so it reads the series table only (no scan of the samples: cheap at any size).
    pub fn series_keys(&self) -> Result<Vec<SeriesKey>, StoreError> {
        let context = "listing series keys";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT workload, metric FROM series ORDER BY workload, metric")
            .ctx(context)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .ctx(context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(context)?;
        rows.into_iter()
            .map(|(w, m)| stored_key(context, w, m))
            .collect()
    }

    /// The workloads that have at least one stored series, sorted.
    pub fn workloads(&self) -> Result<Vec<WorkloadId>, StoreError> {
        let context = "listing workloads";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT workload FROM series ORDER BY workload")
            .ctx(context)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .ctx(context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(context)?;
        names.into_iter().map(|w| workload(context, w)).collect()
    }
}

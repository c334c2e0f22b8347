//! Series and their samples: upsert (merging by timestamp), listing and loading.

use crate::codec::{key as stored_key, to_usize, workload};
use crate::error::{invalid, Context, StoreError};
use crate::head;
use crate::open::Store;
use crate::records::{SeriesInfo, UpsertStats};
use crate::series_stats::Added;
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
        let tx = self
            .conn
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
        // Recent live appends of this series first, so that this write overrides them.
        head::flush_series(&tx, id, &context)?;
        let mut stats = UpsertStats::default();
        let mut added = Added::default();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3)",
                )
                .ctx(&context)?;
            let mut update = tx
                .prepare_cached("UPDATE samples SET value = ?3 WHERE series_id = ?1 AND ts = ?2")
                .ctx(&context)?;
            for s in series.samples() {
                if insert.execute(params![id, s.ts.0, s.value]).ctx(&context)? == 1 {
                    stats.inserted += 1;
                    added.push(s.ts.0);
                } else {
                    update.execute(params![id, s.ts.0, s.value]).ctx(&context)?;
                    stats.replaced += 1;
                }
            }
        }
        added.write(&tx, id, &context)?;
        tx.commit().ctx(&context)?;
        // The labels may have changed under the live-append cache.
        self.cache.forget(&series.key);
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
                        t.raw_last
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
                ))
            })
            .ctx(context)?;
        let mut out = Vec::new();
        for row in rows {
            let (w, m, labels, n, first, last) = row.ctx(context)?;
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
        let samples = head::raw_tail(&self.conn, id, until, n, &context)?;
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
        let samples = head::raw_range(&self.conn, id, i64::MIN, until, context)?;
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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&context)?;
        // Samples and rollups go by cascade; the head has no foreign key (it would slow appends).
        head::delete_series(&tx, id, &context)?;
        let n = tx
            .execute("DELETE FROM series WHERE id = ?1", params![id])
            .ctx(&context)?;
        tx.commit().ctx(&context)?;
        self.cache.forget(key);
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

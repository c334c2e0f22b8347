//! Per-workload summaries of what is stored (series, raw and rollup counts, time span), one query
//! over the series and their summaries kept on write (see `series_stats.rs`).

use crate::codec::{earliest, latest, to_usize, workload};
use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use crate::series_stats::with_pending;
use prescale_core::{Labels, MetricName, Timestamp, WorkloadId};

/// One stored series of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    pub metric: MetricName,
    pub labels: Labels,
    /// Written by live appends, so subject to retention.
    pub live: bool,
    /// Raw samples stored.
    pub samples: usize,
    /// Rollup rows stored (steps whose raw samples retention replaced).
    pub rollups: usize,
    /// Raw samples those rollups summarize.
    pub rolled_samples: u64,
    /// Earliest raw sample or rollup step start.
    pub first: Option<Timestamp>,
    /// Latest raw sample or rollup step start.
    pub last: Option<Timestamp>,
}

/// One workload and its series, sorted by metric.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSummary {
    pub workload: WorkloadId,
    pub series: Vec<SeriesSummary>,
}

/// One series in a listing: its names, raw sample count and time span (raw samples or rollups),
/// as stored (no labels, no rollup detail: the cheapest row [`Store::series_spans`] can give).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSpan {
    pub workload: String,
    pub metric: String,
    pub samples: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

const SPAN_SQL: &str = "
SELECT s.workload, s.metric, COALESCE(t.raw_n, 0), t.raw_first, t.raw_last,
       t.rollup_first, t.rollup_last, s.id
FROM series s LEFT JOIN series_stats t ON t.series_id = s.id
ORDER BY s.workload, s.metric";

/// Raw counts and spans of `samples` and the head together, and of `rollups`, as kept on write.
const SUMMARY_SQL: &str = "
SELECT s.workload, s.metric, s.labels, s.live,
       COALESCE(t.raw_n, 0), t.raw_first, t.raw_last,
       COALESCE(t.rollup_rows, 0), COALESCE(t.rolled_n, 0), t.rollup_first, t.rollup_last, s.id
FROM series s LEFT JOIN series_stats t ON t.series_id = s.id
ORDER BY s.workload, s.metric";

type Row = (
    String,
    String,
    String,
    bool,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
);

impl Store {
    /// Every series' workload, metric, raw sample count and span, sorted by workload then metric:
    /// [`Store::workload_summaries`] without labels and rollup counts, for listings of many series.
    pub fn series_spans(&self) -> Result<Vec<SeriesSpan>, StoreError> {
        let context = "listing series spans";
        let mut stmt = self.conn.prepare_cached(SPAN_SQL).ctx(context)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .ctx(context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(context)?;
        let pending = self.pending_adds(context)?;
        let mut out = Vec::with_capacity(rows.len());
        for (workload, metric, n, raw_first, raw_last, up_first, up_last, id) in rows {
            let (n, raw_first, raw_last) = with_pending(&pending, id, n, raw_first, raw_last);
            out.push(SeriesSpan {
                workload,
                metric,
                samples: u64::try_from(n).map_err(|_| {
                    invalid(context, format!("stored sample count {n} is negative"))
                })?,
                first: earliest(raw_first, up_first),
                last: latest(raw_last, up_last),
            });
        }
        Ok(out)
    }

    /// Every workload with its series, raw sample and rollup counts and time span, sorted by
    /// workload then metric. One query reading one row a series: it costs O(series), whatever the
    /// number of samples.
    pub fn workload_summaries(&self) -> Result<Vec<WorkloadSummary>, StoreError> {
        let context = "summarizing workloads";
        let mut stmt = self.conn.prepare_cached(SUMMARY_SQL).ctx(context)?;
        let rows = stmt
            .query_map([], |r| -> rusqlite::Result<Row> {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ))
            })
            .ctx(context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(context)?;
        let pending = self.pending_adds(context)?;
        let mut out: Vec<WorkloadSummary> = Vec::new();
        for (w, m, labels, live, raw_n, raw_first, raw_last, rows, rolled, up_first, up_last, id) in
            rows
        {
            let (raw_n, raw_first, raw_last) =
                with_pending(&pending, id, raw_n, raw_first, raw_last);
            let metric = MetricName::new(m)
                .map_err(|e| invalid(context, format!("stored metric name: {e}")))?;
            let summary = SeriesSummary {
                metric,
                labels: serde_json::from_str(&labels).ctx(context)?,
                live,
                samples: to_usize(context, "sample count", raw_n)?,
                rollups: to_usize(context, "rollup count", rows)?,
                rolled_samples: u64::try_from(rolled).map_err(|_| {
                    invalid(
                        context,
                        format!("stored rollup sample count {rolled} is negative"),
                    )
                })?,
                first: earliest(raw_first, up_first),
                last: latest(raw_last, up_last),
            };
            match out.last_mut() {
                Some(last) if last.workload.as_str() == w => last.series.push(summary),
                _ => out.push(WorkloadSummary {
                    workload: workload(context, w)?,
                    series: vec![summary],
                }),
            }
        }
        Ok(out)
    }
}

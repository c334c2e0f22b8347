//! Per-workload summaries of what is stored (series, raw and rollup counts, time span), one query.

use crate::codec::{earliest, latest, to_usize, workload};
use crate::error::{invalid, Context, StoreError};
use crate::head::HEAD_ONLY;
use crate::open::Store;
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

/// Raw counts and spans come from `samples` plus the head rows not also in it.
fn summary_sql() -> String {
    format!(
        "SELECT s.workload, s.metric, s.labels, s.live,
                COALESCE(r.n, 0) + COALESCE(h.n, 0),
                MIN(COALESCE(r.first, h.first), COALESCE(h.first, r.first)),
                MAX(COALESCE(r.last, h.last), COALESCE(h.last, r.last)),
                COALESCE(u.rows, 0), COALESCE(u.n, 0), u.first, u.last
         FROM series s
         LEFT JOIN (SELECT series_id, COUNT(*) AS n, MIN(ts) AS first, MAX(ts) AS last
                    FROM samples GROUP BY series_id) r ON r.series_id = s.id
         LEFT JOIN ({HEAD_ONLY}) h ON h.series_id = s.id
         LEFT JOIN (SELECT series_id, COUNT(*) AS rows, SUM(n) AS n, MIN(ts) AS first,
                           MAX(ts) AS last
                    FROM rollups GROUP BY series_id) u ON u.series_id = s.id
         ORDER BY s.workload, s.metric"
    )
}

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
);

impl Store {
    /// Every workload with its series, raw sample and rollup counts and time span, sorted by
    /// workload then metric. One query: grouped scans of the samples, head and rollups tables.
    pub fn workload_summaries(&self) -> Result<Vec<WorkloadSummary>, StoreError> {
        let context = "summarizing workloads";
        let mut stmt = self.conn.prepare_cached(&summary_sql()).ctx(context)?;
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
                ))
            })
            .ctx(context)?;
        let mut out: Vec<WorkloadSummary> = Vec::new();
        for row in rows {
            let (w, m, labels, live, raw_n, raw_first, raw_last, rows, rolled, up_first, up_last) =
                row.ctx(context)?;
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

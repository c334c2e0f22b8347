//! Where the writer commits points: the embedded store, or a Prometheus-compatible server by remote-write.

use crate::config::RetentionSchedule;
use prescale_core::point::SeriesPoints;
use prescale_core::{Point, Timestamp};
use prescale_remote::RemoteWriter;
use prescale_store::{Retention, Store};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SinkError {
    #[error(transparent)]
    Store(#[from] prescale_store::StoreError),
    #[error(transparent)]
    Remote(#[from] prescale_remote::RemoteError),
    #[error(transparent)]
    Bus(#[from] prescale_bus::BusError),
}

/// A destination for points; synchronous, called from a blocking thread.
pub trait PointSink: Send + 'static {
    /// Commits `points` and the samples of `series` durably (all or nothing); returns how many
    /// samples were written.
    fn append(&mut self, points: &[Point], series: &[SeriesPoints]) -> Result<usize, SinkError>;
    /// Commits like [`PointSink::append`] but may return before the commit is durable, with the
    /// wait for it, so that the writer can commit the next batch meanwhile (the embedded store's
    /// group commit); acknowledge only once the wait returned `Ok`. By default `append`, with
    /// nothing left to wait for.
    fn append_deferred(
        &mut self,
        points: &[Point],
        series: &[SeriesPoints],
    ) -> Result<(usize, Option<DurableWait>), SinkError> {
        self.append(points, series).map(|n| (n, None))
    }
    /// Applies retention as of `now`; returns a one-line summary for the log.
    fn retention(&mut self, r: &RetentionSchedule, now: Timestamp) -> Result<String, SinkError>;
}

/// Blocks until a deferred commit is durable (see [`PointSink::append_deferred`]).
pub type DurableWait = Box<dyn FnOnce() -> Result<(), SinkError> + Send>;

/// Old decisions deleted per transaction.
const DECISIONS_PER_BATCH: usize = 10_000;

impl PointSink for Store {
    fn append(&mut self, points: &[Point], series: &[SeriesPoints]) -> Result<usize, SinkError> {
        self.append_batch(points, series)?;
        Ok(points.len() + series.iter().map(|s| s.samples.len()).sum::<usize>())
    }

    fn append_deferred(
        &mut self,
        points: &[Point],
        series: &[SeriesPoints],
    ) -> Result<(usize, Option<DurableWait>), SinkError> {
        let (_, pending) = self.append_batch_deferred(points, series)?;
        let n = points.len() + series.iter().map(|s| s.samples.len()).sum::<usize>();
        let wait: DurableWait = Box::new(move || pending.wait().map_err(SinkError::from));
        Ok((n, Some(wait)))
    }

    fn retention(&mut self, r: &RetentionSchedule, now: Timestamp) -> Result<String, SinkError> {
        let stats = self.apply_retention(
            &Retention {
                raw_for: r.raw_for,
                rollup_for: r.rollup_for,
                rollup_step: r.rollup_step,
                ..Retention::default()
            },
            now,
        )?;
        let decisions = match r.decisions_for {
            Some(keep) => {
                let keep = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
                self.prune_decisions(Timestamp(now.0.saturating_sub(keep)), DECISIONS_PER_BATCH)?
            }
            None => 0,
        };
        Ok(format!(
            "{} raw rolled up, {} rollups written, {} rollups deleted, {} series dropped, {} decisions pruned",
            stats.raw_rolled_up,
            stats.rollups_written,
            stats.rollups_deleted,
            stats.series_dropped,
            decisions
        ))
    }
}

/// Raw telemetry kept in Prometheus/VictoriaMetrics: points are pushed; retention is that server's job.
pub struct RemoteSink {
    pub writer: RemoteWriter,
}

impl PointSink for RemoteSink {
    fn append(&mut self, points: &[Point], series: &[SeriesPoints]) -> Result<usize, SinkError> {
        if series.is_empty() {
            self.writer.push_points(points)?;
            return Ok(points.len());
        }
        let mut all = points.to_vec();
        all.extend(series.iter().flat_map(SeriesPoints::points));
        self.writer.push_points(&all)?;
        Ok(all.len())
    }

    fn retention(&mut self, _r: &RetentionSchedule, _now: Timestamp) -> Result<String, SinkError> {
        Ok("left to the remote store".to_string())
    }
}

//! The writer's sink in cluster mode: every source's points go to the bus, partitioned by
//! workload, and reach a store only through the consumer of the partition's owner. A publish
//! that fails fails the commit (remote-write answers an error, so the sender retries).

use crate::config::RetentionSchedule;
use crate::sink::{PointSink, SinkError};
use prescale_bus::Publisher;
use prescale_core::point::SeriesPoints;
use prescale_core::{Point, Timestamp};

pub struct BusSink {
    pub publisher: Publisher,
    pub handle: tokio::runtime::Handle,
}

impl PointSink for BusSink {
    fn append(&mut self, points: &[Point], series: &[SeriesPoints]) -> Result<usize, SinkError> {
        let all: Vec<Point>;
        let points = if series.is_empty() {
            points
        } else {
            all = points
                .iter()
                .cloned()
                .chain(series.iter().flat_map(|s| s.points()))
                .collect();
            &all
        };
        let report = self.handle.block_on(self.publisher.publish(points))?;
        Ok(report.points)
    }

    /// Retention runs on the store the partitions are consumed into, not here.
    fn retention(&mut self, _r: &RetentionSchedule, _now: Timestamp) -> Result<String, SinkError> {
        Ok("applied by the store writer of the consumed partitions".to_string())
    }
}

//! Time ranges, chunk planning under the per-request point limit, and merging of chunked samples.

use crate::error::RemoteError;
use prescale_core::{Interval, Sample, Timestamp};

/// Prometheus refuses range queries that would return more than this many points per series.
pub const PROMETHEUS_MAX_POINTS: usize = 11_000;

/// An inclusive time range `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl TimeRange {
    /// Fails when `end` is before `start`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, RemoteError> {
        if end < start {
            return Err(RemoteError::Range(format!(
                "end {end} is before start {start}"
            )));
        }
        Ok(TimeRange { start, end })
    }

    /// Whether `ts` lies inside the range (both ends included).
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.start <= ts && ts <= self.end
    }

    /// Splits the range into consecutive chunks on the grid `start + k*step`, each evaluating at
    /// most `max_points` steps; chunk `i+1` starts one step after chunk `i` ends, so no grid point
    /// is evaluated twice.
    pub fn chunks(&self, step: Interval, max_points: usize) -> Vec<TimeRange> {
        let span = step
            .millis()
            .saturating_mul(i64::try_from(max_points.max(1) - 1).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        let mut start = self.start.0;
        loop {
            let end = start.saturating_add(span).min(self.end.0);
            out.push(TimeRange {
                start: Timestamp(start),
                end: Timestamp(end),
            });
            let next = end.saturating_add(step.millis());
            if end >= self.end.0 || next > self.end.0 {
                break;
            }
            start = next;
        }
        out
    }

    /// Splits the range into consecutive, non-overlapping chunks of at most `span` milliseconds
    /// (for raw reads, where every millisecond may hold a sample).
    pub fn spans(&self, span_ms: i64) -> Vec<TimeRange> {
        let span_ms = span_ms.max(1);
        let mut out = Vec::new();
        let mut start = self.start.0;
        loop {
            let end = start.saturating_add(span_ms - 1).min(self.end.0);
            out.push(TimeRange {
                start: Timestamp(start),
                end: Timestamp(end),
            });
            if end >= self.end.0 {
                break;
            }
            start = end + 1;
        }
        out
    }
}

/// Sorts by time and keeps one sample per timestamp (the last one given, as a later chunk or
/// write is the newer answer).
pub fn merge_samples(samples: &mut Vec<Sample>) {
    samples.sort_by_key(|s| s.ts);
    let mut out: Vec<Sample> = Vec::with_capacity(samples.len());
    for s in samples.drain(..) {
        match out.last_mut() {
            Some(last) if last.ts == s.ts => *last = s,
            _ => out.push(s),
        }
    }
    *samples = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(a: i64, b: i64) -> TimeRange {
        TimeRange::new(Timestamp(a), Timestamp(b)).unwrap()
    }

    #[test]
    fn chunks_respect_the_point_limit() {
        let step = Interval::from_secs(15).unwrap();
        // 30 days at 15 s = 172_801 points -> 16 chunks of <= 11_000 points.
        let range = r(0, 30 * 86_400_000);
        let chunks = range.chunks(step, PROMETHEUS_MAX_POINTS);
        assert_eq!(chunks.len(), 16);
        assert_eq!(chunks[0], r(0, 10_999 * 15_000));
        assert_eq!(chunks[1].start.0, 11_000 * 15_000);
        assert_eq!(chunks.last().unwrap().end, range.end);
        assert_eq!(r(5, 5).chunks(step, 10), vec![r(5, 5)]);
        assert!(TimeRange::new(Timestamp(2), Timestamp(1)).is_err());
    }

    #[test]
    fn spans_tile_the_range() {
        let chunks = r(0, 10).spans(4);
        assert_eq!(chunks, vec![r(0, 3), r(4, 7), r(8, 10)]);
    }

    #[test]
    fn merge_keeps_last_per_timestamp() {
        let s = |t, v| Sample {
            ts: Timestamp(t),
            value: v,
        };
        let mut v = vec![s(3, 1.0), s(1, 1.0), s(3, 2.0), s(2, 5.0)];
        merge_samples(&mut v);
        assert_eq!(v, vec![s(1, 1.0), s(2, 5.0), s(3, 2.0)]);
    }

    proptest! {
        #[test]
        fn chunks_cover_every_grid_point_once(
            start in -1_000_000i64..1_000_000,
            len in 0i64..5_000_000,
            step_ms in 1i64..100_000,
            max_points in 1usize..50,
        ) {
            let range = r(start, start + len);
            let step = Interval::from_millis(step_ms).unwrap();
            let chunks = range.chunks(step, max_points);
            let mut grid = Vec::new();
            for c in &chunks {
                prop_assert!(c.start <= c.end);
                let n = (c.end.0 - c.start.0) / step_ms + 1;
                prop_assert!(n as usize <= max_points);
                let mut t = c.start.0;
                while t <= c.end.0 { grid.push(t); t += step_ms; }
            }
            let expected: Vec<i64> = (0..=len / step_ms).map(|k| start + k * step_ms).collect();
            prop_assert_eq!(grid, expected);
        }
    }
}

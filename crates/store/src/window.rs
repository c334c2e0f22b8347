//! Reading a time window through retention: raw samples where they are kept, rollup means where
//! retention has replaced them.

use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use prescale_core::{Interval, Sample, SeriesKey, Timestamp};
use rusqlite::{params, OptionalExtension};

/// One rollup row: the samples of one step of one series, summarized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rollup {
    /// Step start; the step covers `[start, start + step)`.
    pub start: Timestamp,
    pub step: Interval,
    /// Number of raw samples summarized (at least 1).
    pub count: u64,
    /// Their sum; `sum / count` is the mean.
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Rollup {
    /// The mean of the summarized samples.
    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }
}

impl Store {
    /// The row id of a stored series.
    pub(crate) fn series_id(
        &self,
        key: &SeriesKey,
        context: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached("SELECT id FROM series WHERE workload = ?1 AND metric = ?2")
            .ctx(context)?
            .query_row(params![key.workload.as_str(), key.metric.as_str()], |r| {
                r.get(0)
            })
            .optional()
            .ctx(context)
    }

    /// The rollups of a series whose step starts in `from..=to`, in time order (empty when the series
    /// is not stored).
    pub fn load_rollups(
        &self,
        key: &SeriesKey,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Rollup>, StoreError> {
        let context = format!("loading rollups of {key} from {from} to {to}");
        let Some(id) = self.series_id(key, &context)? else {
            return Ok(Vec::new());
        };
        let rows = self
            .conn
            .prepare_cached(
                "SELECT ts, step_ms, n, total, lo, hi FROM rollups
                 WHERE series_id = ?1 AND ts BETWEEN ?2 AND ?3 ORDER BY ts",
            )
            .ctx(&context)?
            .query_map(params![id, from.0, to.0], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, f64>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, f64>(5)?,
                ))
            })
            .ctx(&context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(&context)?;
        rows.into_iter()
            .map(|(ts, step, n, sum, min, max)| {
                let step = Interval::from_millis(step).ok_or_else(|| {
                    invalid(&context, format!("stored rollup step {step} ms at {ts}"))
                })?;
                let count = u64::try_from(n)
                    .ok()
                    .filter(|&c| c > 0)
                    .ok_or_else(|| invalid(&context, format!("stored rollup count {n} at {ts}")))?;
                Ok(Rollup {
                    start: Timestamp(ts),
                    step,
                    count,
                    sum,
                    min,
                    max,
                })
            })
            .collect()
    }

    /// The samples of a series with time in `from..=to`, strictly increasing in time: raw samples
    /// where they are kept and, for each step that retention rolled up, one sample at the step start
    /// whose value is the step mean. A raw sample that arrived late into an already rolled-up step
    /// (not yet folded in by the next retention run) is folded into that step's mean here, weighted
    /// by count, so the result is what the next retention run will leave. Empty when the series is
    /// not stored or `from > to`.
    pub fn load_window(
        &self,
        key: &SeriesKey,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Sample>, StoreError> {
        let context = format!("loading {key} from {from} to {to}");
        if from > to {
            return Ok(Vec::new());
        }
        let Some(id) = self.series_id(key, &context)? else {
            return Ok(Vec::new());
        };
        let raw = self.raw_range(id, from.0, to.0, &context)?;
        let rollups = self.load_rollups(key, from, to)?;
        Ok(merge(&raw, &rollups))
    }
}

/// Merges time-ordered raw samples and rollups: raw samples before a rollup's step pass through,
/// raw samples inside it are folded into its mean, which is emitted at the step start.
fn merge(raw: &[Sample], rollups: &[Rollup]) -> Vec<Sample> {
    let mut out = Vec::with_capacity(raw.len() + rollups.len());
    let mut i = 0;
    for r in rollups {
        while let Some(s) = raw.get(i).filter(|s| s.ts < r.start) {
            out.push(*s);
            i += 1;
        }
        let end = r.start.0.saturating_add(r.step.millis());
        let (mut sum, mut count) = (r.sum, r.count as f64);
        while let Some(s) = raw.get(i).filter(|s| s.ts.0 < end) {
            sum += s.value;
            count += 1.0;
            i += 1;
        }
        // A rollup shadowed by an earlier, longer step (the step was changed) is still emitted at
        // its own start, which is later than everything emitted so far.
        out.push(Sample {
            ts: r.start,
            value: sum / count,
        });
    }
    out.extend_from_slice(raw.get(i..).unwrap_or_default());
    out
}

/// The store as a window source: raw samples, and rollup means where retention has replaced them.
impl prescale_core::WindowSource for Store {
    fn load_window(
        &self,
        key: &SeriesKey,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Sample>, prescale_core::WindowError> {
        Store::load_window(self, key, from, to)
            .map_err(|e| prescale_core::WindowError::backend("embedded store", e))
    }

    fn keys(&self) -> Result<Vec<SeriesKey>, prescale_core::WindowError> {
        let mut keys: Vec<SeriesKey> = self
            .list_series()
            .map_err(|e| prescale_core::WindowError::backend("embedded store", e))?
            .into_iter()
            .map(|s| s.key)
            .collect();
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts: i64, value: f64) -> Sample {
        Sample {
            ts: Timestamp(ts),
            value,
        }
    }

    fn r(start: i64, step: i64, values: &[f64]) -> Rollup {
        Rollup {
            start: Timestamp(start),
            step: Interval::from_millis(step).unwrap(),
            count: values.len() as u64,
            sum: values.iter().sum(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    #[test]
    fn raw_passes_through_and_late_raw_folds_into_its_step() {
        let raw = [s(5, 1.0), s(60, 9.0), s(130, 4.0), s(200, 7.0)];
        // Steps [0,60) and [120,180): the late sample at 130 joins the second one.
        let rollups = [r(0, 60, &[2.0, 4.0]), r(120, 60, &[1.0, 1.0, 1.0])];
        let got = merge(&raw, &rollups);
        assert_eq!(
            got,
            [
                s(0, (2.0 + 4.0 + 1.0) / 3.0),
                s(60, 9.0),
                s(120, (3.0 + 4.0) / 4.0),
                s(200, 7.0)
            ]
        );
        assert!(merge(&[], &[]).is_empty());
        assert_eq!(merge(&raw[..1], &[]), [s(5, 1.0)]);
    }
}

//! Resampling onto a coarser regular grid: bucket by `floor(ts / step) * step`, empty buckets absent.

use crate::import::ImportError;
use prescale_core::{Interval, Sample, Series, Timestamp};
use prescale_math::mean;

/// How the samples of one bucket become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agg {
    Sum,
    Mean,
    Max,
    /// The latest sample of the bucket.
    Last,
}

fn aggregate(values: &[f64], agg: Agg) -> Option<f64> {
    match agg {
        Agg::Sum => (!values.is_empty()).then(|| values.iter().sum()),
        Agg::Mean => mean(values),
        Agg::Max => values.iter().copied().reduce(f64::max),
        Agg::Last => values.last().copied(),
    }
}

/// Resamples `series` to buckets of `step`; each output sample sits at its bucket start.
/// Buckets without samples are left out (not zero). Keys and labels are kept.
pub fn resample(series: &Series, step: Interval, agg: Agg) -> Result<Series, ImportError> {
    let fail = |reason: String| ImportError::Resample {
        key: series.key.to_string(),
        reason,
    };
    let step_ms = step.millis();
    let mut out = Vec::new();
    let mut group: Vec<f64> = Vec::new();
    let mut current: Option<i64> = None;
    let flush = |bucket: i64, group: &mut Vec<f64>, out: &mut Vec<Sample>| {
        if let Some(value) = aggregate(group, agg) {
            out.push(Sample {
                ts: Timestamp(bucket),
                value,
            });
        }
        group.clear();
    };
    for s in series.samples() {
        let bucket =
            s.ts.0
                .checked_sub(s.ts.0.rem_euclid(step_ms))
                .ok_or_else(|| fail(format!("timestamp {} has no bucket start in range", s.ts)))?;
        if let Some(b) = current.filter(|&b| b != bucket) {
            flush(b, &mut group, &mut out);
        }
        current = Some(bucket);
        group.push(s.value);
    }
    if let Some(b) = current {
        flush(b, &mut group, &mut out);
    }
    Series::new(series.key.clone(), series.labels.clone(), out).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Labels, MetricName, SeriesKey, WorkloadId};

    fn series(points: &[(i64, f64)]) -> Series {
        let key = SeriesKey::new(WorkloadId::new("w").unwrap(), MetricName::new("m").unwrap());
        let samples = points
            .iter()
            .map(|&(t, v)| Sample {
                ts: Timestamp(t),
                value: v,
            })
            .collect();
        Series::new(key, Labels::new(), samples).unwrap()
    }

    fn points(s: &Series) -> Vec<(i64, f64)> {
        s.samples().iter().map(|s| (s.ts.0, s.value)).collect()
    }

    #[test]
    fn buckets_known_answers() {
        let s = series(&[(0, 1.0), (30, 3.0), (60, 5.0), (200, 7.0), (230, 2.0)]);
        let step = Interval::from_millis(60).unwrap();
        assert_eq!(
            points(&resample(&s, step, Agg::Sum).unwrap()),
            [(0, 4.0), (60, 5.0), (180, 9.0)]
        );
        assert_eq!(
            points(&resample(&s, step, Agg::Mean).unwrap()),
            [(0, 2.0), (60, 5.0), (180, 4.5)]
        );
        assert_eq!(
            points(&resample(&s, step, Agg::Max).unwrap()),
            [(0, 3.0), (60, 5.0), (180, 7.0)]
        );
        assert_eq!(
            points(&resample(&s, step, Agg::Last).unwrap()),
            [(0, 3.0), (60, 5.0), (180, 2.0)]
        );
    }

    #[test]
    fn negative_times_floor_down() {
        let s = series(&[(-90, 1.0), (-30, 2.0), (10, 4.0)]);
        let step = Interval::from_millis(60).unwrap();
        assert_eq!(
            points(&resample(&s, step, Agg::Sum).unwrap()),
            [(-120, 1.0), (-60, 2.0), (0, 4.0)]
        );
    }

    #[test]
    fn overflowing_sum_is_an_error_not_a_panic() {
        let s = series(&[(0, f64::MAX), (1, f64::MAX)]);
        let err = resample(&s, Interval::from_millis(60).unwrap(), Agg::Sum).unwrap_err();
        assert!(err.to_string().starts_with("resampling w/m:"), "{err}");
        let s = series(&[(i64::MIN, 1.0)]);
        assert!(resample(&s, Interval::from_millis(7).unwrap(), Agg::Sum).is_err());
    }

    #[test]
    fn empty_series_stays_empty() {
        let s = series(&[]);
        assert!(resample(&s, Interval::from_millis(60).unwrap(), Agg::Mean)
            .unwrap()
            .is_empty());
    }
}

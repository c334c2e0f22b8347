//! Aligning a raw telemetry window to the decision step: mean per step (prescale-telemetry's
//! resample), complete steps only, gaps between steps filled by linear interpolation.

use prescale_core::{Interval, Labels, Sample, Series, SeriesKey, Timestamp};
use prescale_telemetry::resample::{resample, Agg};

/// Complete steps of `window` as `(step start ms, mean)`, oldest first: a step `[s, s + step)` is
/// complete once `s + step <= now`. Non-finite values are dropped and duplicate timestamps keep the
/// last value, so any window aligns.
pub fn complete_steps(
    key: &SeriesKey,
    window: &[Sample],
    step_ms: i64,
    now: Timestamp,
) -> Vec<(i64, f64)> {
    let mut clean: Vec<Sample> = window
        .iter()
        .filter(|s| s.value.is_finite())
        .copied()
        .collect();
    clean.sort_by_key(|s| s.ts);
    clean.dedup_by(|later, earlier| {
        if later.ts == earlier.ts {
            earlier.value = later.value;
            true
        } else {
            false
        }
    });
    let Some(step) = Interval::from_millis(step_ms) else {
        return Vec::new();
    };
    let Ok(series) = Series::new(key.clone(), Labels::new(), clean) else {
        return Vec::new();
    };
    let Ok(stepped) = resample(&series, step, Agg::Mean) else {
        return Vec::new();
    };
    stepped
        .samples()
        .iter()
        .filter(|s| s.ts.0.saturating_add(step_ms) <= now.0)
        .map(|s| (s.ts.0, s.value))
        .collect()
}

/// Values for the steps after `last` (start ms, value) up to and including `next`, interpolating
/// the steps in between linearly.
pub fn fill_to(last: (i64, f64), next: (i64, f64), step_ms: i64) -> Vec<f64> {
    let gap = ((next.0 - last.0) / step_ms.max(1)).max(1);
    (1..=gap)
        .map(|k| last.1 + (next.1 - last.1) * (k as f64) / (gap as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{MetricName, WorkloadId};

    fn key() -> SeriesKey {
        SeriesKey::new(WorkloadId::new("w").unwrap(), MetricName::new("m").unwrap())
    }

    fn s(ts: i64, value: f64) -> Sample {
        Sample {
            ts: Timestamp(ts),
            value,
        }
    }

    #[test]
    fn means_complete_steps_only() {
        let w = [
            s(0, 1.0),
            s(500, 3.0),
            s(1000, 10.0),
            s(1000, 20.0),
            s(1500, f64::NAN),
            s(2100, 7.0),
        ];
        // Step 2000..3000 is not complete at 2999.
        assert_eq!(
            complete_steps(&key(), &w, 1000, Timestamp(2999)),
            vec![(0, 2.0), (1000, 20.0)]
        );
        assert_eq!(complete_steps(&key(), &w, 1000, Timestamp(3000)).len(), 3);
        assert!(complete_steps(&key(), &[], 1000, Timestamp(3000)).is_empty());
    }

    #[test]
    fn fills_gaps_linearly() {
        assert_eq!(fill_to((0, 0.0), (3000, 3.0), 1000), vec![1.0, 2.0, 3.0]);
        assert_eq!(fill_to((0, 5.0), (1000, 6.0), 1000), vec![6.0]);
    }
}

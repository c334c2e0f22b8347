//! One workload's stored series up to a time as a fingerprint input (series of 8+ samples), and
//! whether the store knows a workload at all.

use crate::inputs::MIN_SAMPLES;
use crate::LearnError;
use prescale_core::{Interval, Timestamp, WorkloadId};
use prescale_fingerprint::{MetricInput, WorkloadInput};
use prescale_store::Store;

/// `w`'s series with samples at or before `until` (raw samples only, as the fleet loader reads
/// them), with the median of their sampling intervals; `None` when no series has 8 or more.
pub fn workload_input(
    store: &Store,
    w: &WorkloadId,
    until: Timestamp,
) -> Result<Option<(WorkloadInput, Option<Interval>)>, LearnError> {
    let mut metrics = Vec::new();
    let mut intervals = Vec::new();
    for key in store.series_keys()?.iter().filter(|k| &k.workload == w) {
        let Some(series) = store.load_series_until(key, until)? else {
            continue;
        };
        if series.len() < MIN_SAMPLES {
            continue;
        }
        if let Some(i) = series.median_interval() {
            intervals.push(i);
        }
        metrics.push(MetricInput {
            metric: key.metric.clone(),
            values: series.values(),
        });
    }
    if metrics.is_empty() {
        return Ok(None);
    }
    intervals.sort_unstable();
    let interval = intervals.get(intervals.len() / 2).copied();
    Ok(Some((
        WorkloadInput {
            workload: w.clone(),
            metrics,
        },
        interval,
    )))
}

/// Whether the store has a series or a fingerprint of `w`; [`LearnError::UnknownWorkload`] if not.
pub fn known_workload(store: &Store, w: &WorkloadId) -> Result<(), LearnError> {
    if store.series_keys()?.iter().any(|k| &k.workload == w)
        || !store.fingerprint_history(w)?.is_empty()
    {
        Ok(())
    } else {
        Err(LearnError::UnknownWorkload {
            workload: w.to_string(),
        })
    }
}

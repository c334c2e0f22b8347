//! Reads the fleet's series out of the store as fingerprint inputs (8+ samples per series).

use crate::LearnError;
use prescale_core::{Interval, Timestamp, WorkloadId};
use prescale_fingerprint::{MetricInput, WorkloadInput};
use prescale_store::Store;
use std::collections::BTreeMap;

/// Shortest series that takes part in fingerprints.
pub const MIN_SAMPLES: usize = 8;

/// Every workload's metrics as known at some time, with the fleet's typical interval.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetInputs {
    pub workloads: Vec<WorkloadInput>,
    /// Median of the series' median sampling intervals; `None` when no series has two samples.
    pub interval: Option<Interval>,
    /// `at` when given, else the newest sample (`Timestamp(0)` for an empty store).
    pub as_of: Timestamp,
}

/// Loads each workload's metrics up to `at` (all data when `None`); series shorter than
/// [`MIN_SAMPLES`] are left out.
pub fn load_inputs(store: &Store, at: Option<Timestamp>) -> Result<FleetInputs, LearnError> {
    let infos = store.list_series()?;
    let mut by_workload: BTreeMap<WorkloadId, Vec<MetricInput>> = BTreeMap::new();
    let mut intervals = Vec::new();
    let mut newest = None::<Timestamp>;
    for info in &infos {
        let series = match at {
            Some(t) => store.load_series_until(&info.key, t)?,
            None => store.load_series(&info.key)?,
        };
        let Some(series) = series else { continue };
        if series.len() < MIN_SAMPLES {
            continue;
        }
        if let Some(i) = series.median_interval() {
            intervals.push(i.millis());
        }
        newest = newest.max(series.last_ts());
        by_workload
            .entry(info.key.workload.clone())
            .or_default()
            .push(MetricInput {
                metric: info.key.metric.clone(),
                values: series.values(),
            });
    }
    intervals.sort_unstable();
    let interval = intervals
        .get(intervals.len() / 2)
        .and_then(|m| Interval::from_millis(*m));
    let workloads = by_workload
        .into_iter()
        .map(|(workload, metrics)| WorkloadInput { workload, metrics })
        .collect();
    Ok(FleetInputs {
        workloads,
        interval,
        as_of: at.or(newest).unwrap_or(Timestamp(0)),
    })
}

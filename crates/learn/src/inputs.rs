//! Reads the fleet's series out of the store as fingerprint inputs (8+ samples per series): the tail
//! of each series that the longest feature window covers, not the whole series.

use crate::LearnError;
use prescale_core::{Interval, Timestamp, WorkloadId};
use prescale_fingerprint::{MetricInput, WorkloadInput};
use prescale_store::{SeriesInfo, Store};
use std::collections::BTreeMap;

/// Shortest series that takes part in fingerprints.
pub const MIN_SAMPLES: usize = 8;

/// Every workload's metrics as known at some time, with the fleet's typical interval.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetInputs {
    pub workloads: Vec<WorkloadInput>,
    /// Median of the series' median sampling intervals (over the samples loaded); `None` when no
    /// series has two samples.
    pub interval: Option<Interval>,
    /// `at` when given, else the newest sample (`Timestamp(0)` for an empty store).
    pub as_of: Timestamp,
}

/// Loads the last `tail` samples (at least [`MIN_SAMPLES`]) of each series up to `at` (all data
/// when `None`), grouped by workload; series shorter than [`MIN_SAMPLES`] are left out. Features
/// over windows of at most `tail` samples are those of the whole series: pass the longest window of
/// the fingerprint configuration (`usize::MAX` loads everything).
pub fn load_inputs(
    store: &Store,
    at: Option<Timestamp>,
    tail: usize,
) -> Result<FleetInputs, LearnError> {
    load_tails(store, &store.list_series()?, at, tail)
}

/// Inputs for feature windows given as durations: as many samples of each series as the longest
/// window takes at the fleet's interval (whole series when `windows` is empty). The interval is read
/// from the samples themselves, so the count is first guessed from the stored spans and counts, and
/// the tails are read again, longer, when the interval they give needs more (at most [`TRIES`]
/// reads, then whole series).
pub fn load_inputs_for_windows(
    store: &Store,
    at: Option<Timestamp>,
    windows: &[Interval],
) -> Result<FleetInputs, LearnError> {
    let infos = store.list_series()?;
    let Some(&span) = windows.iter().max() else {
        return load_tails(store, &infos, at, usize::MAX);
    };
    let mut tail = guess_tail(&infos, span);
    for _ in 0..TRIES {
        let inputs = load_tails(store, &infos, at, tail)?;
        let needed = match inputs.interval {
            Some(interval) => interval.steps_in(span),
            // No interval: no window can be sized; the caller reports it.
            None => return Ok(inputs),
        };
        if needed <= tail {
            return Ok(inputs);
        }
        tail = needed;
    }
    load_tails(store, &infos, at, usize::MAX)
}

/// Reads of the tails before [`load_inputs_for_windows`] reads whole series.
pub const TRIES: usize = 3;

/// The samples `span` takes at the median of the series' mean intervals (from their stored counts
/// and spans), with a quarter more for series whose median interval is shorter than their mean
/// (gaps); [`MIN_SAMPLES`] when no series tells.
fn guess_tail(infos: &[SeriesInfo], span: Interval) -> usize {
    let mut means: Vec<i64> = infos
        .iter()
        .filter(|i| i.samples >= MIN_SAMPLES)
        .filter_map(|i| {
            let (first, last) = (i.first_ts?, i.last_ts?);
            let gaps = i64::try_from(i.samples - 1).ok()?;
            last.0.checked_sub(first.0).map(|d| d / gaps)
        })
        .collect();
    means.sort_unstable();
    match means
        .get(means.len() / 2)
        .and_then(|m| Interval::from_millis(*m))
    {
        Some(mean) => {
            let steps = mean.steps_in(span);
            steps.saturating_add(steps / 4).max(MIN_SAMPLES)
        }
        None => MIN_SAMPLES,
    }
}

/// [`load_inputs`] over already listed series.
fn load_tails(
    store: &Store,
    infos: &[SeriesInfo],
    at: Option<Timestamp>,
    tail: usize,
) -> Result<FleetInputs, LearnError> {
    let mut by_workload: BTreeMap<WorkloadId, Vec<MetricInput>> = BTreeMap::new();
    let mut intervals = Vec::new();
    let mut newest = None::<Timestamp>;
    let tail = tail.max(MIN_SAMPLES);
    for info in infos {
        // The stored count bounds the count up to `at`: too short now is too short then.
        if info.samples < MIN_SAMPLES || at.zip(info.first_ts).is_some_and(|(t, f)| f > t) {
            continue;
        }
        let Some(series) = store.load_series_tail(&info.key, at, tail)? else {
            continue;
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprints::fingerprint_config;
    use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey};
    use prescale_fingerprint::workload_features;

    fn minutes(m: i64) -> Interval {
        Interval::from_secs(m * 60).unwrap()
    }

    /// Workloads w0..w2 with metrics cpu and mem: `len` samples a minute apart ending at minute
    /// `len + 100`, after a 100-minute gap following one early sample (so the mean interval is
    /// longer than the median one); plus a short series (5 samples) in w0. The last 30 samples are
    /// left in the head.
    fn store(len: i64) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let mut points = Vec::new();
        for w in 0..3 {
            for (m, metric) in ["cpu", "mem", "short"].iter().enumerate() {
                if *metric == "short" && w > 0 {
                    continue;
                }
                let key = SeriesKey::new(
                    WorkloadId::new(format!("w{w}")).unwrap(),
                    MetricName::new(*metric).unwrap(),
                );
                let n = if *metric == "short" { 5 } else { len };
                let times = std::iter::once(0).chain((0..n).map(|i| (i + 100) * 60_000));
                for (i, ts) in times.enumerate() {
                    let x = i as f64 + (w * 7 + m as i64) as f64;
                    points.push(Point {
                        key: key.clone(),
                        labels: Labels::new(),
                        sample: Sample {
                            ts: Timestamp(ts),
                            value: (x * 0.3).sin() * 10.0 + x * 0.01,
                        },
                    });
                }
            }
        }
        let (old, recent) = points.split_at(points.len() - 30);
        store.append_points(old).unwrap();
        store.flush_head().unwrap();
        store.append_points(recent).unwrap();
        store
    }

    #[test]
    fn tails_give_the_features_of_whole_series() {
        let store = store(300);
        let windows = [minutes(10), minutes(60)];
        for at in [None, Some(Timestamp(250 * 60_000))] {
            let whole = load_inputs(&store, at, usize::MAX).unwrap();
            let tails = load_inputs_for_windows(&store, at, &windows).unwrap();
            assert_eq!(tails.interval, whole.interval);
            assert_eq!(tails.interval, Some(minutes(1)));
            assert_eq!(tails.as_of, whole.as_of);
            let cfg = fingerprint_config(&windows, minutes(1), 0.95, None).unwrap();
            assert_eq!(cfg.longest_window(), 60);
            assert_eq!(tails.workloads.len(), whole.workloads.len());
            for (t, w) in tails.workloads.iter().zip(&whole.workloads) {
                assert_eq!(t.workload, w.workload);
                // The short series is left out of both.
                assert_eq!(t.metrics.len(), 2);
                for (tm, wm) in t.metrics.iter().zip(&w.metrics) {
                    assert!(tm.values.len() >= 60 && tm.values.len() < wm.values.len());
                    assert_eq!(
                        tm.values[..],
                        wm.values[wm.values.len() - tm.values.len()..]
                    );
                }
                assert_eq!(
                    workload_features(t, &cfg).unwrap(),
                    workload_features(w, &cfg).unwrap()
                );
            }
        }
    }

    #[test]
    fn series_shorter_than_the_window_are_read_whole_and_the_count_filters_before_reading() {
        let store = store(40);
        let windows = [minutes(60)];
        let whole = load_inputs(&store, None, usize::MAX).unwrap();
        assert_eq!(
            load_inputs_for_windows(&store, None, &windows).unwrap(),
            whole
        );
        // Before minute 104 each long series holds 5 samples (the early one and minutes 100..=103):
        // too short then, although long enough now.
        let early = load_inputs_for_windows(&store, Some(Timestamp(103 * 60_000)), &windows);
        assert!(early.unwrap().workloads.is_empty());
        let guessed = guess_tail(&store.list_series().unwrap(), minutes(60));
        assert!(guessed >= MIN_SAMPLES);
    }
}

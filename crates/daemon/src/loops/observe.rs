//! Observe mode (`[observe]`): every `rescan` (every pass until one is observed) the store's
//! workloads are listed with their series; each one's demand metric is picked by rule — the first
//! of `metrics` it has, else (with `any_metric`) its series with the most samples —, series with no
//! sample in the last [`LIVE_MS`] are left out, and the `max_workloads` busiest by the recent mean
//! of that metric (the mean of its last [`RECENT_SAMPLES`] samples; ties by name) get a slot. An
//! observed slot is forecast-only whatever the global mode (its own mode) and its actuator is a
//! dry run: it never acts. A workload with a slot of its own (a `[[workload]]`, a
//! PredictiveScaler's) is never observed, and one that leaves the busiest (or goes quiet, or
//! changes demand metric) loses its slot. Runs on the control loop's plain thread, between passes.

use super::control::{make_slot, Slot};
use crate::config::ObserveConfig;
use crate::controls::Controls;
use prescale_actuate::{DryRun, RetryConfig};
use prescale_control::Mode;
use prescale_core::{SeriesKey, Timestamp, WorkloadId};
use prescale_store::{SeriesInfo, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// A series whose latest sample is older than this is not observed (the controller's default
/// `stale_after`: its forecasts would only hold).
pub const LIVE_MS: i64 = 5 * 60_000;
/// How many of a series' latest samples its busyness is the mean of.
pub const RECENT_SAMPLES: usize = 60;
/// Decisions an observed workload's dry-run actuator remembers.
const DRY_RUN_RECORDS: usize = 16;

/// The store the workloads are listed from and when they were last ranked.
pub struct ObserveSync {
    cfg: ObserveConfig,
    store: Store,
    listed_at: Option<Instant>,
}

impl ObserveSync {
    /// `store`: a connection of its own to the embedded store.
    pub fn new(cfg: ObserveConfig, store: Store) -> Self {
        ObserveSync {
            cfg,
            store,
            listed_at: None,
        }
    }

    /// Ranks the workloads when due and adds or removes observed slots in `slots`.
    pub fn reconcile(&mut self, slots: &mut Vec<Slot>, controls: &Controls, now: Timestamp) {
        // Until something is observed (a fresh store), listed every pass: the agent's first
        // samples are found on the next tick, not a rescan later.
        let observing = slots.iter().any(|s| s.observed);
        if observing
            && self
                .listed_at
                .is_some_and(|t| t.elapsed() < self.cfg.rescan)
        {
            return;
        }
        self.listed_at = Some(Instant::now());
        let chosen = match self.busiest(slots, now) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "listing workloads to observe; keeping the current ones");
                return;
            }
        };
        let wanted: BTreeSet<&SeriesKey> = chosen.iter().collect();
        let before = slots.len();
        slots.retain(|s| !s.observed || wanted.contains(&slot_key(s)));
        let removed = before - slots.len();
        let mut added = 0;
        for key in &chosen {
            if slots
                .iter()
                .any(|s| s.controller.spec().workload == key.workload)
            {
                continue;
            }
            let spec = self.cfg.spec(key.workload.clone(), key.metric.clone());
            match make_slot(
                spec,
                Some(Mode::ForecastOnly),
                Box::new(DryRun::new(DRY_RUN_RECORDS)),
                &RetryConfig::default(),
                None,
                controls,
            ) {
                Ok(mut slot) => {
                    slot.observed = true;
                    slots.push(slot);
                    added += 1;
                }
                Err(e) => {
                    tracing::warn!(workload = %key.workload, metric = %key.metric, error = %e, "not observed")
                }
            }
        }
        if added > 0 || removed > 0 {
            tracing::info!(
                observed = chosen.len(),
                added,
                removed,
                "observe mode: forecast-only forecasts of the busiest workloads"
            );
        }
    }

    /// The demand series of the busiest workloads without a slot of their own, busiest first.
    fn busiest(&self, slots: &[Slot], now: Timestamp) -> Result<Vec<SeriesKey>, StoreError> {
        let owned: BTreeSet<&WorkloadId> = slots
            .iter()
            .filter(|s| !s.observed)
            .map(|s| &s.controller.spec().workload)
            .collect();
        let mut by_workload: BTreeMap<WorkloadId, Vec<SeriesInfo>> = BTreeMap::new();
        for info in self.store.list_series()? {
            let live = info
                .last_ts
                .is_some_and(|t| now.0.saturating_sub(t.0) <= LIVE_MS);
            if live && !owned.contains(&info.key.workload) {
                by_workload
                    .entry(info.key.workload.clone())
                    .or_default()
                    .push(info);
            }
        }
        let mut ranked = Vec::new();
        for series in by_workload.values() {
            let Some(key) = demand_series(&self.cfg, series) else {
                continue;
            };
            let recent = self.store.load_series_tail(key, None, RECENT_SAMPLES)?;
            let values = recent
                .iter()
                .flat_map(|s| s.samples().iter().map(|x| x.value));
            if let Some(mean) = mean(values) {
                ranked.push((key.clone(), mean));
            }
        }
        Ok(top(ranked, self.cfg.max_workloads))
    }
}

/// The workload's demand series by the rule: the first of `metrics` it has, else with
/// `any_metric` its series with the most samples (ties: the first by name).
pub fn demand_series<'a>(cfg: &ObserveConfig, series: &'a [SeriesInfo]) -> Option<&'a SeriesKey> {
    let preferred = cfg
        .metrics
        .iter()
        .find_map(|m| series.iter().find(|s| &s.key.metric == m));
    let fallback = || {
        cfg.any_metric
            .then(|| {
                series
                    .iter()
                    .max_by(|a, b| a.samples.cmp(&b.samples).then(b.key.cmp(&a.key)))
            })
            .flatten()
    };
    preferred.or_else(fallback).map(|s| &s.key)
}

/// The `n` keys of the highest means, highest first (ties by key).
pub fn top(mut ranked: Vec<(SeriesKey, f64)>, n: usize) -> Vec<SeriesKey> {
    ranked.sort_by(|(ka, a), (kb, b)| b.total_cmp(a).then_with(|| ka.cmp(kb)));
    ranked.into_iter().take(n).map(|(k, _)| k).collect()
}

/// The mean of the finite values, `None` without any.
fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn slot_key(s: &Slot) -> SeriesKey {
    let spec = s.controller.spec();
    SeriesKey::new(spec.workload.clone(), spec.metric.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Labels, MetricName};

    fn info(w: &str, m: &str, samples: usize) -> SeriesInfo {
        SeriesInfo {
            key: key(w, m),
            labels: Labels::default(),
            samples,
            first_ts: Some(Timestamp(0)),
            last_ts: Some(Timestamp(1)),
        }
    }

    fn key(w: &str, m: &str) -> SeriesKey {
        SeriesKey::new(WorkloadId::new(w).unwrap(), MetricName::new(m).unwrap())
    }

    #[test]
    fn the_demand_metric_is_the_first_preferred_else_the_most_sampled() {
        let cfg = ObserveConfig::default();
        let agent = [info("a", "memory_bytes", 90), info("a", "cpu_cores", 10)];
        assert_eq!(demand_series(&cfg, &agent), Some(&key("a", "cpu_cores")));
        let pushed = [info("b", "errors", 5), info("b", "requests", 9)];
        assert_eq!(demand_series(&cfg, &pushed), Some(&key("b", "requests")));
        let tied = [info("b", "y", 5), info("b", "x", 5)];
        assert_eq!(demand_series(&cfg, &tied), Some(&key("b", "x")));
        let strict = ObserveConfig {
            any_metric: false,
            ..ObserveConfig::default()
        };
        assert_eq!(demand_series(&strict, &pushed), None);
    }

    #[test]
    fn the_busiest_are_kept_highest_first() {
        let ranked = vec![
            (key("a", "m"), 1.0),
            (key("c", "m"), 3.0),
            (key("b", "m"), 3.0),
            (key("d", "m"), 2.0),
        ];
        assert_eq!(
            top(ranked, 3),
            vec![key("b", "m"), key("c", "m"), key("d", "m")]
        );
        assert_eq!(mean([1.0, f64::NAN, 3.0].into_iter()), Some(2.0));
        assert_eq!(mean(std::iter::empty()), None);
    }
}

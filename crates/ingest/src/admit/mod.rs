//! Admission: validate raw samples, map them to workload series, turn counters into rates.
//!
//! [`Admission::admit`] takes a batch of [`RawSample`]s and returns the accepted
//! [`prescale_core::Point`]s plus a count of refusals by [`RejectReason`];
//! [`Admission::admit_request`] takes a decoded remote-write request and returns the accepted samples
//! grouped by series ([`SeriesPoints`], key and labels shared, not copied per sample). Refused samples change no
//! state, so accepted data never depends on refused data in the same batch. Each distinct input series
//! (name + full label set) is tracked once: its mapping is cached and, for counters, its last value
//! (the first sample of a counter only primes the rate and yields no point).

mod config;
mod rate;
mod reason;
mod rules;
mod template;

pub use config::AdmissionConfig;
pub use reason::RejectReason;
pub use rules::{MappingRule, MappingRules, NamePattern, RuleError};
pub use template::Template;

use crate::remote_write::{WriteRequest, NAME_LABEL};
use crate::{KindIndex, MetricKind, RawSample};
use prescale_core::point::SeriesPoints;
use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};
use rate::{CounterState, RateStep};
use rules::{render_metric, Unmapped};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Prometheus' staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The outcome of one batch: `T` is [`Point`] from `admit`, [`SeriesPoints`] from `admit_request`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmitReport<T = Point> {
    /// What to append (points in time order from `admit`; one entry per admitted series, its
    /// samples in time order, from `admit_request`).
    pub accepted: Vec<T>,
    /// Refused samples by reason.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// Counter samples that started a new rate (first sample of a series): neither accepted nor refused.
    pub primed: u64,
    /// Counter resets seen (a value lower than the previous one).
    pub counter_resets: u64,
}

impl<T> Default for AdmitReport<T> {
    fn default() -> Self {
        AdmitReport {
            accepted: Vec::new(),
            rejected: BTreeMap::new(),
            primed: 0,
            counter_resets: 0,
        }
    }
}

impl<T> AdmitReport<T> {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    fn reject(&mut self, reason: RejectReason) {
        *self.rejected.entry(reason).or_insert(0) += 1;
    }
}

/// What is remembered about one input series.
#[derive(Debug)]
struct SeriesState {
    key: Arc<SeriesKey>,
    labels: Arc<Labels>,
    /// Whether the series is admitted as a rate (`name:rate`).
    as_rate: bool,
    counter: Option<CounterState>,
    last_seen_ms: i64,
}

/// Admission state: config, mapping rules and the tracked series.
#[derive(Debug)]
pub struct Admission {
    cfg: AdmissionConfig,
    rules: MappingRules,
    series: HashMap<Vec<u8>, SeriesState>,
    /// Tracked series per workload (entries removed at zero).
    per_workload: HashMap<WorkloadId, usize>,
    scratch: Vec<u8>,
}

/// Prometheus' metric name rule: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// The series table and its limits, as [`with_series`] needs them.
struct Slots<'a> {
    series: &'a mut HashMap<Vec<u8>, SeriesState>,
    per_workload: &'a mut HashMap<WorkloadId, usize>,
    max_series: usize,
    max_per_workload: usize,
}

fn release(per_workload: &mut HashMap<WorkloadId, usize>, workload: &WorkloadId) {
    if let Some(n) = per_workload.get_mut(workload) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_workload.remove(workload);
        }
    }
}

/// Writes an unambiguous identity of `name` + sorted `labels` (length-prefixed parts) into `out`.
fn identity<'a>(out: &mut Vec<u8>, name: &str, labels: impl Iterator<Item = (&'a str, &'a str)>) {
    out.clear();
    let mut part = |s: &str| {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    part(name);
    for (k, v) in labels {
        part(k);
        part(v);
    }
}

impl AdmitReport<SeriesPoints> {
    /// The same outcome with one [`Point`] per accepted sample (series by series), as `admit` gives.
    pub fn flattened(self) -> AdmitReport {
        AdmitReport {
            accepted: self
                .accepted
                .iter()
                .flat_map(SeriesPoints::points)
                .collect(),
            rejected: self.rejected,
            primed: self.primed,
            counter_resets: self.counter_resets,
        }
    }

    /// Accepted samples, all series together.
    pub fn samples(&self) -> usize {
        self.accepted.iter().map(|s| s.samples.len()).sum()
    }
}

impl<T> AdmitReport<T> {
    fn reject_n(&mut self, reason: RejectReason, n: usize) {
        if n > 0 {
            *self.rejected.entry(reason).or_insert(0) += n as u64;
        }
    }
}

impl Admission {
    pub fn new(cfg: AdmissionConfig, rules: MappingRules) -> Self {
        Admission {
            cfg,
            rules,
            series: HashMap::new(),
            per_workload: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    pub fn config(&self) -> &AdmissionConfig {
        &self.cfg
    }

    /// Input series currently tracked (at most `max_series`).
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Input series currently tracked for `workload` (at most `max_series_per_workload`).
    pub fn workload_series_count(&self, workload: &str) -> usize {
        self.per_workload
            .iter()
            .find(|(w, _)| w.as_str() == workload)
            .map_or(0, |(_, n)| *n)
    }

    /// Forgets series whose newest admitted sample is older than `now_ms - idle_ms` (sample time),
    /// freeing their slots; returns how many. A forgotten counter primes again on its next sample.
    pub fn forget_idle(&mut self, now_ms: i64, idle_ms: i64) -> usize {
        let cutoff = now_ms.saturating_sub(idle_ms);
        let before = self.series.len();
        let per_workload = &mut self.per_workload;
        self.series.retain(|_, s| {
            let keep = s.last_seen_ms >= cutoff;
            if !keep {
                release(per_workload, &s.key.workload);
            }
            keep
        });
        before - self.series.len()
    }

    /// [`Admission::admit`] with kinds looked up in a [`KindIndex`].
    pub fn admit_with_index(
        &mut self,
        samples: Vec<RawSample>,
        kinds: &KindIndex,
        now_ms: i64,
    ) -> AdmitReport {
        self.admit(samples, &|n| kinds.get(n), now_ms)
    }

    /// Admits a batch; accepted points come out in time order. `kinds` gives the family kind of a
    /// sample name, when known; unknown or untyped names ending in `_total` count as counters.
    pub fn admit(
        &mut self,
        samples: Vec<RawSample>,
        kinds: &dyn Fn(&str) -> Option<MetricKind>,
        now_ms: i64,
    ) -> AdmitReport {
        let mut report = AdmitReport {
            accepted: Vec::with_capacity(samples.len()),
            ..AdmitReport::default()
        };
        // Time order makes counter rates independent of how a batch interleaves its series.
        // Sorting (time, index) pairs is stable and moves 16 bytes instead of whole samples.
        let mut order: Vec<(i64, usize)> = samples
            .iter()
            .enumerate()
            .map(|(i, s)| (s.timestamp_ms.unwrap_or(now_ms), i))
            .collect();
        order.sort_unstable();
        let bounds = self.bounds(now_ms);
        for (ts, i) in order {
            let s = &samples[i];
            if !valid_metric_name(&s.name) {
                report.reject(RejectReason::InvalidMetricName);
                continue;
            }
            let as_rate = self.as_rate(&s.name, kinds);
            if let Err(reason) = check(s.value, ts, as_rate, bounds) {
                report.reject(reason);
                continue;
            }
            identity(
                &mut self.scratch,
                &s.name,
                s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            let rules = &self.rules;
            let built = || new_state(rules, &s.name, &s.labels, as_rate, ts);
            let slots = Slots {
                series: &mut self.series,
                per_workload: &mut self.per_workload,
                max_series: self.cfg.max_series,
                max_per_workload: self.cfg.max_series_per_workload,
            };
            let mut primed = 0;
            match with_series(slots, &self.scratch, as_rate, built, |st| {
                let sample = advance(st, s.value, ts, &mut primed, &mut report.counter_resets)?;
                Ok(sample.map(|sample| Point {
                    key: (*st.key).clone(),
                    labels: (*st.labels).clone(),
                    sample,
                }))
            }) {
                Ok(point) => report.accepted.extend(point),
                Err(reason) => report.reject(reason),
            }
            report.primed += primed;
        }
        report
    }

    /// Admits a decoded remote-write request without flattening it into [`RawSample`]s: each series
    /// is looked up and mapped once, not once per sample, and its accepted samples come out as one
    /// [`SeriesPoints`] (time order within it) sharing the tracked key and labels. Otherwise the
    /// outcome equals `admit(to_raw_samples(req), ..)` (see [`AdmitReport::points`]).
    pub fn admit_request(
        &mut self,
        req: &WriteRequest,
        kinds: &dyn Fn(&str) -> Option<MetricKind>,
        now_ms: i64,
    ) -> AdmitReport<SeriesPoints> {
        let mut report = AdmitReport {
            accepted: Vec::with_capacity(req.timeseries.len()),
            ..AdmitReport::default()
        };
        let bounds = self.bounds(now_ms);
        let mut labels: Vec<(&str, &str)> = Vec::new();
        let mut valid: Vec<(i64, f64)> = Vec::new();
        for ts in &req.timeseries {
            let Some(name) = ts.labels.iter().find(|l| l.name == NAME_LABEL) else {
                // `decode` refuses such series; a hand-built request may still carry one.
                report.reject_n(RejectReason::InvalidMetric, ts.samples.len());
                continue;
            };
            let name = name.value.as_str();
            if !valid_metric_name(name) {
                report.reject_n(RejectReason::InvalidMetricName, ts.samples.len());
                continue;
            }
            let as_rate = self.as_rate(name, kinds);
            valid.clear();
            for s in &ts.samples {
                match check(s.value, s.timestamp, as_rate, bounds) {
                    Ok(()) => valid.push((s.timestamp, s.value)),
                    Err(reason) => report.reject(reason),
                }
            }
            if valid.is_empty() {
                continue;
            }
            if !valid.windows(2).all(|w| w[0].0 <= w[1].0) {
                valid.sort_by_key(|v| v.0);
            }
            labels.clear();
            labels.extend(
                ts.labels
                    .iter()
                    .filter(|l| l.name != NAME_LABEL)
                    .map(|l| (l.name.as_str(), l.value.as_str())),
            );
            labels.sort_unstable();
            identity(&mut self.scratch, name, labels.iter().copied());
            let rules = &self.rules;
            let first_ts = valid[0].0;
            let built = || {
                let owned: Vec<(String, String)> = labels
                    .iter()
                    .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                new_state(rules, name, &owned, as_rate, first_ts)
            };
            let slots = Slots {
                series: &mut self.series,
                per_workload: &mut self.per_workload,
                max_series: self.cfg.max_series,
                max_per_workload: self.cfg.max_series_per_workload,
            };
            let mut samples = Vec::with_capacity(valid.len());
            let (mut primed, mut resets) = (0, 0);
            let mut refused: BTreeMap<RejectReason, u64> = BTreeMap::new();
            let outcome = with_series(slots, &self.scratch, as_rate, built, |st| {
                for &(t, v) in &valid {
                    match advance(st, v, t, &mut primed, &mut resets) {
                        Ok(sample) => samples.extend(sample),
                        Err(reason) => *refused.entry(reason).or_insert(0) += 1,
                    }
                }
                Ok((Arc::clone(&st.key), Arc::clone(&st.labels)))
            });
            match outcome {
                Ok((key, labels)) => {
                    report.primed += primed;
                    report.counter_resets += resets;
                    for (reason, n) in refused {
                        *report.rejected.entry(reason).or_insert(0) += n;
                    }
                    if !samples.is_empty() {
                        report.accepted.push(SeriesPoints {
                            key,
                            labels,
                            samples,
                        });
                    }
                }
                Err(reason) => report.reject_n(reason, valid.len()),
            }
        }
        report
    }

    fn bounds(&self, now_ms: i64) -> (i64, i64) {
        (
            now_ms.saturating_sub(self.cfg.max_age_ms),
            now_ms.saturating_add(self.cfg.max_future_ms),
        )
    }

    fn as_rate(&self, name: &str, kinds: &dyn Fn(&str) -> Option<MetricKind>) -> bool {
        let cumulative = match kinds(name) {
            Some(MetricKind::Untyped) | None => name.ends_with("_total"),
            Some(k) => k.is_cumulative(name),
        };
        cumulative && self.cfg.counters_as_rates
    }
}

/// Runs `f` on the series with identity `key`, creating it with `build` when it is new (refused
/// beyond `max_series`, or beyond `max_series_per_workload` for its workload) or when its kind
/// changed (it keeps its slot). A new series is stored only if `f` succeeds, so refused samples
/// leave no state behind.
fn with_series<T>(
    slots: Slots<'_>,
    key: &[u8],
    as_rate: bool,
    build: impl FnOnce() -> Result<SeriesState, RejectReason>,
    f: impl FnOnce(&mut SeriesState) -> Result<T, RejectReason>,
) -> Result<T, RejectReason> {
    let Slots {
        series,
        per_workload,
        max_series,
        max_per_workload,
    } = slots;
    match series.get_mut(key) {
        Some(st) if st.as_rate == as_rate => f(st),
        known => {
            let is_new = known.is_none();
            // Map before the limit checks so that a refusal names the real problem.
            let mut st = build()?;
            if is_new {
                if series.len() >= max_series {
                    return Err(RejectReason::SeriesLimit);
                }
                if per_workload.get(&st.key.workload).copied().unwrap_or(0) >= max_per_workload {
                    return Err(RejectReason::WorkloadSeriesLimit);
                }
            }
            let out = f(&mut st)?;
            *per_workload.entry(st.key.workload.clone()).or_default() += 1;
            if let Some(old) = series.insert(key.to_vec(), st) {
                release(per_workload, &old.key.workload);
            }
            Ok(out)
        }
    }
}

/// The checks that need no series state: value, time window, counter sign.
fn check(
    value: f64,
    ts: i64,
    as_rate: bool,
    (oldest, newest): (i64, i64),
) -> Result<(), RejectReason> {
    if value.to_bits() == STALE_NAN_BITS {
        return Err(RejectReason::StaleMarker);
    }
    if !value.is_finite() {
        return Err(RejectReason::NonFinite);
    }
    if ts > newest {
        return Err(RejectReason::TooFarInFuture);
    }
    if ts < oldest {
        return Err(RejectReason::TooOld);
    }
    if as_rate && value < 0.0 {
        return Err(RejectReason::NegativeCounter);
    }
    Ok(())
}

/// Maps a new series and validates its workload id and metric name.
fn new_state(
    rules: &MappingRules,
    name: &str,
    labels: &[(String, String)],
    as_rate: bool,
    ts: i64,
) -> Result<SeriesState, RejectReason> {
    let m = rules.map(name, labels).map_err(|u| match u {
        Unmapped::Dropped => RejectReason::DroppedByRule,
        Unmapped::NoWorkload => RejectReason::NoWorkload,
        Unmapped::MissingLabel => RejectReason::MissingLabel,
    })?;
    let workload = WorkloadId::new(m.workload).map_err(|_| RejectReason::InvalidWorkload)?;
    let suffix = if as_rate { ":rate" } else { "" };
    let metric = MetricName::new(render_metric(&m.metric, suffix, &m.metric_labels))
        .map_err(|_| RejectReason::InvalidMetric)?;
    Ok(SeriesState {
        key: Arc::new(SeriesKey::new(workload, metric)),
        labels: Arc::new(m.series_labels.into_iter().collect()),
        as_rate,
        counter: None,
        last_seen_ms: ts,
    })
}

/// Feeds one valid sample to its series: the sample to emit, if any (a counter's first sample only
/// primes its rate, counted in `primed`; resets are counted in `resets`).
fn advance(
    st: &mut SeriesState,
    value: f64,
    ts: i64,
    primed: &mut u64,
    resets: &mut u64,
) -> Result<Option<Sample>, RejectReason> {
    let value = if st.as_rate {
        let Some(prev) = st.counter else {
            st.counter = Some(CounterState { ts_ms: ts, value });
            st.last_seen_ms = st.last_seen_ms.max(ts);
            *primed += 1;
            return Ok(None);
        };
        match rate::step(prev, ts, value) {
            RateStep::OutOfOrder => return Err(RejectReason::OutOfOrder),
            // Finite values can still overflow when divided by a millisecond step.
            RateStep::Rate { per_sec, .. } if !per_sec.is_finite() => {
                return Err(RejectReason::NonFinite)
            }
            RateStep::Rate { per_sec, reset } => {
                *resets += u64::from(reset);
                st.counter = Some(CounterState { ts_ms: ts, value });
                per_sec
            }
        }
    } else {
        value
    };
    st.last_seen_ms = st.last_seen_ms.max(ts);
    Ok(Some(Sample {
        ts: Timestamp(ts),
        value,
    }))
}

#[cfg(test)]
mod tests;

//! Admission limits: how far off a timestamp may be, how many series (in all and per workload) and
//! for how long an idle one is kept, whether counters become rates.

use serde::Deserialize;

/// Admission settings (durations in milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionConfig {
    /// Samples stamped more than this ahead of now are refused.
    pub max_future_ms: i64,
    /// Samples stamped more than this before now are refused.
    pub max_age_ms: i64,
    /// Distinct input series tracked at once; samples of new series beyond it are refused.
    pub max_series: usize,
    /// Distinct input series tracked at once for one workload (the workload a series maps to), so
    /// that one sender's label explosion cannot take every slot of `max_series`.
    pub max_series_per_workload: usize,
    /// A series whose newest sample is older than this gives its slot back (its counter primes
    /// again on its next sample).
    pub series_idle_ms: i64,
    /// Turn counters (by family type or `_total` suffix) into per-second rates under `name:rate`.
    pub counters_as_rates: bool,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            max_future_ms: 10 * 60 * 1000,
            max_age_ms: 24 * 3600 * 1000,
            max_series: 100_000,
            max_series_per_workload: 10_000,
            series_idle_ms: 3600 * 1000,
            counters_as_rates: true,
        }
    }
}

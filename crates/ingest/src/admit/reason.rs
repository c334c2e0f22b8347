//! Why a sample was not admitted: one counted reason per refused sample.

use std::fmt;

/// The reason a sample was refused. `as_str` is a stable snake_case name for metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// NaN or ±Inf value.
    NonFinite,
    /// Prometheus' staleness marker (a special NaN): the series ended, there is no observation.
    StaleMarker,
    /// Timestamp more than `max_future_ms` ahead of now.
    TooFarInFuture,
    /// Timestamp more than `max_age_ms` behind now.
    TooOld,
    /// No rule gave a workload and none of the workload labels was present.
    NoWorkload,
    /// A mapping template names a label the sample does not carry.
    MissingLabel,
    /// The workload id is not a valid `WorkloadId` (too long, control characters).
    InvalidWorkload,
    /// The rendered metric is not a valid `MetricName` (too long, control characters).
    InvalidMetric,
    /// A mapping rule with `drop = true` matched.
    DroppedByRule,
    /// A new series beyond `max_series` (label explosion guard).
    SeriesLimit,
    /// A new series of a workload that already has `max_series_per_workload`.
    WorkloadSeriesLimit,
    /// The sample's name is not a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    InvalidMetricName,
    /// A counter sample not after the previous sample of its series.
    OutOfOrder,
    /// A counter with a negative value.
    NegativeCounter,
}

impl RejectReason {
    pub const ALL: [RejectReason; 14] = [
        RejectReason::NonFinite,
        RejectReason::StaleMarker,
        RejectReason::TooFarInFuture,
        RejectReason::TooOld,
        RejectReason::NoWorkload,
        RejectReason::MissingLabel,
        RejectReason::InvalidWorkload,
        RejectReason::InvalidMetric,
        RejectReason::DroppedByRule,
        RejectReason::SeriesLimit,
        RejectReason::WorkloadSeriesLimit,
        RejectReason::InvalidMetricName,
        RejectReason::OutOfOrder,
        RejectReason::NegativeCounter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NonFinite => "non_finite",
            RejectReason::StaleMarker => "stale_marker",
            RejectReason::TooFarInFuture => "too_far_in_future",
            RejectReason::TooOld => "too_old",
            RejectReason::NoWorkload => "no_workload",
            RejectReason::MissingLabel => "missing_label",
            RejectReason::InvalidWorkload => "invalid_workload",
            RejectReason::InvalidMetric => "invalid_metric",
            RejectReason::DroppedByRule => "dropped_by_rule",
            RejectReason::SeriesLimit => "series_limit",
            RejectReason::WorkloadSeriesLimit => "workload_series_limit",
            RejectReason::InvalidMetricName => "invalid_metric_name",
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::NegativeCounter => "negative_counter",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::NonFinite => "value is NaN or infinite",
            RejectReason::StaleMarker => "staleness marker",
            RejectReason::TooFarInFuture => "timestamp too far in the future",
            RejectReason::TooOld => "timestamp too old",
            RejectReason::NoWorkload => "no workload label",
            RejectReason::MissingLabel => "mapping template names a missing label",
            RejectReason::InvalidWorkload => "invalid workload id",
            RejectReason::InvalidMetric => "invalid metric name",
            RejectReason::DroppedByRule => "dropped by a mapping rule",
            RejectReason::SeriesLimit => "series limit reached",
            RejectReason::WorkloadSeriesLimit => "series limit of the workload reached",
            RejectReason::InvalidMetricName => "not a valid Prometheus metric name",
            RejectReason::OutOfOrder => "counter sample out of order",
            RejectReason::NegativeCounter => "negative counter value",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_snake_case() {
        let names: HashSet<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), RejectReason::ALL.len());
        for n in names {
            assert!(
                n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{n}"
            );
        }
        assert_eq!(
            RejectReason::SeriesLimit.to_string(),
            "series limit reached"
        );
    }
}

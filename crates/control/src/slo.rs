//! A workload's service-level objective in its own terms: a latency or queue series it reports
//! and the ceiling it must stay under (e.g. p99 latency ≤ 0.3 s, backlog ≤ 500 items).

use prescale_core::MetricName;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the objective's series measures, which decides how a replay estimates it under capacity
/// that was never provisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SloKind {
    /// A latency (any unit): it rises with the load on each replica, as the history shows.
    Latency,
    /// A backlog of work items: it grows by the demand a step leaves unserved (demand in items
    /// per second, capacity per replica in items per second) and drains with spare capacity.
    Queue,
}

impl fmt::Display for SloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SloKind::Latency => "latency",
            SloKind::Queue => "queue",
        })
    }
}

/// The objective: `metric` stays at or under `max`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloObjective {
    /// The workload's own series (e.g. `latency_p99_seconds`, `queue_depth`).
    pub metric: MetricName,
    /// The ceiling, in the series' unit.
    pub max: f64,
    pub kind: SloKind,
    /// The workload's replica count series, read to learn how latency responds to load per
    /// replica; `None`: the replicas prescale's own decisions set (the decision log).
    pub replicas_metric: Option<MetricName>,
}

impl SloObjective {
    /// The first problem with the objective, as (field, value, reason).
    pub fn problem(&self) -> Option<(&'static str, String, &'static str)> {
        (!(self.max > 0.0 && self.max.is_finite())).then(|| {
            (
                "slo.max",
                self.max.to_string(),
                "must be positive and finite",
            )
        })
    }
}

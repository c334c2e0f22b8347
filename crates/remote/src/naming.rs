//! The names and labels of the series prescale exports: one home for `/metrics` and remote-write.
//!
//! | series | labels |
//! |---|---|
//! | `prescale_forecast` | `workload`, `metric`, `bound` = `point`/`lower`/`upper`, `level` (e.g. `0.9`) |
//! | `prescale_fingerprint_component` | `workload`, `component` (`0`, `1`, ...) |
//! | `prescale_desired_replicas` | `workload`, `policy` |
//! | raw telemetry (`Point`s) | the metric's base name, `workload`, `metric` (full prescale metric), the point's labels |

use crate::template::is_label_name;
use crate::text;
pub use crate::text::{escape_label_value, format_value};
use prescale_core::{
    Fingerprint, Forecast, Interval, Labels, Level, Point, SeriesKey, Timestamp, WorkloadId,
};
use std::collections::BTreeMap;

pub const FORECAST: &str = "prescale_forecast";
pub const FINGERPRINT_COMPONENT: &str = "prescale_fingerprint_component";
pub const DESIRED_REPLICAS: &str = "prescale_desired_replicas";
pub const DESIRED_CPU_REQUEST: &str = "prescale_desired_cpu_request_cores";
pub const DESIRED_MEMORY_REQUEST: &str = "prescale_desired_memory_request_bytes";
/// The control loop's forecast at the lead a decision planned for (point, lower, upper).
pub const CONTROL_FORECAST: &str = "prescale_control_forecast";
pub const CONTROL_DEMAND: &str = "prescale_control_demand";
pub const CURRENT_REPLICAS: &str = "prescale_current_replicas";
pub const DECISIONS_TOTAL: &str = "prescale_decisions_total";
pub const CONTROL_TICK_SECONDS: &str = "prescale_control_tick_seconds";
pub const CONTROL_TICK_SECONDS_TOTAL: &str = "prescale_control_tick_seconds_total";
pub const CONTROL_TICKS_TOTAL: &str = "prescale_control_ticks_total";
pub const BUILD_INFO: &str = "prescale_build_info";
/// A configuration's counterfactual under-provisioned share of steps (0–1), acting or shadow.
pub const SHADOW_UNDER_RATIO: &str = "prescale_shadow_under_provisioned_ratio";
pub const SHADOW_COST: &str = "prescale_shadow_cost_replica_hours";
pub const SHADOW_ACTIONS: &str = "prescale_shadow_actions";
pub const SHADOW_STEPS: &str = "prescale_shadow_steps";
/// The replicas of a workload's latest decision by how they would be bought (`purchase` =
/// `committed`, `spot`, `on_demand`), with `[workload.purchase]`.
pub const PURCHASE_REPLICAS: &str = "prescale_purchase_replicas";
/// What those replicas cost per hour (`basis` = `mix`, or `on_demand` for all bought on demand).
pub const PURCHASE_HOURLY_DOLLARS: &str = "prescale_purchase_hourly_dollars";

pub const WORKLOAD_LABEL: &str = "workload";
pub const METRIC_LABEL: &str = "metric";
pub const BOUND_LABEL: &str = "bound";
pub const LEVEL_LABEL: &str = "level";
pub const COMPONENT_LABEL: &str = "component";
pub const POLICY_LABEL: &str = "policy";
pub const OUTCOME_LABEL: &str = "outcome";
pub const SHADOW_LABEL: &str = "shadow";
pub const ROLE_LABEL: &str = "role";
pub const PURCHASE_LABEL: &str = "purchase";
pub const INSTANCE_TYPE_LABEL: &str = "instance_type";
pub const BASIS_LABEL: &str = "basis";

/// `# HELP` text of each exported family.
pub fn help(name: &str) -> Option<&'static str> {
    match name {
        FORECAST => Some(
            "Forecast of a workload metric: point path and prediction band (bound) at a level.",
        ),
        FINGERPRINT_COMPONENT => Some("Component of a workload's behavioural fingerprint vector."),
        DESIRED_REPLICAS => Some("Replica count a scaling policy decided for a workload."),
        DESIRED_CPU_REQUEST => Some("Per-replica CPU request (cores) decided for a workload."),
        DESIRED_MEMORY_REQUEST => {
            Some("Per-replica memory request (bytes) decided for a workload.")
        }
        CONTROL_FORECAST => Some(
            "The control loop's forecast of a controlled workload's demand at the step its latest decision planned for (its lead): point and band (bound) at a level.",
        ),
        CONTROL_DEMAND => Some(
            "Demand of the last complete step a controlled workload's latest decision saw (the actual the forecast is judged against).",
        ),
        CURRENT_REPLICAS => {
            Some("Replica count a controlled workload had when its latest decision was made.")
        }
        DECISIONS_TOTAL => Some(
            "Decisions of the control loop by workload and what became of them (outcome: applied, skipped, failed, circuit-open, kill-switch, held).",
        ),
        CONTROL_TICK_SECONDS => Some("Wall time of the control loop's latest pass over every workload."),
        CONTROL_TICK_SECONDS_TOTAL => Some("Wall time of all the control loop's passes."),
        CONTROL_TICKS_TOTAL => Some("Passes of the control loop."),
        BUILD_INFO => Some("prescale's version (always 1)."),
        SHADOW_UNDER_RATIO => Some(
            "Share of a configuration's decided steps it would have been under-provisioned (role: acting or shadow; counterfactual replicas following its decisions).",
        ),
        SHADOW_COST => Some("Replica-hours a configuration's decisions would have cost over its decided steps."),
        SHADOW_ACTIONS => Some("Steps at which a configuration would have changed the replica count."),
        SHADOW_STEPS => Some("Decided steps a configuration has been charged for since it started."),
        PURCHASE_REPLICAS => Some(
            "Replicas of a workload's latest decision by how they would be bought (purchase: committed, spot, on_demand; committed ones may exceed the request).",
        ),
        PURCHASE_HOURLY_DOLLARS => Some(
            "Dollars per hour of a workload's latest decision bought as the purchase mix (basis: mix) or all on demand (basis: on_demand).",
        ),
        _ => None,
    }
}

/// Which path of a forecast a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bound {
    Point,
    Lower,
    Upper,
}

impl Bound {
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Point => "point",
            Bound::Lower => "lower",
            Bound::Upper => "upper",
        }
    }
}

/// One sample of a named series (labels exclude `__name__`), as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct PromSample {
    pub name: String,
    pub labels: Labels,
    pub ts: Timestamp,
    pub value: f64,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `90` → `"0.9"`, `99.5` → `"0.995"`.
pub fn level_label(level: Level) -> String {
    let text = format!("{:.6}", level.percent() / 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The forecast's three paths; step `i` (0-based) is stamped `origin + (i + 1) * step`, where
/// `origin` is the time of the last observed sample the forecast was made from. Non-finite values
/// are left out.
pub fn forecast_samples(
    key: &SeriesKey,
    forecast: &Forecast,
    origin: Timestamp,
    step: Interval,
) -> Vec<PromSample> {
    let level = level_label(forecast.level);
    let mut out = Vec::with_capacity(forecast.horizon() * 3);
    for (bound, path) in [
        (Bound::Point, &forecast.point),
        (Bound::Lower, &forecast.lower),
        (Bound::Upper, &forecast.upper),
    ] {
        let l = labels(&[
            (WORKLOAD_LABEL, key.workload.as_str()),
            (METRIC_LABEL, key.metric.as_str()),
            (BOUND_LABEL, bound.as_str()),
            (LEVEL_LABEL, &level),
        ]);
        for (i, &value) in path.iter().enumerate() {
            if !value.is_finite() {
                continue;
            }
            let ahead = step.millis().saturating_mul(i as i64 + 1);
            out.push(PromSample {
                name: FORECAST.to_string(),
                labels: l.clone(),
                ts: Timestamp(origin.0.saturating_add(ahead)),
                value,
            });
        }
    }
    out
}

/// One sample per fingerprint component, stamped at the fingerprint's time.
pub fn fingerprint_samples(fp: &Fingerprint) -> Vec<PromSample> {
    fp.vector
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &value)| PromSample {
            name: FINGERPRINT_COMPONENT.to_string(),
            labels: labels(&[
                (WORKLOAD_LABEL, fp.workload.as_str()),
                (COMPONENT_LABEL, &i.to_string()),
            ]),
            ts: fp.at,
            value,
        })
        .collect()
}

/// The replica count a policy decided at `at`.
pub fn desired_replicas_sample(
    workload: &WorkloadId,
    policy: &str,
    replicas: u32,
    at: Timestamp,
) -> PromSample {
    PromSample {
        name: DESIRED_REPLICAS.to_string(),
        labels: labels(&[(WORKLOAD_LABEL, workload.as_str()), (POLICY_LABEL, policy)]),
        ts: at,
        value: f64::from(replicas),
    }
}

/// A per-replica request decided at `at`: `family` is [`DESIRED_CPU_REQUEST`] (cores) or
/// [`DESIRED_MEMORY_REQUEST`] (bytes).
pub fn desired_request_sample(
    family: &'static str,
    workload: &WorkloadId,
    value: f64,
    at: Timestamp,
) -> PromSample {
    PromSample {
        name: family.to_string(),
        labels: labels(&[(WORKLOAD_LABEL, workload.as_str())]),
        ts: at,
        value,
    }
}

/// A valid Prometheus metric name from any text: invalid characters become `_`.
pub fn sanitize_metric_name(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The Prometheus metric name that raw samples of `metric` are stored under: the part before any
/// `{`, sanitized (`http_requests_total:rate{method="get"}` → `http_requests_total:rate`).
pub fn raw_metric_name(metric: &str) -> String {
    sanitize_metric_name(metric.split('{').next().unwrap_or(metric))
}

/// A raw telemetry point as a named series: base name, the point's labels (valid names only, not
/// `__name__`), then `workload` and `metric` which identify the prescale series.
pub fn point_sample(point: &Point) -> PromSample {
    let mut l: Labels = point
        .labels
        .iter()
        .filter(|(k, _)| is_label_name(k) && !k.starts_with("__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    l.insert(
        WORKLOAD_LABEL.to_string(),
        point.key.workload.as_str().to_string(),
    );
    l.insert(
        METRIC_LABEL.to_string(),
        point.key.metric.as_str().to_string(),
    );
    PromSample {
        name: raw_metric_name(point.key.metric.as_str()),
        labels: l,
        ts: point.sample.ts,
        value: point.sample.value,
    }
}

/// The PromQL selector of the raw series of `key` (the inverse of [`point_sample`]).
pub fn raw_selector(key: &SeriesKey) -> String {
    format!(
        "{{__name__=\"{}\",{WORKLOAD_LABEL}=\"{}\",{METRIC_LABEL}=\"{}\"}}",
        raw_metric_name(key.metric.as_str()),
        escape_label_value(key.workload.as_str()),
        escape_label_value(key.metric.as_str()),
    )
}

/// The key a raw series' labels identify, if they carry valid `workload` and `metric` labels.
pub fn key_of_labels(labels: &Labels) -> Option<SeriesKey> {
    let w = WorkloadId::new(labels.get(WORKLOAD_LABEL)?.as_str()).ok()?;
    let m = prescale_core::MetricName::new(labels.get(METRIC_LABEL)?.as_str()).ok()?;
    Some(SeriesKey::new(w, m))
}

/// Prometheus text exposition of `samples` grouped by name, with `# HELP`/`# TYPE` (a `_total`
/// family is a counter, every other a gauge).
/// Timestamps are written only when `with_timestamps` (a scrape normally stamps samples itself).
pub fn exposition(samples: &[PromSample], with_timestamps: bool) -> String {
    let mut families: BTreeMap<&str, Vec<&PromSample>> = BTreeMap::new();
    for s in samples {
        families.entry(s.name.as_str()).or_default().push(s);
    }
    let mut out = String::new();
    for (name, members) in families {
        match help(name) {
            Some(h) => text::family(&mut out, name, family_type(name), h),
            None => text::type_line(&mut out, name, family_type(name)),
        }
        for s in members {
            let labels: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let ts = with_timestamps.then_some(s.ts.0);
            text::line_at(&mut out, name, &labels, s.value, ts);
        }
    }
    out
}

/// `counter` for a `_total` family, else `gauge`.
pub fn family_type(name: &str) -> &'static str {
    if name.ends_with("_total") {
        "counter"
    } else {
        "gauge"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{MetricName, Sample};

    fn key(w: &str, m: &str) -> SeriesKey {
        SeriesKey::new(WorkloadId::new(w).unwrap(), MetricName::new(m).unwrap())
    }

    #[test]
    fn forecast_paths_get_future_timestamps_and_bounds() {
        let f = Forecast::new(
            vec![1.0, 2.0],
            vec![0.5, f64::NAN],
            vec![1.5, 2.5],
            Level::new(90.0).unwrap(),
        )
        .unwrap();
        let s = forecast_samples(
            &key("web", "cpu"),
            &f,
            Timestamp(1_000),
            Interval::from_secs(60).unwrap(),
        );
        assert_eq!(s.len(), 5);
        let upper: Vec<_> = s
            .iter()
            .filter(|x| x.labels[BOUND_LABEL] == "upper")
            .map(|x| (x.ts.0, x.value))
            .collect();
        assert_eq!(upper, vec![(61_000, 1.5), (121_000, 2.5)]);
        assert_eq!(s[0].labels[LEVEL_LABEL], "0.9");
        assert_eq!(s[0].labels[WORKLOAD_LABEL], "web");
        assert_eq!(s[0].name, FORECAST);
    }

    #[test]
    fn level_labels() {
        assert_eq!(level_label(Level::new(90.0).unwrap()), "0.9");
        assert_eq!(level_label(Level::new(99.5).unwrap()), "0.995");
        assert_eq!(level_label(Level::new(99.9).unwrap()), "0.999");
        assert_eq!(level_label(Level::new(50.0).unwrap()), "0.5");
    }

    #[test]
    fn raw_points_round_trip_through_selectors() {
        let k = key("api \"x\"", "http_requests_total:rate{method=\"get\"}");
        let p = Point {
            key: k.clone(),
            labels: [("method", "get"), ("__bad", "x"), ("bad-name", "y")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            sample: Sample {
                ts: Timestamp(5),
                value: 2.0,
            },
        };
        let s = point_sample(&p);
        assert_eq!(s.name, "http_requests_total:rate");
        assert_eq!(s.labels.len(), 3);
        assert_eq!(key_of_labels(&s.labels), Some(k.clone()));
        assert_eq!(
            raw_selector(&k),
            r#"{__name__="http_requests_total:rate",workload="api \"x\"",metric="http_requests_total:rate{method=\"get\"}"}"#
        );
        assert_eq!(sanitize_metric_name("9cpu.usage"), "_9cpu_usage");
    }

    #[test]
    fn exposition_text() {
        let w = WorkloadId::new("web").unwrap();
        let text = exposition(
            &[desired_replicas_sample(&w, "predictive", 3, Timestamp(7))],
            true,
        );
        assert_eq!(
            text,
            "# HELP prescale_desired_replicas Replica count a scaling policy decided for a workload.\n\
             # TYPE prescale_desired_replicas gauge\n\
             prescale_desired_replicas{policy=\"predictive\",workload=\"web\"} 3 7\n"
        );
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }
}

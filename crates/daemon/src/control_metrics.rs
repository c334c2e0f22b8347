//! What the control loop did, as metric samples: each controlled workload's forecast at the lead of
//! its latest decision, the demand it saw, its replicas then, its decisions by outcome, the loop's pass time and the
//! build. One set of samples serves `/metrics` and remote-write export alike.

use crate::http::lock;
use prescale_control::{Actuation, DecisionRecord};
use prescale_core::{Level, Timestamp};
use prescale_remote::naming::{self, Bound, PromSample};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The latest decision's figures of one workload.
#[derive(Debug, Clone, PartialEq)]
struct Latest {
    metric: String,
    at: Timestamp,
    /// Point, lower and upper at the lead, and the band's level.
    forecast: Option<([f64; 3], Option<Level>)>,
    current: Option<u32>,
    /// Demand of the last complete step the decision saw.
    demand: Option<f64>,
    /// How its replicas would be bought (`[workload.purchase]`).
    purchase: Option<prescale_control::purchase_mix::PurchaseRecord>,
}

#[derive(Debug, Default)]
struct State {
    latest: BTreeMap<String, Latest>,
    /// Decisions by (workload, outcome).
    decisions: BTreeMap<(String, &'static str), u64>,
    last_pass: Option<(Timestamp, f64)>,
    pass_seconds: f64,
    passes: u64,
}

/// Shared between the control loop, `/metrics` and export.
#[derive(Debug, Default)]
pub struct ControlMetrics {
    state: Mutex<State>,
}

/// What became of a decision, as the `outcome` label says it.
pub fn outcome(record: &DecisionRecord) -> &'static str {
    match &record.actuation {
        None => "held",
        Some(Actuation::Skipped { .. }) => "skipped",
        Some(Actuation::Applied { .. }) => "applied",
        Some(Actuation::Failed { .. }) => "failed",
        Some(Actuation::CircuitOpen { .. }) => "circuit-open",
        Some(Actuation::KillSwitch { .. }) => "kill-switch",
    }
}

impl ControlMetrics {
    /// Records a stored decision of `metric`'s workload.
    pub fn decided(&self, metric: &str, record: &DecisionRecord) {
        let w = record.workload.to_string();
        let mut s = lock(&self.state);
        *s.decisions.entry((w.clone(), outcome(record))).or_default() += 1;
        let forecast = record
            .forecast
            .as_ref()
            .map(|f| ([f.point, f.lower, f.upper], Level::new(f.level).ok()));
        s.latest.insert(
            w,
            Latest {
                metric: metric.to_string(),
                at: record.at,
                forecast,
                current: record.replicas_before,
                demand: record.inputs.demand,
                purchase: record.actions.purchase.clone(),
            },
        );
    }

    /// Records one pass of the loop over every workload.
    pub fn passed(&self, at: Timestamp, seconds: f64) {
        let mut s = lock(&self.state);
        s.last_pass = Some((at, seconds));
        s.pass_seconds += seconds;
        s.passes += 1;
    }

    /// A workload left the loop (its scaler was deleted, or it is no longer observed): every
    /// series of it goes, counters too (a workload that comes back counts from 0 again, which
    /// Prometheus' `rate` reads as a counter reset).
    pub fn forget(&self, workload: &str) {
        let mut s = lock(&self.state);
        s.latest.remove(workload);
        s.decisions.retain(|(w, _), _| w != workload);
    }

    /// Every sample, stamped `now` where the figure is not a decision's own.
    pub fn samples(&self, now: Timestamp) -> Vec<PromSample> {
        let s = lock(&self.state);
        let sample = |name: &str, labels: &[(&str, &str)], ts: Timestamp, value: f64| PromSample {
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ts,
            value,
        };
        let mut out = vec![sample(
            naming::BUILD_INFO,
            &[("version", env!("CARGO_PKG_VERSION"))],
            now,
            1.0,
        )];
        for (w, l) in &s.latest {
            let workload = (naming::WORKLOAD_LABEL, w.as_str());
            if let Some((values, level)) = &l.forecast {
                let level = level.map(naming::level_label).unwrap_or_default();
                for (bound, v) in [Bound::Point, Bound::Lower, Bound::Upper]
                    .into_iter()
                    .zip(values)
                {
                    out.push(sample(
                        naming::CONTROL_FORECAST,
                        &[
                            workload,
                            (naming::METRIC_LABEL, l.metric.as_str()),
                            (naming::BOUND_LABEL, bound.as_str()),
                            (naming::LEVEL_LABEL, level.as_str()),
                        ],
                        l.at,
                        *v,
                    ));
                }
            }
            if let Some(v) = l.demand {
                out.push(sample(
                    naming::CONTROL_DEMAND,
                    &[workload, (naming::METRIC_LABEL, l.metric.as_str())],
                    l.at,
                    v,
                ));
            }
            if let Some(n) = l.current {
                out.push(sample(
                    naming::CURRENT_REPLICAS,
                    &[workload],
                    l.at,
                    f64::from(n),
                ));
            }
            if let Some(p) = &l.purchase {
                let it = (naming::INSTANCE_TYPE_LABEL, p.instance_type.as_str());
                for (kind, n) in [
                    ("committed", p.committed),
                    ("spot", p.spot),
                    ("on_demand", p.on_demand),
                ] {
                    out.push(sample(
                        naming::PURCHASE_REPLICAS,
                        &[workload, it, (naming::PURCHASE_LABEL, kind)],
                        l.at,
                        f64::from(n),
                    ));
                }
                for (basis, v) in [
                    ("mix", p.hourly_cost),
                    ("on_demand", p.hourly_cost_on_demand),
                ] {
                    out.push(sample(
                        naming::PURCHASE_HOURLY_DOLLARS,
                        &[workload, it, (naming::BASIS_LABEL, basis)],
                        l.at,
                        v,
                    ));
                }
            }
        }
        for ((w, o), n) in &s.decisions {
            out.push(sample(
                naming::DECISIONS_TOTAL,
                &[(naming::WORKLOAD_LABEL, w), (naming::OUTCOME_LABEL, o)],
                now,
                *n as f64,
            ));
        }
        if let Some((at, secs)) = s.last_pass {
            out.push(sample(naming::CONTROL_TICK_SECONDS, &[], at, secs));
            out.push(sample(
                naming::CONTROL_TICK_SECONDS_TOTAL,
                &[],
                now,
                s.pass_seconds,
            ));
            out.push(sample(
                naming::CONTROL_TICKS_TOTAL,
                &[],
                now,
                s.passes as f64,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_control::{ForecastSummary, Inputs, Mode};
    use prescale_core::WorkloadId;

    fn record(actuation: Option<Actuation>, forecast: bool) -> DecisionRecord {
        DecisionRecord {
            workload: WorkloadId::new("api").unwrap(),
            at: Timestamp(60_000),
            mode: Mode::Act,
            policy: "predictive".into(),
            replicas_before: Some(3),
            replicas_after: Some(4),
            pre_guard: None,
            bound_by: None,
            reason: String::new(),
            reason_json: serde_json::Value::Null,
            forecast: forecast.then_some(ForecastSummary {
                point: 40.0,
                lower: 30.0,
                upper: 55.0,
                level: 90.0,
                horizon_steps: 2,
            }),
            model: None,
            inputs: Inputs {
                last_sample_at: None,
                samples: 0,
                freshness_s: None,
                history_steps: 0,
                demand: Some(38.5),
            },
            feedback: Vec::new(),
            resources: None,
            actuation,
            actions: Default::default(),
        }
    }

    #[test]
    fn decisions_become_forecast_replica_and_outcome_samples() {
        let m = ControlMetrics::default();
        let applied = Actuation::Applied {
            actuator: "dry-run".into(),
            changed: true,
            detail: String::new(),
        };
        m.decided("rps", &record(Some(applied.clone()), true));
        m.decided("rps", &record(Some(applied), true));
        m.decided("rps", &record(None, false));
        m.passed(Timestamp(61_000), 0.25);
        m.passed(Timestamp(62_000), 0.5);
        let text = naming::exposition(&m.samples(Timestamp(70_000)), false);
        // the latest decision had no forecast: only its replicas are current
        assert!(!text.contains("prescale_control_forecast{"), "{text}");
        assert!(
            text.contains("prescale_current_replicas{workload=\"api\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("prescale_control_demand{metric=\"rps\",workload=\"api\"} 38.5"),
            "{text}"
        );
        assert!(
            text.contains("prescale_decisions_total{outcome=\"applied\",workload=\"api\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("prescale_decisions_total{outcome=\"held\",workload=\"api\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE prescale_decisions_total counter"),
            "{text}"
        );
        assert!(text.contains("prescale_control_tick_seconds 0.5"), "{text}");
        assert!(
            text.contains("prescale_control_tick_seconds_total 0.75"),
            "{text}"
        );
        assert!(text.contains("prescale_control_ticks_total 2"), "{text}");
        assert!(text.contains("prescale_build_info{version=\""), "{text}");
        m.decided("rps", &record(None, true));
        let text = naming::exposition(&m.samples(Timestamp(70_000)), false);
        for (bound, v) in [("point", 40), ("lower", 30), ("upper", 55)] {
            let line = format!(
                "prescale_control_forecast{{bound=\"{bound}\",level=\"0.9\",metric=\"rps\",workload=\"api\"}} {v}"
            );
            assert!(text.contains(&line), "{line} in {text}");
        }
        m.forget("api");
        let text = naming::exposition(&m.samples(Timestamp(70_000)), false);
        assert!(!text.contains("prescale_current_replicas"), "{text}");
        assert!(
            !text.contains("prescale_decisions_total{"),
            "its counters go too: {text}"
        );
    }
}

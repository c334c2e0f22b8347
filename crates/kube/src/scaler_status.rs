//! What prescale writes into a `PredictiveScaler`'s status: the report types and the merge-patch body.

use std::time::Duration;

use prescale_core::Timestamp;

use crate::crd::{PredictiveScalerStatus, ScalerCondition, ScalerMode, SpecProblem};
use crate::scaler_settings::format_duration;

/// `True`, `False` or `Unknown`, as in `metav1.Condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// One condition as the caller states it (the type is given by the field it is put in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionState {
    pub status: ConditionStatus,
    /// CamelCase reason, e.g. `Forecasting`, `StaleTelemetry`.
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
}

impl ConditionState {
    pub fn new(
        status: ConditionStatus,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConditionState {
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The last decision of the control loop for a scaler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionSummary {
    pub at: Timestamp,
    /// Replicas before the decision.
    pub from: u32,
    /// Replicas the decision asks for (equal to `from` for a hold).
    pub to: u32,
    /// One-line explanation.
    pub reason: String,
    /// The mode it was made in (`Act`: handed to the actuator).
    pub mode: ScalerMode,
    /// Per-replica requests the decision asks for, when the scaler sizes them.
    pub requests: Option<prescale_actuate::Resources>,
}

/// The demand forecast at the lead time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastSummary {
    pub lead: Duration,
    pub point: f64,
    pub upper: f64,
}

/// What [`ScalerSource::report`](crate::ScalerSource::report) writes for one scaler.
///
/// `SpecValid` is derived from the entry's problems plus [`problems`](Self::problems). `Ready` and
/// `Acting` are the caller's when given; otherwise (and always `False` with reason `InvalidSpec` for an
/// invalid spec) they are derived: `Ready` is `Unknown`/`Pending`, `Acting` follows the decision's mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerReport {
    /// When the report was made: `lastTransitionTime` of conditions that change.
    pub at: Timestamp,
    pub decision: Option<DecisionSummary>,
    pub forecast: Option<ForecastSummary>,
    pub ready: Option<ConditionState>,
    pub acting: Option<ConditionState>,
    /// Further problems the caller found (e.g. a policy it cannot parse); they make `SpecValid` false.
    pub problems: Vec<SpecProblem>,
}

impl ScalerReport {
    /// A report with only the derived conditions.
    pub fn new(at: Timestamp) -> Self {
        ScalerReport {
            at,
            decision: None,
            forecast: None,
            ready: None,
            acting: None,
            problems: Vec::new(),
        }
    }
}

/// RFC 3339 UTC at second precision (`metav1.Time`); `None` outside jiff's range.
pub fn rfc3339(t: Timestamp) -> Option<String> {
    k8s_openapi::jiff::Timestamp::from_second(t.millis().div_euclid(1000))
        .ok()
        .map(|ts| ts.to_string())
}

/// An RFC 3339 time (`2025-11-28T08:00:00Z`, any offset) as Unix ms; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let t: k8s_openapi::jiff::Timestamp = text.trim().parse().ok()?;
    Some(Timestamp(t.as_millisecond()))
}

fn problems_message(problems: &[&SpecProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Builds the status to merge-patch: `observed_generation`, the decision and forecast fields when
/// reported, and the three conditions. `lastTransitionTime` is kept from `previous` when a condition's
/// status did not change.
pub fn build_status(
    generation: Option<i64>,
    spec_problems: &[SpecProblem],
    previous: &[ScalerCondition],
    report: &ScalerReport,
) -> PredictiveScalerStatus {
    let now = rfc3339(report.at);
    let problems: Vec<&SpecProblem> = spec_problems.iter().chain(&report.problems).collect();
    let valid = problems.is_empty();
    let invalid = || {
        ConditionState::new(
            ConditionStatus::False,
            "InvalidSpec",
            "the spec is invalid; see the SpecValid condition",
        )
    };
    let spec_valid = if valid {
        ConditionState::new(ConditionStatus::True, "Valid", "the spec is valid")
    } else {
        ConditionState::new(
            ConditionStatus::False,
            "InvalidSpec",
            problems_message(&problems),
        )
    };
    let ready = if valid {
        report.ready.clone().unwrap_or_else(|| {
            ConditionState::new(
                ConditionStatus::Unknown,
                "Pending",
                "no forecast has been made yet",
            )
        })
    } else {
        invalid()
    };
    let acting = if valid {
        report
            .acting
            .clone()
            .unwrap_or_else(|| match &report.decision {
                Some(d) if d.mode == ScalerMode::Act => ConditionState::new(
                    ConditionStatus::True,
                    "Acting",
                    "decisions are handed to the actuator",
                ),
                Some(_) => ConditionState::new(
                    ConditionStatus::False,
                    "ForecastOnly",
                    "decisions are recorded, nothing is changed (mode forecast-only)",
                ),
                None => ConditionState::new(ConditionStatus::Unknown, "Pending", "no decision yet"),
            })
    } else {
        invalid()
    };
    let condition = |type_: &str, c: ConditionState| {
        let status = c.status.as_str().to_string();
        let kept = previous
            .iter()
            .find(|p| p.type_ == type_ && p.status == status)
            .and_then(|p| p.last_transition_time.clone());
        ScalerCondition {
            type_: type_.to_string(),
            status,
            reason: Some(c.reason),
            message: Some(c.message),
            last_transition_time: kept.or_else(|| now.clone()),
        }
    };
    let mut status = PredictiveScalerStatus {
        observed_generation: generation,
        conditions: vec![
            condition("Ready", ready),
            condition("SpecValid", spec_valid),
            condition("Acting", acting),
        ],
        ..PredictiveScalerStatus::default()
    };
    if let Some(d) = &report.decision {
        status.last_decision = Some(d.reason.clone());
        status.last_decision_time = rfc3339(d.at);
        status.last_decision_mode = Some(d.mode);
        status.previous_replicas = Some(d.from);
        status.desired_replicas = Some(d.to);
        let requests = d.requests.as_ref();
        status.desired_cpu = requests
            .and_then(|r| r.cpu_millis)
            .map(crate::quantity::format_cpu_millis);
        status.desired_memory = requests
            .and_then(|r| r.memory_bytes)
            .map(crate::quantity::format_memory_bytes);
    }
    if let Some(f) = &report.forecast {
        status.forecast_point = f.point.is_finite().then_some(f.point);
        status.forecast_upper = f.upper.is_finite().then_some(f.upper);
        status.forecast_lead = Some(format_duration(f.lead));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_answers() {
        assert_eq!(
            rfc3339(Timestamp(1_700_000_000_999)).as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(
            rfc3339(Timestamp(0)).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20Z"),
            Some(Timestamp(1_700_000_000_000))
        );
        assert_eq!(
            parse_rfc3339("2023-11-15T00:13:20.5+02:00"),
            Some(Timestamp(1_700_000_000_500))
        );
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20"), None, "no offset");
        assert_eq!(parse_rfc3339("next week"), None);
    }

    #[test]
    fn transition_time_is_kept_while_the_status_holds() {
        let previous = vec![ScalerCondition {
            type_: "SpecValid".into(),
            status: "True".into(),
            reason: Some("Valid".into()),
            message: None,
            last_transition_time: Some("2020-01-01T00:00:00Z".into()),
        }];
        let report = ScalerReport::new(Timestamp(1_700_000_000_000));
        let s = build_status(Some(3), &[], &previous, &report);
        assert_eq!(s.observed_generation, Some(3));
        let types: Vec<&str> = s.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "SpecValid", "Acting"]);
        assert_eq!(
            s.conditions[1].last_transition_time.as_deref(),
            Some("2020-01-01T00:00:00Z")
        );
        assert_eq!(
            s.conditions[0].last_transition_time.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(s.conditions[0].status, "Unknown");
        // A caller problem flips SpecValid and with it the transition time.
        let mut bad = report.clone();
        bad.problems.push(SpecProblem {
            path: "spec.policy".into(),
            message: "unknown policy \"fast\"".into(),
        });
        let s = build_status(Some(3), &[], &previous, &bad);
        assert_eq!(s.conditions[1].status, "False");
        assert_eq!(
            s.conditions[1].message.as_deref(),
            Some("spec.policy: unknown policy \"fast\"")
        );
        assert_eq!(
            s.conditions[1].last_transition_time.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(s.conditions[0].reason.as_deref(), Some("InvalidSpec"));
        assert_eq!(s.conditions[2].status, "False");
    }

    #[test]
    fn non_finite_forecasts_are_left_out() {
        let mut r = ScalerReport::new(Timestamp(0));
        r.forecast = Some(ForecastSummary {
            lead: Duration::from_secs(300),
            point: f64::NAN,
            upper: 12.5,
        });
        let s = build_status(None, &[], &[], &r);
        assert_eq!(s.forecast_point, None);
        assert_eq!(s.forecast_upper, Some(12.5));
        assert_eq!(s.forecast_lead.as_deref(), Some("5m"));
    }
}

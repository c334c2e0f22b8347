//! Handing a decision to an actuator (in `act` mode only) and recording what happened.

use crate::record::{Actuation, DecisionRecord};
use crate::Mode;
use prescale_actuate::{ActuateError, ActuationRequest, Actuator, DesiredState};

/// In `act` mode, sets the record's desired replica count (and its per-replica requests when they
/// change) through `actuator` when the decision changes either (or nothing was known before), and
/// records the outcome in `record.actuation`. In
/// forecast-only mode, or on a hold, the actuator is not called.
pub fn actuate(record: &mut DecisionRecord, actuator: &mut dyn Actuator) {
    let outcome = match (record.mode, record.replicas_after) {
        (Mode::ForecastOnly, _) => Actuation::Skipped {
            why: "forecast-only mode".into(),
        },
        (Mode::Act, None) => Actuation::Skipped {
            why: "nothing to set".into(),
        },
        (Mode::Act, Some(_)) if !record.is_scale() && !record.is_resize() => Actuation::Skipped {
            why: "already at the desired state".into(),
        },
        (Mode::Act, Some(replicas)) => {
            let mut desired = DesiredState::replicas(record.workload.clone(), replicas);
            if let Some(r) = record.resources.as_ref().filter(|r| r.changes()) {
                desired.resources = r.desired();
                desired.instance_type = r.instance.as_ref().and_then(|i| i.after.clone());
            }
            let req = ActuationRequest {
                desired,
                decision_id: record.decision_id(),
                reason: record.reason_json.to_string(),
                issued_at: record.at,
            };
            let name = actuator.name().to_string();
            match actuator.apply(&req) {
                Ok(a) => Actuation::Applied {
                    actuator: name,
                    changed: a.changed,
                    detail: a.detail,
                },
                Err(ActuateError::CircuitOpen { retry_after, .. }) => Actuation::CircuitOpen {
                    actuator: name,
                    retry_after_ms: u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
                },
                Err(ActuateError::KillSwitch { scope, .. }) => Actuation::KillSwitch {
                    actuator: name,
                    scope: scope.to_string(),
                },
                Err(e) => Actuation::Failed {
                    actuator: name,
                    retryable: e.is_retryable(),
                    error: e.to_string(),
                },
            }
        }
    };
    record.actuation = Some(outcome);
}

//! Firing a workload's warm-up target (`[workload.warmup]`) when its decision predicts a surge: in
//! act mode the target is sent the decision as an actuator is (decision id `<id>/warmup`, the
//! replica count asked for, the reason naming the surge), behind the kill switch, and what it did
//! is written into the decision's `actions.warmup.outcome`.

use prescale_actuate::{ActuationRequest, Actuator, DesiredState};
use prescale_control::{DecisionRecord, Mode};

/// Fires `target` for the warm-up `record` carries, if any, and records the outcome.
pub fn fire(record: &mut DecisionRecord, target: Option<&mut (dyn Actuator + '_)>) {
    let Some(w) = record.actions.warmup.as_ref() else {
        return;
    };
    let outcome = match (record.mode, target) {
        (Mode::ForecastOnly, _) => "not fired: forecast-only mode".to_string(),
        (Mode::Act, None) => "not fired: no warm-up target".to_string(),
        (Mode::Act, Some(target)) => {
            let reason = serde_json::json!({
                "rule": "warmup",
                "surge_at_ms": w.surge_at,
                "level": w.level,
                "predicted": w.predicted,
                "rise": w.rise,
                "ahead_s": w.ahead_s,
            });
            let req = ActuationRequest {
                desired: DesiredState {
                    workload: record.workload.clone(),
                    replicas: record.replicas_after.or(record.replicas_before),
                    resources: None,
                    instance_type: None,
                },
                decision_id: format!("{}/warmup", record.decision_id()),
                reason: reason.to_string(),
                issued_at: record.at,
            };
            let name = target.name().to_string();
            match target.apply(&req) {
                Ok(a) => format!("fired {name}: {}", a.detail),
                Err(e) => format!("{name} failed: {e}"),
            }
        }
    };
    if let Some(w) = record.actions.warmup.as_mut() {
        w.outcome = Some(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_actuate::{Exec, ExecOptions};
    use prescale_control::warmup::WarmupFired;
    use prescale_core::{Timestamp, WorkloadId};

    fn record(mode: Mode) -> DecisionRecord {
        DecisionRecord {
            workload: WorkloadId::new("api").unwrap(),
            at: Timestamp(60_000),
            mode,
            policy: "predictive".into(),
            replicas_before: Some(3),
            replicas_after: Some(4),
            pre_guard: None,
            bound_by: None,
            reason: String::new(),
            reason_json: serde_json::Value::Null,
            forecast: None,
            model: None,
            inputs: Default::default(),
            feedback: Vec::new(),
            resources: None,
            actuation: None,
            actions: prescale_control::Actions {
                warmup: Some(WarmupFired {
                    surge_at: 180_000,
                    level: 20.0,
                    predicted: 80.0,
                    rise: 3.0,
                    ahead_s: 120.0,
                    late: false,
                    outcome: None,
                }),
                ..Default::default()
            },
        }
    }

    fn outcome(r: &DecisionRecord) -> String {
        r.actions.warmup.as_ref().unwrap().outcome.clone().unwrap()
    }

    #[test]
    fn an_exec_target_is_run_with_the_surge_in_its_reason() {
        // A real command: it fails unless the reason it is handed names the surge.
        let dir = std::env::temp_dir().join(format!("prescale-warmup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("warm.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\ncat > \"$(dirname \"$0\")/request.json\"\necho warmed\n",
        )
        .unwrap();
        let mut exec = Exec::new(
            "/bin/sh",
            ExecOptions {
                args: vec![script.display().to_string()],
                ..ExecOptions::default()
            },
        );
        let mut r = record(Mode::Act);
        fire(&mut r, Some(&mut exec));
        assert_eq!(outcome(&r), "fired exec: warmed");
        let sent = std::fs::read_to_string(dir.join("request.json")).unwrap();
        assert!(sent.contains("api@60000/warmup"), "{sent}");
        assert!(sent.contains("surge_at_ms"), "{sent}");
        let _ = std::fs::remove_dir_all(&dir);
        // A failing target is recorded, not raised.
        let mut failing = Exec::new("/bin/false", ExecOptions::default());
        let mut r = record(Mode::Act);
        fire(&mut r, Some(&mut failing));
        assert!(outcome(&r).starts_with("exec failed"), "{}", outcome(&r));
    }

    #[test]
    fn forecast_only_and_no_surge_fire_nothing() {
        let mut exec = Exec::new("/bin/false", ExecOptions::default());
        let mut r = record(Mode::ForecastOnly);
        fire(&mut r, Some(&mut exec));
        assert_eq!(outcome(&r), "not fired: forecast-only mode");
        let mut r = record(Mode::Act);
        r.actions.warmup = None;
        fire(&mut r, Some(&mut exec));
        assert!(r.actions.warmup.is_none());
    }
}

//! Structured explanations: the policy's typed `Reason` as JSON, the wish before the guards and the
//! guard that bound it, and the controller's own reasons (stale or missing telemetry, waiting).

use prescale_policy::{Guard, Reason};
use serde_json::{json, Value};

/// `reason` as JSON: `{"rule": "...", ...fields}`; a guarded reason nests its `cause`.
pub fn reason_json(reason: &Reason) -> Value {
    match reason {
        Reason::WithinTolerance {
            utilization,
            target,
        } => json!({"rule": "within-tolerance", "utilization": utilization, "target": target}),
        Reason::Utilization {
            utilization,
            target,
            desired,
        } => {
            json!({"rule": "utilization", "utilization": utilization, "target": target, "desired": desired})
        }
        Reason::ForecastAbove {
            forecast,
            threshold,
        } => json!({"rule": "forecast-above", "forecast": forecast, "threshold": threshold}),
        Reason::ForecastBelow {
            forecast,
            threshold,
        } => json!({"rule": "forecast-below", "forecast": forecast, "threshold": threshold}),
        Reason::ForecastInBand { forecast } => {
            json!({"rule": "forecast-in-band", "forecast": forecast})
        }
        Reason::ForecastTooUncertain {
            relative_width,
            bound,
        } => {
            json!({"rule": "forecast-too-uncertain", "relative_width": relative_width, "bound": bound})
        }
        Reason::ForecastNeed {
            upper,
            headroom,
            need,
        } => json!({"rule": "forecast-need", "upper": upper, "headroom": headroom, "need": need}),
        Reason::ReactiveNeed {
            demand,
            headroom,
            need,
        } => json!({"rule": "reactive-need", "demand": demand, "headroom": headroom, "need": need}),
        Reason::ReactiveFallback {
            demand,
            target,
            need,
        } => json!({"rule": "reactive-fallback", "demand": demand, "target": target, "need": need}),
        Reason::Foresight { need } => json!({"rule": "foresight", "need": need}),
        Reason::NoLookahead { need } => json!({"rule": "no-lookahead", "need": need}),
        Reason::Peak { replicas } => json!({"rule": "peak", "replicas": replicas}),
        Reason::Guarded {
            guard,
            wanted,
            cause,
        } => json!({
            "rule": "guarded",
            "guard": guard_json(guard),
            "guard_text": guard.to_string(),
            "wanted": wanted,
            "cause": reason_json(cause),
        }),
    }
}

fn guard_json(g: &Guard) -> Value {
    match g {
        Guard::Bounds { min, max } => json!({"kind": "bounds", "min": min, "max": max}),
        Guard::Stabilization { window_steps } => {
            json!({"kind": "stabilization", "window_steps": window_steps})
        }
        Guard::ScaleUpLimit { limit } => json!({"kind": "scale-up-limit", "limit": limit}),
        Guard::ScaleDownLimit { limit } => json!({"kind": "scale-down-limit", "limit": limit}),
        Guard::Cooldown { steps_left } => json!({"kind": "cooldown", "steps_left": steps_left}),
    }
}

/// The policy's wish before any guard changed it (the innermost `Guarded`'s `wanted`), and the
/// guard applied last; `(None, None)` when no guard changed the wish.
pub fn guard_summary(reason: &Reason) -> (Option<u32>, Option<String>) {
    let Reason::Guarded { guard, .. } = reason else {
        return (None, None);
    };
    let mut wish = None;
    let mut r = reason;
    while let Reason::Guarded { wanted, cause, .. } = r {
        wish = Some(*wanted);
        r = cause;
    }
    (wish, Some(guard.to_string()))
}

/// Hold on stale telemetry.
pub fn stale(age_s: f64, stale_after_s: f64) -> (String, Value) {
    (
        format!("stale telemetry (last sample {age_s:.0} s ago, limit {stale_after_s:.0} s): holding, never scaling in"),
        json!({"rule": "stale-telemetry", "age_s": age_s, "stale_after_s": stale_after_s}),
    )
}

/// Hold without any telemetry.
pub fn missing() -> (String, Value) {
    (
        "stale telemetry (no samples in the window): holding, never scaling in".to_string(),
        json!({"rule": "no-telemetry"}),
    )
}

/// Hold until the current step completes (one decision per step).
pub fn waiting(step_s: f64) -> (String, Value) {
    (
        format!("no new complete {step_s:.0} s step since the last decision: holding"),
        json!({"rule": "waiting-for-step", "step_s": step_s}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_reasons_unwrap_to_the_first_wish_and_last_guard() {
        let r = Reason::Guarded {
            guard: Guard::Bounds { min: 1, max: 5 },
            wanted: 7,
            cause: Box::new(Reason::Guarded {
                guard: Guard::ScaleUpLimit { limit: 7 },
                wanted: 9,
                cause: Box::new(Reason::ForecastNeed {
                    upper: 90.0,
                    headroom: 1.0,
                    need: 9,
                }),
            }),
        };
        assert_eq!(guard_summary(&r), (Some(9), Some("bounds [1, 5]".into())));
        let j = reason_json(&r);
        assert_eq!(j["rule"], "guarded");
        assert_eq!(j["guard"]["kind"], "bounds");
        assert_eq!(j["cause"]["cause"]["rule"], "forecast-need");
        assert_eq!(guard_summary(&Reason::Peak { replicas: 2 }), (None, None));
    }
}

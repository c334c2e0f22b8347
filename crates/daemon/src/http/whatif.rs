//! `POST /api/v1/whatif`: what-if on a controlled workload's own history. The stored samples of its
//! demand metric (`from`..`to`, Unix ms; default the last 7 days) replay through its live
//! controller's spec, with the policies named in `policies` deciding beside it
//! (`prescale_replay::replay_history`). Read-only, so no token; bounded: at most
//! [`MAX_STEPS`] steps per replay and one replay at a time (429 while one runs).

use super::reply::{blocking, json, text};
use super::{lock, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use prescale_core::{SeriesKey, Timestamp, WorkloadId};
use prescale_policy::PolicyKind;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const ROUTE: &str = "/api/v1/whatif";
/// Most steps one replay runs (30 days of 1-minute steps): its time stays within seconds.
pub const MAX_STEPS: i64 = 43_200;
/// The span replayed when `from` is not given.
const DEFAULT_SPAN_MS: i64 = 7 * 86_400_000;

/// Set while a replay runs.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatIf {
    pub workload: String,
    /// Start, Unix ms (default: `to` − 7 days).
    pub from: Option<i64>,
    /// End, Unix ms (default: now).
    pub to: Option<i64>,
    /// Policies deciding beside the workload's own (names or tables, as in the config).
    #[serde(default)]
    pub policies: Vec<PolicyKind>,
}

#[derive(Debug, Serialize)]
struct PolicyFigures {
    name: String,
    /// Whether this is the workload's configured (acting) policy.
    acting: bool,
    under_pct: f64,
    unserved_pct: f64,
    /// Replica-hours.
    cost: f64,
    cost_vs_oracle: Option<f64>,
    actions: usize,
    max_step: u32,
}

#[derive(Debug, Serialize)]
struct Answer {
    workload: String,
    metric: String,
    from: i64,
    to: i64,
    steps: usize,
    step_seconds: f64,
    capacity_per_replica: f64,
    fits: usize,
    policies: Vec<PolicyFigures>,
    /// With `[workload.slo]`: the objective under each policy, or why it was not estimated.
    #[serde(skip_serializing_if = "Option::is_none")]
    slo: Option<SloAnswer>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum SloAnswer {
    Estimated(prescale_replay::SloReport),
    NotEstimated { error: String },
}

/// Clears the daemon's what-if flag when the replay ends, however it ends.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

pub async fn whatif(
    State(st): State<AppState>,
    body: Result<Json<WhatIf>, JsonRejection>,
) -> Response {
    let q = match body {
        Ok(Json(q)) => q,
        Err(e) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, e.body_text()),
    };
    let id = match WorkloadId::new(q.workload.clone()) {
        Ok(id) => id,
        Err(e) => {
            return text(
                &st,
                ROUTE,
                StatusCode::BAD_REQUEST,
                format!("workload: {e}"),
            )
        }
    };
    let Some(spec) = st.controlled.spec(&id) else {
        return text(
            &st,
            ROUTE,
            StatusCode::NOT_FOUND,
            format!("workload {id} is not controlled here"),
        );
    };
    let to = q.to.unwrap_or_else(|| crate::clock::now().0);
    let from = q.from.unwrap_or(to.saturating_sub(DEFAULT_SPAN_MS));
    let steps = to.saturating_sub(from) / spec.step_ms();
    if steps < 1 {
        return text(
            &st,
            ROUTE,
            StatusCode::BAD_REQUEST,
            "from must be at least a step before to",
        );
    }
    if steps > MAX_STEPS {
        return text(
            &st,
            ROUTE,
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{steps} steps asked: at most {MAX_STEPS} per replay; narrow from..to"),
        );
    }
    if st.whatif_running.swap(true, Ordering::SeqCst) {
        return text(
            &st,
            ROUTE,
            StatusCode::TOO_MANY_REQUESTS,
            "a what-if replay is already running; try again when it has finished",
        );
    }
    let guard = Running(st.whatif_running.clone());
    let reader = st.reader.clone();
    let extra = q.policies;
    let done = blocking(move || {
        let _guard = guard;
        let key = SeriesKey::new(spec.workload.clone(), spec.metric.clone());
        let samples = lock(&reader)
            .load_window(&key, Timestamp(from), Timestamp(to))
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        if samples.is_empty() {
            return Err((
                StatusCode::NOT_FOUND,
                format!("{key}: no stored samples between {from} and {to}"),
            ));
        }
        let acting = spec
            .policy_kind()
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .label();
        let metric = spec.metric.to_string();
        let objective = spec.slo.clone();
        let r = prescale_replay::replay_history(
            &samples,
            spec,
            &extra,
            (Some(Timestamp(from)), Some(Timestamp(to))),
            false,
        )
        .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        let slo = objective.map(|o| {
            let estimate = crate::slo_history::slo_history(
                &lock(&reader),
                &key.workload,
                &o,
                Timestamp(from),
                Timestamp(to),
            )
            .map_err(|e| e.to_string())
            .and_then(|h| prescale_replay::slo::estimate(&r, &o, &h).map_err(|e| e.to_string()));
            match estimate {
                Ok(report) => SloAnswer::Estimated(report),
                Err(error) => SloAnswer::NotEstimated { error },
            }
        });
        Ok(Answer {
            workload: key.workload.to_string(),
            metric,
            from,
            to,
            steps: r.steps,
            step_seconds: r.step_seconds,
            capacity_per_replica: r.capacity_per_replica,
            fits: r.fits,
            policies: r
                .policies
                .into_iter()
                .enumerate()
                .map(|(i, p)| PolicyFigures {
                    acting: i == 0 && p.name == acting,
                    name: p.name,
                    under_pct: p.metrics.under_pct,
                    unserved_pct: p.metrics.unserved_pct,
                    cost: p.metrics.cost,
                    cost_vs_oracle: p.metrics.cost_vs_oracle,
                    actions: p.metrics.actions,
                    max_step: p.metrics.max_step,
                })
                .collect(),
            slo,
        })
    })
    .await;
    match done {
        Ok(Ok(answer)) => json(&st, ROUTE, StatusCode::OK, &answer),
        Ok(Err((code, why))) => text(&st, ROUTE, code, why),
        Err(why) => text(&st, ROUTE, StatusCode::INTERNAL_SERVER_ERROR, why),
    }
}

//! `GET /readyz`: readiness, meaning the store answers and the control loop has completed a pass (200), else 503 with why.
//!
//! `/healthz` says the process serves HTTP (liveness); `/readyz` says it is worth sending work to:
//! the embedded store answers a read (`PRAGMA user_version` on the API's connection; a connection
//! busy with another read counts as open) and the control loop has finished its first pass, so
//! forecasts, decisions, `/metrics` and the KEDA predictions reflect this process and not an empty
//! start. A daemon that runs no control loop (no workloads, no PredictiveScalers, observe mode off)
//! never completes a pass and stays unready: probe `/healthz` there.

use super::{lock, reply, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::sync::TryLockError;

const ROUTE: &str = "/readyz";

/// The answer: `ready`, and what it was made of.
#[derive(Debug, Serialize)]
struct Readiness {
    ready: bool,
    /// `open`, or the store's error.
    store: String,
    /// Completed passes of the control loop.
    control_passes: u64,
    /// Why not ready (empty when ready).
    waiting_for: Vec<String>,
}

/// Completed passes of the control loop, as `/metrics` counts them (`prescale_control_ticks_total`).
fn control_passes(st: &AppState) -> u64 {
    st.insight
        .control()
        .samples(crate::clock::now())
        .iter()
        .find(|s| s.name == prescale_remote::naming::CONTROL_TICKS_TOTAL)
        .map_or(0, |s| s.value as u64)
}

/// `Ok` when the API's store connection answers (or is busy answering another read).
fn store_open(st: &AppState) -> Result<(), String> {
    match st.reader.try_lock() {
        Ok(store) => store.schema_version().map(drop).map_err(|e| e.to_string()),
        Err(TryLockError::WouldBlock) => Ok(()),
        Err(TryLockError::Poisoned(_)) => lock(&st.reader)
            .schema_version()
            .map(drop)
            .map_err(|e| e.to_string()),
    }
}

pub async fn ready(State(st): State<AppState>) -> Response {
    let probe = st.clone();
    let store = reply::blocking(move || store_open(&probe))
        .await
        .and_then(|r| r);
    let passes = control_passes(&st);
    let mut waiting_for = Vec::new();
    if let Err(e) = &store {
        waiting_for.push(format!("the store to answer: {e}"));
    }
    if passes == 0 {
        waiting_for.push("the control loop's first pass".to_string());
    }
    let body = Readiness {
        ready: waiting_for.is_empty(),
        store: store.err().unwrap_or_else(|| "open".to_string()),
        control_passes: passes,
        waiting_for,
    };
    let code = if body.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    reply::json(&st, ROUTE, code, &body)
}

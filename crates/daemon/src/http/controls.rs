//! `GET`/`POST /api/v1/mode` and `GET`/`POST /api/v1/kill-switch`: the run-time global mode and
//! kill switch. GET is open; POST needs the bearer token (see [`super::auth`]), and answers 503
//! with nothing changed when the change cannot be saved.

use super::auth::refusal;
use super::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prescale_control::Mode;
use prescale_core::WorkloadId;
use serde::{Deserialize, Serialize};

const MODE: &str = "/api/v1/mode";
const KILL: &str = "/api/v1/kill-switch";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: String,
}

#[derive(Debug, Serialize)]
pub struct ModeState {
    /// `act` or `forecast-only`.
    pub mode: String,
    /// The mode before this request (POST only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillBody {
    engaged: bool,
    #[serde(default)]
    workload: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct KillState {
    /// Whether the global switch is engaged (stops every workload).
    pub global: bool,
    /// Workloads whose own switch is engaged.
    pub workloads: Vec<WorkloadId>,
}

pub async fn get_mode(State(st): State<AppState>) -> Response {
    st.metrics.request(MODE, 200);
    Json(ModeState {
        mode: st.controls.mode().to_string(),
        previous: None,
    })
    .into_response()
}

pub async fn set_mode(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refusal(&st, &headers, MODE) {
        return r;
    }
    let mode = match serde_json::from_slice::<ModeBody>(&body) {
        Ok(b) => b.mode.parse::<Mode>().map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let mode = match mode {
        Ok(m) => m,
        Err(e) => {
            st.metrics.request(MODE, 400);
            return bad_request(format!(
                "expected {{\"mode\": \"act\"}} or {{\"mode\": \"forecast-only\"}}: {e}"
            ));
        }
    };
    let previous = match st.controls.set_mode(mode) {
        Ok(p) => p,
        Err(e) => return not_saved(&st, MODE, e),
    };
    tracing::info!(mode = %mode, previous = %previous, "global mode set through the API");
    st.metrics.request(MODE, 200);
    Json(ModeState {
        mode: mode.to_string(),
        previous: Some(previous.to_string()),
    })
    .into_response()
}

pub async fn get_kill(State(st): State<AppState>) -> Response {
    st.metrics.request(KILL, 200);
    Json(kill_state(&st)).into_response()
}

pub async fn set_kill(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refusal(&st, &headers, KILL) {
        return r;
    }
    let req = match serde_json::from_slice::<KillBody>(&body) {
        Ok(b) => b,
        Err(e) => {
            st.metrics.request(KILL, 400);
            return bad_request(format!(
                "expected {{\"engaged\": true|false, \"workload\": optional}}: {e}"
            ));
        }
    };
    let workload = match req.workload.map(WorkloadId::new).transpose() {
        Ok(w) => w,
        Err(e) => {
            st.metrics.request(KILL, 400);
            return bad_request(format!("workload: {e}"));
        }
    };
    if let Some(w) = &workload {
        if !st.controlled.contains(w) {
            st.metrics.request(KILL, 404);
            return (
                StatusCode::NOT_FOUND,
                format!("workload {w} is not controlled (neither a [[workload]] nor a PredictiveScaler's)\n"),
            )
                .into_response();
        }
    }
    if let Err(e) = st.controls.set_kill(workload.as_ref(), req.engaged) {
        return not_saved(&st, KILL, e);
    }
    match &workload {
        Some(w) => {
            tracing::info!(scope = "workload", workload = %w, engaged = req.engaged, "kill switch set through the API")
        }
        None => {
            tracing::info!(
                scope = "global",
                engaged = req.engaged,
                "kill switch set through the API"
            )
        }
    }
    st.metrics.request(KILL, 200);
    Json(kill_state(&st)).into_response()
}

fn kill_state(st: &AppState) -> KillState {
    let (global, workloads) = st.controls.kill_state();
    KillState { global, workloads }
}

/// 503: the change could not be made durable, so it was not made (the sender may retry).
fn not_saved(st: &AppState, path: &'static str, e: crate::controls::SaveError) -> Response {
    tracing::error!(error = %e, "a control change was refused: it could not be saved");
    st.metrics.request(path, 503);
    (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response()
}

fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, format!("{msg}\n")).into_response()
}

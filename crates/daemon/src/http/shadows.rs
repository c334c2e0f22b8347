//! `GET /api/v1/workloads/{id}/shadows`: the acting configuration and every shadow with their
//! counterfactual figures over the same steps; `POST /api/v1/workloads/{id}/promote`
//! `{"shadow": NAME}` (bearer token): the shadow acts from the workload's next step (202), and the
//! promotion is recorded in the decision log.

use super::auth::refusal;
use super::reply::{json, text, workload_in_path};
use super::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

const SHADOWS: &str = "/api/v1/workloads/{id}/shadows";
const PROMOTE: &str = "/api/v1/workloads/{id}/promote";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteBody {
    shadow: String,
}

#[derive(Debug, Serialize)]
struct Accepted<'a> {
    workload: &'a str,
    shadow: &'a str,
    /// When the promotion takes effect.
    effective: &'static str,
}

pub async fn shadows(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let w = match workload_in_path(id) {
        Ok(w) => w,
        Err(e) => return text(&st, SHADOWS, StatusCode::BAD_REQUEST, e),
    };
    match st.insight.shadows().report(&w) {
        Some(r) => json(&st, SHADOWS, StatusCode::OK, &r),
        None => text(
            &st,
            SHADOWS,
            StatusCode::NOT_FOUND,
            format!("workload {w} has no shadows (or has not decided since they were configured)"),
        ),
    }
}

pub async fn promote(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = refusal(&st, &headers, PROMOTE) {
        return r;
    }
    let w = match workload_in_path(id) {
        Ok(w) => w,
        Err(e) => return text(&st, PROMOTE, StatusCode::BAD_REQUEST, e),
    };
    let name = match serde_json::from_slice::<PromoteBody>(&body) {
        Ok(b) => b.shadow,
        Err(e) => {
            return text(
                &st,
                PROMOTE,
                StatusCode::BAD_REQUEST,
                format!("expected {{\"shadow\": NAME}}: {e}"),
            )
        }
    };
    if let Err(why) = st.insight.shadows().request_promotion(&w, &name) {
        return text(&st, PROMOTE, StatusCode::NOT_FOUND, why);
    }
    tracing::info!(workload = %w, shadow = %name, "promotion asked through the API");
    json(
        &st,
        PROMOTE,
        StatusCode::ACCEPTED,
        &Accepted {
            workload: w.as_str(),
            shadow: &name,
            effective: "next step",
        },
    )
}

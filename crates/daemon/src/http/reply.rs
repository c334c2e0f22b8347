//! Answers of the read API: JSON bodies and plain-text reasons, each counted in the request metrics
//! under its route template.

use super::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::fmt::Display;

/// A JSON body with `code`.
pub fn json<T: Serialize>(
    st: &AppState,
    route: &'static str,
    code: StatusCode,
    body: &T,
) -> Response {
    st.metrics.request(route, code.as_u16());
    (code, Json(body)).into_response()
}

/// A plain-text reason with `code` (400, 404, 500).
pub fn text(st: &AppState, route: &'static str, code: StatusCode, why: impl Display) -> Response {
    st.metrics.request(route, code.as_u16());
    (code, format!("{why}\n")).into_response()
}

/// The `{id}` of a `/workloads/{id}/...` route as a workload id, or the 400 reason.
pub fn workload_in_path(id: String) -> Result<prescale_core::WorkloadId, String> {
    prescale_core::WorkloadId::new(id).map_err(|e| format!("workload: {e}"))
}

/// Runs store work on a blocking thread; a panicked task becomes a 500 reason.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal task failed: {e}"))
}

/// `limit` of a list query: the default when absent, 400 reason when 0 or above `max`.
pub fn limit(v: Option<usize>, default: usize, max: usize) -> Result<usize, String> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(format!("limit: {n} is not within 1..={max}")),
    }
}

/// `?workload=W&limit=N` of the list endpoints (anomalies, annotations); unknown keys are refused.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub workload: Option<String>,
    pub limit: Option<usize>,
}

/// The query's workload and limit, or the reason for a 400.
pub fn list_query(
    q: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    default: usize,
    max: usize,
) -> Result<(Option<prescale_core::WorkloadId>, usize), String> {
    let q = q.map_err(|e| e.body_text())?.0;
    let workload = q
        .workload
        .map(prescale_core::WorkloadId::new)
        .transpose()
        .map_err(|e| format!("workload: {e}"))?;
    Ok((workload, limit(q.limit, default, max)?))
}

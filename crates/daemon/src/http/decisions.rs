//! `GET /api/v1/decisions?workload=W&limit=N`: stored decisions, newest first, each with its
//! explanation.

use super::{lock, AppState};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use prescale_core::WorkloadId;
use serde::{Deserialize, Serialize};

/// Default and largest `limit`.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Deserialize)]
pub struct DecisionsQuery {
    pub workload: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct DecisionsBody {
    pub decisions: Vec<serde_json::Value>,
}

pub async fn decisions(State(st): State<AppState>, Query(q): Query<DecisionsQuery>) -> Response {
    let path = "/api/v1/decisions";
    let workload = match q.workload.map(WorkloadId::new).transpose() {
        Ok(w) => w,
        Err(e) => {
            st.metrics.request(path, 400);
            return (StatusCode::BAD_REQUEST, format!("workload: {e}\n")).into_response();
        }
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let reader = st.reader.clone();
    let r = tokio::task::spawn_blocking(move || lock(&reader).decisions(limit, workload.as_ref()))
        .await;
    let rows = match r {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            st.metrics.request(path, 500);
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
        }
        Err(e) => {
            st.metrics.request(path, 500);
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
        }
    };
    let decisions = rows
        .into_iter()
        .map(|(id, row)| {
            let mut v = serde_json::from_str::<serde_json::Value>(&row.record_json)
                .unwrap_or(serde_json::Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("id".into(), id.into());
            }
            v
        })
        .collect();
    st.metrics.request(path, 200);
    Json(DecisionsBody { decisions }).into_response()
}

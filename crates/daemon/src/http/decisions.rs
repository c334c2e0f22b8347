//! `GET /api/v1/decisions?workload=W&limit=N`: stored decisions, newest first, each with its
//! explanation (and `at_rfc3339` beside `at`).

use super::reply::{list_query, text, ListQuery};
use super::{lock, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Default and largest `limit` (the list endpoints' one rule: 1..=max, else 400).
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Serialize)]
pub struct DecisionsBody {
    pub decisions: Vec<serde_json::Value>,
}

pub async fn decisions(
    State(st): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let path = "/api/v1/decisions";
    let (workload, limit) = match list_query(q, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(v) => v,
        Err(why) => return text(&st, path, StatusCode::BAD_REQUEST, why),
    };
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
            super::rfc3339::stamp(&mut v, &["at"]);
            v
        })
        .collect();
    st.metrics.request(path, 200);
    Json(DecisionsBody { decisions }).into_response()
}

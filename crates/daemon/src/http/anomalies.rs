//! `GET /api/v1/anomalies?workload=W&limit=N`: anomaly events on the forecast residuals opening and
//! closing, newest first (kept in memory, the latest 1000).

use super::reply::{json, list_query, text, ListQuery};
use super::AppState;
use crate::insight::AnomalyChange;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use prescale_core::WorkloadId;
use serde::Serialize;

const ROUTE: &str = "/api/v1/anomalies";
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Serialize)]
pub struct AnomaliesBody {
    pub anomalies: Vec<AnomalyChange>,
}

pub async fn anomalies(
    State(st): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let (workload, n) = match list_query(q, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(v) => v,
        Err(why) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, why),
    };
    let body = AnomaliesBody {
        anomalies: st
            .insight
            .anomalies(workload.as_ref().map(WorkloadId::as_str), n),
    };
    json(&st, ROUTE, StatusCode::OK, &body)
}

//! `GET /api/v1/anomalies?workload=W&limit=N`: anomaly events on the forecast residuals opening and
//! closing, newest first (kept in memory, the latest 1000).

use super::reply::{json, limit, text};
use super::AppState;
use crate::insight::AnomalyChange;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use prescale_core::WorkloadId;
use serde::{Deserialize, Serialize};

const ROUTE: &str = "/api/v1/anomalies";
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomaliesQuery {
    pub workload: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct AnomaliesBody {
    pub anomalies: Vec<AnomalyChange>,
}

pub async fn anomalies(
    State(st): State<AppState>,
    q: Result<Query<AnomaliesQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, e.body_text()),
    };
    let workload = match q.workload.map(WorkloadId::new).transpose() {
        Ok(w) => w,
        Err(e) => {
            return text(
                &st,
                ROUTE,
                StatusCode::BAD_REQUEST,
                format!("workload: {e}"),
            )
        }
    };
    let n = match limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(n) => n,
        Err(e) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, e),
    };
    let body = AnomaliesBody {
        anomalies: st
            .insight
            .anomalies(workload.as_ref().map(WorkloadId::as_str), n),
    };
    json(&st, ROUTE, StatusCode::OK, &body)
}

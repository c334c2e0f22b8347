//! `GET /api/v1/anomalies?workload=W&limit=N`: anomaly events on the forecast residuals opening and
//! closing, newest first (kept in memory, the latest 1000); RFC 3339 beside each Unix ms time.

use super::reply::{json, list_query, text, ListQuery};
use super::{rfc3339, AppState};
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
    /// Each an [`AnomalyChange`] with `noticed_at_rfc3339`, and `started_at_rfc3339` and
    /// `last_at_rfc3339` in its event.
    pub anomalies: Vec<serde_json::Value>,
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
            .anomalies(workload.as_ref().map(WorkloadId::as_str), n)
            .iter()
            .map(stamped)
            .collect(),
    };
    json(&st, ROUTE, StatusCode::OK, &body)
}

/// An anomaly change as JSON with its times also as RFC 3339.
fn stamped(c: &AnomalyChange) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or(serde_json::Value::Null);
    rfc3339::stamp(&mut v, &["noticed_at"]);
    if let Some(event) = v.get_mut("event") {
        rfc3339::stamp(event, &["started_at", "last_at"]);
    }
    v
}

//! `GET /api/v1/workloads`: each workload with its series, sample counts and last sample time
//! (Unix ms, and RFC 3339 beside it).

use super::{lock, rfc3339, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct WorkloadsBody {
    pub workloads: Vec<WorkloadJson>,
}

#[derive(Debug, Serialize)]
pub struct WorkloadJson {
    pub workload: String,
    pub samples: u64,
    /// Unix milliseconds of the newest sample of any of its series.
    pub last_ts: Option<i64>,
    pub last_ts_rfc3339: Option<String>,
    pub series: Vec<SeriesJson>,
}

#[derive(Debug, Serialize)]
pub struct SeriesJson {
    pub metric: String,
    pub samples: u64,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    pub first_ts_rfc3339: Option<String>,
    pub last_ts_rfc3339: Option<String>,
}

pub async fn workloads(State(st): State<AppState>) -> Response {
    let summaries = st.summaries.clone();
    let r = tokio::task::spawn_blocking(move || lock(&summaries).workload_summaries()).await;
    let summaries = match r {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            st.metrics.request("/api/v1/workloads", 500);
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
        }
        Err(e) => {
            st.metrics.request("/api/v1/workloads", 500);
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
        }
    };
    let workloads = summaries
        .into_iter()
        .map(|w| {
            let series: Vec<SeriesJson> = w
                .series
                .into_iter()
                .map(|s| SeriesJson {
                    metric: s.metric.to_string(),
                    samples: s.samples as u64,
                    first_ts: s.first.map(|t| t.0),
                    last_ts: s.last.map(|t| t.0),
                    first_ts_rfc3339: rfc3339::opt(s.first.map(|t| t.0)),
                    last_ts_rfc3339: rfc3339::opt(s.last.map(|t| t.0)),
                })
                .collect();
            let last_ts = series.iter().filter_map(|s| s.last_ts).max();
            WorkloadJson {
                workload: w.workload.to_string(),
                samples: series.iter().map(|s| s.samples).sum(),
                last_ts,
                last_ts_rfc3339: rfc3339::opt(last_ts),
                series,
            }
        })
        .collect();
    st.metrics.request("/api/v1/workloads", 200);
    Json(WorkloadsBody { workloads }).into_response()
}

//! `GET /api/v1/workloads`: each workload with its series, sample counts and last sample time
//! (Unix ms, and RFC 3339 beside it).
//!
//! Built for many series (10k and more): one narrow read of the spans the store keeps on write
//! (no labels parsed), then JSON written straight from borrowed rows on the blocking pool, the
//! RFC 3339 texts formatted into the output without strings of their own.

use super::rfc3339::Rfc3339;
use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prescale_store::SeriesSpan;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct WorkloadsBody<'a> {
    workloads: Vec<WorkloadJson<'a>>,
}

#[derive(Debug, Serialize)]
struct WorkloadJson<'a> {
    workload: &'a str,
    samples: u64,
    /// Unix milliseconds of the newest sample of any of its series.
    last_ts: Option<i64>,
    last_ts_rfc3339: Option<Rfc3339>,
    series: Vec<SeriesJson<'a>>,
}

#[derive(Debug, Serialize)]
struct SeriesJson<'a> {
    metric: &'a str,
    samples: u64,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    first_ts_rfc3339: Option<Rfc3339>,
    last_ts_rfc3339: Option<Rfc3339>,
}

/// The response body of `spans` (sorted by workload, then metric).
fn body(spans: &[SeriesSpan]) -> Result<Vec<u8>, serde_json::Error> {
    let mut workloads: Vec<WorkloadJson<'_>> = Vec::new();
    for s in spans {
        let (first, last) = (s.first.map(|t| t.0), s.last.map(|t| t.0));
        let series = SeriesJson {
            metric: &s.metric,
            samples: s.samples,
            first_ts: first,
            last_ts: last,
            first_ts_rfc3339: first.and_then(Rfc3339::new),
            last_ts_rfc3339: last.and_then(Rfc3339::new),
        };
        match workloads.last_mut() {
            Some(w) if w.workload == s.workload => {
                w.samples += s.samples;
                w.last_ts = w.last_ts.max(last);
                w.series.push(series);
            }
            _ => workloads.push(WorkloadJson {
                workload: &s.workload,
                samples: s.samples,
                last_ts: last,
                last_ts_rfc3339: None,
                series: vec![series],
            }),
        }
    }
    for w in &mut workloads {
        w.last_ts_rfc3339 = w.last_ts.and_then(Rfc3339::new);
    }
    serde_json::to_vec(&WorkloadsBody { workloads })
}

pub async fn workloads(State(st): State<AppState>) -> Response {
    let route = "/api/v1/workloads";
    let summaries = st.summaries.clone();
    let r = tokio::task::spawn_blocking(move || {
        let spans = summaries
            .with(|s| s.series_spans())
            .map_err(|e| e.to_string())?;
        body(&spans).map_err(|e| e.to_string())
    })
    .await;
    match r {
        Ok(Ok(bytes)) => {
            st.metrics.request(route, 200);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                bytes,
            )
                .into_response()
        }
        Ok(Err(e)) => {
            st.metrics.request(route, 500);
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
        Err(e) => {
            st.metrics.request(route, 500);
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::Timestamp;

    fn span(w: &str, m: &str, n: u64, first: Option<i64>, last: Option<i64>) -> SeriesSpan {
        SeriesSpan {
            workload: w.into(),
            metric: m.into(),
            samples: n,
            first: first.map(Timestamp),
            last: last.map(Timestamp),
        }
    }

    #[test]
    fn series_are_grouped_by_workload_with_totals_and_times() {
        let spans = [
            span("a", "cpu", 3, Some(0), Some(2000)),
            span("a", "mem", 2, Some(1000), Some(5000)),
            span("b", "rps", 0, None, None),
        ];
        let v: serde_json::Value = serde_json::from_slice(&body(&spans).unwrap()).unwrap();
        let w = v["workloads"].as_array().unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0]["workload"], "a");
        assert_eq!(w[0]["samples"], 5);
        assert_eq!(w[0]["last_ts"], 5000);
        assert_eq!(w[0]["last_ts_rfc3339"], "1970-01-01T00:00:05.000Z");
        assert_eq!(w[0]["series"][1]["metric"], "mem");
        assert_eq!(
            w[0]["series"][1]["first_ts_rfc3339"],
            "1970-01-01T00:00:01.000Z"
        );
        assert_eq!(w[1]["last_ts"], serde_json::Value::Null);
        assert_eq!(w[1]["last_ts_rfc3339"], serde_json::Value::Null);
        assert_eq!(w[1]["series"][0]["samples"], 0);
    }
}

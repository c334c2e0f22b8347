//! `POST /api/v1/write`: Prometheus remote-write 1.0 receiver. Answers 204 only after the commit.

use super::{lock, AppState};
use crate::clock;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prescale_ingest::admit::RejectReason;
use prescale_ingest::remote_write;
use std::collections::BTreeMap;

const SOURCE: &str = "remote_write";
const ROUTE: &str = "/api/v1/write";

pub async fn remote_write(
    State(st): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "body_too_large"
            } else {
                "unreadable_body"
            };
            st.metrics.rejected(SOURCE, reason, 1);
            return answer(&st, status, format!("{reason}: {}", rejection.body_text()));
        }
    };
    let st2 = st.clone();
    let admitted = tokio::task::spawn_blocking(move || {
        let req = remote_write::decode(&body, &st2.receiver.limits)?;
        let mut adm = lock(&st2.admission);
        if !req.metadata.is_empty() {
            adm.kinds.extend(remote_write::kind_index(&req));
        }
        let report = adm.admit_request(&req, clock::now().0);
        Ok::<_, remote_write::RemoteWriteError>(report)
    })
    .await;
    let report = match admitted {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            st.metrics.rejected(SOURCE, "malformed", 1);
            return answer(
                &st,
                StatusCode::BAD_REQUEST,
                format!("malformed remote-write body: {e}"),
            );
        }
        Err(e) => {
            return answer(
                &st,
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("decoder task failed: {e}"),
            );
        }
    };
    let mut rejected: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (reason, n) in &report.rejected {
        st.metrics.rejected(SOURCE, reason.as_str(), *n);
        // Staleness markers say a series ended: counted, but not an error for the sender.
        if *reason != RejectReason::StaleMarker {
            *rejected.entry(reason.as_str()).or_default() += n;
        }
    }
    let accepted = report.accepted.len();
    if accepted > 0 {
        match st.writer.write_acked(report.accepted).await {
            Ok(_) => st.metrics.ingested(SOURCE, accepted),
            Err(e) => {
                // 5xx: the sender keeps the samples and retries.
                return answer(
                    &st,
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not stored: {e}"),
                );
            }
        }
    }
    if rejected.is_empty() {
        st.metrics.request(ROUTE, 204);
        return StatusCode::NO_CONTENT.into_response();
    }
    let total: u64 = rejected.values().sum();
    let detail: Vec<String> = rejected.iter().map(|(r, n)| format!("{r} {n}")).collect();
    answer(
        &st,
        StatusCode::BAD_REQUEST,
        format!(
            "{total} samples rejected ({}); {accepted} accepted and stored",
            detail.join(", ")
        ),
    )
}

fn answer(st: &AppState, status: StatusCode, reason: String) -> Response {
    st.metrics.request(ROUTE, status.as_u16());
    tracing::debug!(status = status.as_u16(), %reason, "remote-write refused");
    (status, format!("{reason}\n")).into_response()
}

//! `POST /api/v1/write`: Prometheus remote-write 1.0 receiver. Answers 204 only after the commit.
//!
//! Memory is bounded: a request reserves its body and decompressed size from the in-flight budget
//! ([`InFlight`], 429 with `Retry-After` past it), is validated in full without decoding its samples
//! into memory, then decoded, admitted and committed [`CHUNK_SAMPLES`] samples at a time.

mod budget;
mod content;

pub use budget::InFlight;

use super::{lock, AppState};
use crate::clock;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::header::{CONTENT_LENGTH, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use budget::Reservation;
use prescale_core::point::SeriesPoints;
use prescale_ingest::admit::{AdmitReport, RejectReason};
use prescale_ingest::remote_write::{self, RemoteWriteError, WriteRequest};
use std::collections::BTreeMap;
use tokio::sync::mpsc;

/// One chunk of a request, admitted: its samples grouped by series.
type Admitted = AdmitReport<SeriesPoints>;

const SOURCE: &str = "remote_write";
const ROUTE: &str = "/api/v1/write";
/// Samples decoded, admitted and committed at a time (a few MB of points at most).
pub const CHUNK_SAMPLES: usize = 16_384;
/// Requests that held at least this many bytes give freed memory back to the OS when they end and
/// no other request is in flight.
const TRIM_AFTER_BYTES: usize = 4 << 20;
/// Seconds a sender is asked to wait after a 429.
const RETRY_AFTER_SECS: &str = "2";

pub async fn remote_write(State(st): State<AppState>, req: Request) -> Response {
    let headers = req.headers();
    if let Err(reason) = content::supported(headers) {
        st.metrics.rejected(SOURCE, "unsupported_media_type", 1);
        return answer(&st, StatusCode::UNSUPPORTED_MEDIA_TYPE, reason);
    }
    let limits = &st.receiver.limits;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|&n| n > limits.max_body_bytes) {
        return refuse(
            &st,
            RemoteWriteError::BodyTooLarge {
                size,
                limit: limits.max_body_bytes,
            },
        );
    }
    // Reserve what the body may take before reading it: its length, or the limit when unknown.
    let Some(mut held) = reserve(&st, declared.unwrap_or(limits.max_body_bytes)) else {
        return busy(&st);
    };
    // The route's body limit (max_body_bytes) applies here: 413 past it.
    let body = match Bytes::from_request(req, &()).await {
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
    let decompressed = match remote_write::decompressed_len(&body, limits) {
        Ok(n) => n,
        Err(e) => return refuse(&st, e),
    };
    if !held.resize(body.len().saturating_add(decompressed)) {
        return busy(&st);
    }
    receive(st, body, held).await
}

/// Decodes and admits on a blocking thread, a chunk at a time; commits each chunk before the next
/// is admitted and answers once all are committed.
async fn receive(st: AppState, body: Bytes, held: Reservation) -> Response {
    let (tx, mut rx) = mpsc::channel::<Result<Admitted, RemoteWriteError>>(1);
    let st2 = st.clone();
    let large = held.bytes() >= TRIM_AFTER_BYTES;
    let decoder = tokio::task::spawn_blocking(move || admit_chunks(&st2, body, held, &tx));
    let response = commit_chunks(&st, &mut rx, decoder).await;
    // The last large request out gives what it freed back (its points are committed and dropped).
    if large && st.inflight.used() == 0 {
        tokio::task::spawn_blocking(crate::memory::release_free_memory);
    }
    response
}

/// Commits each admitted chunk as it comes and answers for the whole request.
async fn commit_chunks(
    st: &AppState,
    rx: &mut mpsc::Receiver<Result<Admitted, RemoteWriteError>>,
    decoder: tokio::task::JoinHandle<()>,
) -> Response {
    let mut rejected: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut accepted = 0usize;
    while let Some(chunk) = rx.recv().await {
        let report = match chunk {
            Ok(r) => r,
            Err(e) if accepted == 0 && rejected.is_empty() => return refuse(st, e),
            Err(e) => {
                st.metrics.rejected(SOURCE, "malformed", 1);
                let msg = format!("malformed remote-write body: {e}; {accepted} samples before it accepted and stored");
                return answer(st, StatusCode::BAD_REQUEST, msg);
            }
        };
        for (reason, n) in &report.rejected {
            st.metrics.rejected(SOURCE, reason.as_str(), *n);
            // Staleness markers say a series ended: counted, but not an error for the sender.
            if *reason != RejectReason::StaleMarker {
                *rejected.entry(reason.as_str()).or_default() += n;
            }
        }
        let n = report.samples();
        if n > 0 {
            if let Err(e) = st.writer.write_series_acked(report.accepted).await {
                // 5xx: the sender keeps the samples and retries.
                return answer(
                    st,
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not stored: {e}"),
                );
            }
            st.metrics.ingested(SOURCE, n);
            accepted += n;
        }
    }
    if let Err(e) = decoder.await {
        return answer(
            st,
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("decoder task failed: {e}"),
        );
    }
    if rejected.is_empty() {
        st.metrics.request(ROUTE, 204);
        return StatusCode::NO_CONTENT.into_response();
    }
    let total: u64 = rejected.values().sum();
    let detail: Vec<String> = rejected.iter().map(|(r, n)| format!("{r} {n}")).collect();
    answer(
        st,
        StatusCode::BAD_REQUEST,
        format!(
            "{total} samples rejected ({}); {accepted} accepted and stored",
            detail.join(", ")
        ),
    )
}

/// The blocking half: decompress, validate everything, then admit chunk by chunk, handing each
/// report to the committer (and waiting while it commits the previous one).
fn admit_chunks(
    st: &AppState,
    body: Bytes,
    mut held: Reservation,
    tx: &mpsc::Sender<Result<Admitted, RemoteWriteError>>,
) {
    let limits = &st.receiver.limits;
    let checked = remote_write::decompress(&body, limits).and_then(|buf| {
        let size = buf.len();
        drop(body);
        held.resize(size);
        remote_write::check(buf, limits)
    });
    let checked = match checked {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.blocking_send(Err(e));
            return;
        }
    };
    if !checked.metadata.is_empty() {
        let meta = WriteRequest {
            timeseries: Vec::new(),
            metadata: checked.metadata.clone(),
        };
        lock(&st.admission)
            .kinds
            .extend(remote_write::kind_index(&meta));
    }
    for chunk in checked.chunks(CHUNK_SAMPLES) {
        let report = chunk.map(|req| lock(&st.admission).admit_request(&req, clock::now().0));
        let failed = report.is_err();
        // A closed channel: the committer stopped (a commit failed); stop decoding.
        if tx.blocking_send(report).is_err() || failed {
            return;
        }
    }
}

fn reserve(st: &AppState, bytes: usize) -> Option<Reservation> {
    st.inflight.try_reserve(bytes)
}

/// 429 with `Retry-After`: the in-flight budget is spent by other requests.
fn busy(st: &AppState) -> Response {
    st.metrics.rejected(SOURCE, "in_flight_budget", 1);
    st.metrics.request(ROUTE, 429);
    let reason = format!(
        "too many bytes in flight: remote-write requests already hold the receiver's budget of {} bytes (remote_write.max_inflight_bytes); retry later\n",
        st.inflight.limit()
    );
    tracing::debug!(%reason, "remote-write deferred");
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(RETRY_AFTER, RETRY_AFTER_SECS)],
        reason,
    )
        .into_response()
}

/// A body refused whole: 413 for its size, 400 for its content.
fn refuse(st: &AppState, e: RemoteWriteError) -> Response {
    if e.is_too_large() {
        st.metrics.rejected(SOURCE, e.as_str(), 1);
        return answer(
            st,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{}: {e}", e.as_str()),
        );
    }
    st.metrics.rejected(SOURCE, "malformed", 1);
    answer(
        st,
        StatusCode::BAD_REQUEST,
        format!("malformed remote-write body: {e}"),
    )
}

fn answer(st: &AppState, status: StatusCode, reason: String) -> Response {
    st.metrics.request(ROUTE, status.as_u16());
    tracing::debug!(status = status.as_u16(), %reason, "remote-write refused");
    (status, format!("{reason}\n")).into_response()
}

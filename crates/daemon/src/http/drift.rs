//! `GET /api/v1/workloads/{id}/drift?at=MS&top=N`: the workload's fingerprint before and after a
//! change (`at`, Unix ms; default: its latest annotation tagged release or deploy), their distance
//! in the current basis, that distance against the fleet's and its own movement, and the raw
//! features that moved most (`prescale_learn::drift_report`).

use super::clusters::NOT_YET;
use super::reply::{blocking, json, text, workload_in_path};
use super::{lock, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use prescale_core::Timestamp;
use prescale_learn::{drift_report, DriftOptions, LearnError, DEFAULT_TOP};
use serde::Deserialize;

const ROUTE: &str = "/api/v1/workloads/{id}/drift";
/// Most features one answer lists.
const MAX_TOP: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftQuery {
    /// The change, Unix ms.
    pub at: Option<i64>,
    pub top: Option<usize>,
}

/// The options of a query, or the 400 reason.
fn options(q: Result<Query<DriftQuery>, QueryRejection>) -> Result<DriftOptions, String> {
    let q = q.map_err(|e| e.body_text())?.0;
    let top = match q.top {
        None => DEFAULT_TOP,
        Some(n) if (1..=MAX_TOP).contains(&n) => n,
        Some(n) => return Err(format!("top: {n} is not within 1..={MAX_TOP}")),
    };
    Ok(DriftOptions {
        at: q.at.map(Timestamp),
        top,
    })
}

/// The answer's code for a report that could not be made: 404 when there is nothing to report on,
/// 409 when the history in the current basis is too short, 422 when there is no release to compare
/// around.
fn status(e: &LearnError) -> StatusCode {
    match e {
        LearnError::UnknownWorkload { .. } | LearnError::NoFingerprints => StatusCode::NOT_FOUND,
        LearnError::NotInBasis { .. }
        | LearnError::NoRunBefore { .. }
        | LearnError::NoRunAfter { .. } => StatusCode::CONFLICT,
        LearnError::NoRelease { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub async fn drift(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<DriftQuery>, QueryRejection>,
) -> Response {
    let w = match workload_in_path(id) {
        Ok(w) => w,
        Err(why) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, why),
    };
    let opts = match options(q) {
        Ok(o) => o,
        Err(why) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, why),
    };
    let reader = st.reader.clone();
    match blocking(move || drift_report(&lock(&reader), &w, &opts)).await {
        Ok(Ok(report)) => json(&st, ROUTE, StatusCode::OK, &report),
        Ok(Err(LearnError::NoFingerprints)) => text(&st, ROUTE, StatusCode::NOT_FOUND, NOT_YET),
        Ok(Err(e)) => text(&st, ROUTE, status(&e), e),
        Err(e) => text(&st, ROUTE, StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_missing_input_has_its_code() {
        let w = || "web".to_string();
        let cases = [
            (LearnError::UnknownWorkload { workload: w() }, 404),
            (LearnError::NoFingerprints, 404),
            (
                LearnError::NotInBasis {
                    workload: w(),
                    basis: "b".into(),
                    other: 1,
                },
                409,
            ),
            (
                LearnError::NoRunBefore {
                    workload: w(),
                    at: 1,
                    basis: "b".into(),
                    first: 2,
                },
                409,
            ),
            (
                LearnError::NoRunAfter {
                    workload: w(),
                    at: 2,
                    basis: "b".into(),
                    latest: 1,
                },
                409,
            ),
            (LearnError::NoRelease { workload: w() }, 422),
        ];
        for (e, code) in cases {
            assert_eq!(status(&e).as_u16(), code, "{e}");
        }
    }
}

//! `POST /api/v1/annotations` (bearer token) adds an operator note (a deploy, an incident, a sale),
//! fleet-wide or for one workload; `GET /api/v1/annotations?workload=W&limit=N` lists them, newest
//! first. Kept in the embedded store, so they survive restarts. `at` is Unix ms, `at_rfc3339` the same
//! instant as text.

use super::auth::refusal;
use super::lock;
use super::reply::{blocking, json, list_query, text, ListQuery};
use super::AppState;
use crate::clock;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use prescale_core::{Timestamp, WorkloadId};
use prescale_store::AnnotationRow;
use serde::{Deserialize, Serialize};

const ROUTE: &str = "/api/v1/annotations";
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
/// Longest text, most tags and longest tag accepted.
const MAX_TEXT_CHARS: usize = 4096;
const MAX_TAGS: usize = 32;
const MAX_TAG_CHARS: usize = 64;
/// `at` must lie between 2000-01-01 and a year after now (Unix ms).
const EARLIEST_AT: i64 = 946_684_800_000;
const AT_FUTURE_MS: i64 = 366 * 86_400_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAnnotation {
    text: String,
    #[serde(default)]
    workload: Option<String>,
    #[serde(default)]
    at: Option<i64>,
    #[serde(default)]
    tags: Vec<String>,
}

/// A note an operator attached (a deploy, an incident, a sale): shown with the decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub id: i64,
    /// Unix ms the annotation refers to (default: when it was posted).
    pub at: i64,
    /// `at` as RFC 3339.
    #[serde(default)]
    pub at_rfc3339: Option<String>,
    /// The workload it concerns; `None` for the whole fleet.
    pub workload: Option<String>,
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Annotation {
    fn from_row(id: i64, row: AnnotationRow) -> Annotation {
        Annotation {
            id,
            at: row.at.0,
            at_rfc3339: super::rfc3339::rfc3339(row.at.0),
            workload: row.workload.map(|w| w.to_string()),
            text: row.text,
            tags: row.tags,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AnnotationsBody {
    pub annotations: Vec<Annotation>,
}

pub async fn add(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refusal(&st, &headers, ROUTE) {
        return r;
    }
    let now = clock::now().0;
    let row = match checked(&body, now) {
        Ok(row) => row,
        Err(why) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, why),
    };
    let store = st.reader.clone();
    let saved = blocking(move || {
        lock(&store)
            .save_annotation(&row)
            .map(|id| Annotation::from_row(id, row))
            .map_err(|e| (store_status(&e), e.to_string()))
    })
    .await
    .map_err(|why| (StatusCode::INTERNAL_SERVER_ERROR, why))
    .and_then(|r| r);
    match saved {
        Ok(a) => {
            tracing::info!(id = a.id, workload = ?a.workload, at = a.at, "annotation added through the API");
            json(&st, ROUTE, StatusCode::CREATED, &a)
        }
        Err((code, why)) => {
            tracing::warn!(status = code.as_u16(), error = %why, "an annotation was not saved");
            text(&st, ROUTE, code, why)
        }
    }
}

/// 503 when the store could not take the write for now (disk full, I/O error, locked, read-only:
/// the sender may retry once the operator fixed it), 500 for anything else.
fn store_status(e: &prescale_store::StoreError) -> StatusCode {
    use rusqlite::ErrorCode::*;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = s.downcast_ref::<rusqlite::Error>() {
            if matches!(
                f.code,
                DiskFull | SystemIoFailure | DatabaseBusy | DatabaseLocked | ReadOnly | CannotOpen
            ) {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
        }
        source = s.source();
    }
    StatusCode::INTERNAL_SERVER_ERROR
}

/// The body's fields, validated, or the 400 reason.
fn checked(body: &[u8], now: i64) -> Result<AnnotationRow, String> {
    let a: NewAnnotation = serde_json::from_slice(body).map_err(|e| {
        format!(
            "expected {{\"text\": \"...\", \"workload\": optional, \"at\": optional unix ms, \"tags\": optional [..]}}: {e}"
        )
    })?;
    let note = a.text.trim().to_string();
    if note.is_empty() {
        return Err("text: must not be empty".into());
    }
    if note.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("text: longer than {MAX_TEXT_CHARS} characters"));
    }
    let workload = a
        .workload
        .map(WorkloadId::new)
        .transpose()
        .map_err(|e| format!("workload: {e}"))?;
    let at = a.at.unwrap_or(now);
    if !(EARLIEST_AT..=now.saturating_add(AT_FUTURE_MS)).contains(&at) {
        return Err(format!(
            "at: {at} is not Unix milliseconds between 2000-01-01 and a year from now"
        ));
    }
    if a.tags.len() > MAX_TAGS {
        return Err(format!("tags: more than {MAX_TAGS}"));
    }
    let mut tags = Vec::with_capacity(a.tags.len());
    for (i, t) in a.tags.into_iter().enumerate() {
        let t = t.trim().to_string();
        if t.is_empty() || t.chars().count() > MAX_TAG_CHARS {
            return Err(format!("tags[{i}]: must be 1..={MAX_TAG_CHARS} characters"));
        }
        tags.push(t);
    }
    Ok(AnnotationRow {
        at: Timestamp(at),
        workload,
        text: note,
        tags,
    })
}

pub async fn list(
    State(st): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let (workload, n) = match list_query(q, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(v) => v,
        Err(why) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, why),
    };
    let store = st.reader.clone();
    let rows = blocking(move || {
        lock(&store)
            .annotations(n, workload.as_ref())
            .map_err(|e| e.to_string())
    })
    .await
    .and_then(|r| r);
    match rows {
        Ok(rows) => {
            let body = AnnotationsBody {
                annotations: rows
                    .into_iter()
                    .map(|(id, row)| Annotation::from_row(id, row))
                    .collect(),
            };
            json(&st, ROUTE, StatusCode::OK, &body)
        }
        Err(why) => text(&st, ROUTE, StatusCode::INTERNAL_SERVER_ERROR, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    /// A real "database or disk is full" from SQLite (a page cap the insert runs into) is 503.
    #[test]
    fn a_full_disk_is_503() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); PRAGMA max_page_count = 2;")
            .unwrap();
        let full = (0..100)
            .map(|_| conn.execute("INSERT INTO t VALUES (zeroblob(4000))", []))
            .find_map(Result::err)
            .expect("the page cap is reached");
        let e = prescale_store::StoreError::Sql {
            context: "saving an annotation".into(),
            source: full,
        };
        assert_eq!(store_status(&e), StatusCode::SERVICE_UNAVAILABLE, "{e}");
        let other = prescale_store::StoreError::Invalid {
            context: "x".into(),
            reason: "y".into(),
        };
        assert_eq!(store_status(&other), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn bodies_are_checked() {
        let ok = checked(
            br#"{"text":" deploy v2 ","workload":"api","tags":["deploy"]}"#,
            NOW,
        );
        assert_eq!(
            ok,
            Ok(AnnotationRow {
                at: Timestamp(NOW),
                workload: Some(WorkloadId::new("api").unwrap()),
                text: "deploy v2".into(),
                tags: vec!["deploy".into()]
            })
        );
        for (body, field) in [
            (r#"{"text":"  "}"#, "text:"),
            (r#"{"text":"x","workload":" "}"#, "workload:"),
            (r#"{"text":"x","at":5}"#, "at:"),
            (r#"{"text":"x","at":9000000000000000}"#, "at:"),
            (r#"{"text":"x","tags":[""]}"#, "tags[0]:"),
            (r#"{"text":"x","colour":"red"}"#, "expected"),
            ("not json", "expected"),
        ] {
            let e = checked(body.as_bytes(), NOW).unwrap_err();
            assert!(e.starts_with(field), "{body}: {e}");
        }
    }
}

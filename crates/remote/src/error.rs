//! Errors raised while talking to a Prometheus-compatible HTTP API or mapping its answers.

use prescale_core::CoreError;
use thiserror::Error;

/// Anything that can go wrong reading from or writing to a remote Prometheus-compatible server.
#[derive(Debug, Error)]
pub enum RemoteError {
    /// The base URL or an option is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A requested time range or step is empty or inverted.
    #[error("invalid range: {0}")]
    Range(String),
    /// The request did not finish within the configured timeout.
    #[error("{url}: timed out ({detail})")]
    Timeout { url: String, detail: String },
    /// The server could not be reached or the connection broke.
    #[error("{url}: connection failed: {detail}")]
    Connection { url: String, detail: String },
    /// The server answered with a non-success HTTP status. For the query API, `error_type` and
    /// `message` come from Prometheus's JSON (`errorType`, `error`); otherwise `message` is the body.
    #[error("{url}: HTTP {status}{}: {message}", error_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Http {
        url: String,
        status: u16,
        error_type: Option<String>,
        message: String,
    },
    /// HTTP 200 but the JSON says `"status": "error"`.
    #[error("{url}: API error ({error_type}): {message}")]
    Api {
        url: String,
        error_type: String,
        message: String,
    },
    /// The body is not the JSON shape the Prometheus HTTP API documents.
    #[error("{url}: malformed response: {reason} (body starts {snippet:?})")]
    BadResponse {
        url: String,
        reason: String,
        snippet: String,
    },
    /// A series maps to no valid SeriesKey, or two series map to the same one.
    #[error("query {query:?}: {reason}")]
    Mapping { query: String, reason: String },
    /// A domain value (series, id) could not be built.
    #[error("{context}: {source}")]
    Core {
        context: String,
        #[source]
        source: CoreError,
    },
    /// A remote-write body could not be encoded.
    #[error("cannot encode remote-write request: {0}")]
    Encode(String),
    /// Every attempt of a retried request failed; `last` is the final failure.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        attempts: u32,
        #[source]
        last: Box<RemoteError>,
    },
}

impl RemoteError {
    /// Whether retrying the same request may succeed (connection problems, timeouts, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            RemoteError::Timeout { .. } | RemoteError::Connection { .. } => true,
            RemoteError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status the server answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteError::Http { status, .. } => Some(*status),
            RemoteError::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }
}

/// Maps a ureq transport error to a typed error naming the URL.
pub(crate) fn transport(url: &str, e: ureq::Error) -> RemoteError {
    match e {
        ureq::Error::Timeout(t) => RemoteError::Timeout {
            url: url.to_string(),
            detail: t.to_string(),
        },
        ureq::Error::BadUri(u) => RemoteError::Config(format!("bad URL {u:?}")),
        ureq::Error::StatusCode(status) => RemoteError::Http {
            url: url.to_string(),
            status,
            error_type: None,
            message: String::new(),
        },
        other => RemoteError::Connection {
            url: url.to_string(),
            detail: other.to_string(),
        },
    }
}

/// At most `max` characters of `text`, for error messages.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

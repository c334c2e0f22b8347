//! Bearer-token check of the mutating endpoints: 403 when no token is configured, 401 (with
//! `WWW-Authenticate: Bearer`) when the request carries none or a wrong one.

use super::AppState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// `None` when the request may mutate; else the refusal to send (already counted).
pub fn refusal(st: &AppState, headers: &HeaderMap, path: &'static str) -> Option<Response> {
    let Some(token) = st.api_token.as_deref() else {
        st.metrics.request(path, 403);
        return Some(
            (
                StatusCode::FORBIDDEN,
                "mutating endpoints are disabled: no API token is configured \
             (set api_token, api_token_file or PRESCALE_API_TOKEN)\n",
            )
                .into_response(),
        );
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match presented {
        Some(p) if token.matches(p) => None,
        other => {
            st.metrics.request(path, 401);
            let why = if other.is_some() {
                "wrong bearer token\n"
            } else {
                "this endpoint needs Authorization: Bearer <api token>\n"
            };
            Some(
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, "Bearer")],
                    why,
                )
                    .into_response(),
            )
        }
    }
}

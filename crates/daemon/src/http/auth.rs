//! Who may call what: the bearer token of the mutating endpoints (403 when no token is
//! configured, 401 with `WWW-Authenticate: Bearer` when the request carries none or a wrong one),
//! and the credentials of `POST /api/v1/write` (bearer and/or basic, checked before the body is
//! read).

use super::AppState;
use crate::config::WriteAuth;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

const WRITE: &str = "/api/v1/write";

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

/// Middleware around `POST /api/v1/write`: passes the request on when no write credentials are
/// configured or the request carries one of them, else answers 401 without reading the body.
pub async fn write_auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(auth) = st.write_auth.as_deref() else {
        return next.run(req).await;
    };
    match check_write(auth, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            st.metrics.request(WRITE, 401);
            tracing::debug!(reason = why, "remote-write refused: not authenticated");
            let mut r = (StatusCode::UNAUTHORIZED, format!("{why}\n")).into_response();
            let h = r.headers_mut();
            if auth.bearer.is_some() {
                h.append(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"prescale\""),
                );
            }
            if auth.basic.is_some() {
                h.append(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"prescale\", charset=\"UTF-8\""),
                );
            }
            r
        }
    }
}

/// `Ok` when `headers` carry a credential `auth` accepts; else why not (no secret in it).
fn check_write(auth: &WriteAuth, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("remote-write needs credentials: Authorization: Bearer <token> or Basic");
    };
    let Some((scheme, rest)) = value.to_str().ok().and_then(|v| v.trim().split_once(' ')) else {
        return Err("the Authorization header is not `<scheme> <credentials>`");
    };
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return match &auth.bearer {
            Some(t) if t.matches(rest) => Ok(()),
            Some(_) => Err("wrong bearer token"),
            None => Err("bearer tokens are not accepted here; use Basic credentials"),
        };
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Some(b) = &auth.basic else {
            return Err("basic credentials are not accepted here; use a bearer token");
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err("basic credentials are not base64 of `user:password`");
        };
        // Both compared in full, whatever the first mismatch.
        let user_ok = constant_eq(user.as_bytes(), b.username.as_bytes());
        let password_ok = b.password.matches(password);
        return if user_ok && password_ok {
            Ok(())
        } else {
            Err("wrong basic credentials")
        };
    }
    Err("unsupported Authorization scheme; use Bearer or Basic")
}

/// Byte equality that compares every byte whatever the first mismatch.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BasicAuth, DaemonConfig};

    fn auth(text: &str) -> WriteAuth {
        DaemonConfig::from_toml(text).unwrap().write_auth.unwrap()
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    fn basic(user: &str, password: &str) -> HeaderMap {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        with(&format!("Basic {b}"))
    }

    #[test]
    fn bearer_and_basic_are_checked() {
        let both = auth(
            "[remote_write.auth]\nbearer_token = \"write-token-0123456789\"\n\
             basic_username = \"prom\"\nbasic_password = \"pass:word-0123456789\"\n",
        );
        assert!(matches!(&both.basic, Some(BasicAuth { username, .. }) if username == "prom"));
        assert_eq!(
            check_write(&both, &with("Bearer write-token-0123456789")),
            Ok(())
        );
        assert_eq!(
            check_write(&both, &with("bearer  write-token-0123456789 ")),
            Ok(())
        );
        assert_eq!(
            check_write(&both, &basic("prom", "pass:word-0123456789")),
            Ok(())
        );
        for (h, why) in [
            (HeaderMap::new(), "needs credentials"),
            (with("Bearer write-token-012345678"), "wrong bearer"),
            (basic("prom", "pass:word-012345678"), "wrong basic"),
            (basic("root", "pass:word-0123456789"), "wrong basic"),
            (with("Basic !!!"), "not base64"),
            (with("Digest x"), "unsupported"),
            (with("Bearer"), "not `<scheme>"),
        ] {
            let e = check_write(&both, &h).unwrap_err();
            assert!(e.contains(why), "{h:?}: {e}");
        }
        let bearer_only = auth("[remote_write.auth]\nbearer_token = \"write-token-0123456789\"\n");
        assert!(
            check_write(&bearer_only, &basic("prom", "write-token-0123456789"))
                .unwrap_err()
                .contains("use a bearer token")
        );
    }
}

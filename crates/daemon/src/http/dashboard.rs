//! The web dashboard at `/`: one HTML page, its script and its style sheet, embedded in the binary.
//! The page reads the JSON API and redraws every few seconds; its Content-Security-Policy lets it
//! load nothing from anywhere but this daemon (no CDN, no inline script).

use super::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const STYLE_CSS: &str = include_str!("dashboard/style.css");

/// The page and its assets in bytes, uncompressed: what a first visit downloads (plus the API's
/// JSON).
pub const PAGE_BYTES: usize = INDEX.len() + APP_JS.len() + STYLE_CSS.len();

/// Scripts, styles and API calls from this origin only; no inline script or style, no plugins,
/// frames or form posts. The favicon is an empty `data:` image (no request for `/favicon.ico`).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Route templates as counted in the request metrics.
const INDEX_ROUTE: &str = "/";
const APP_JS_ROUTE: &str = "/dashboard/app.js";
const STYLE_CSS_ROUTE: &str = "/dashboard/style.css";

/// `GET /`: the dashboard page.
pub async fn index(State(st): State<AppState>, headers: HeaderMap) -> Response {
    asset(
        &st,
        &headers,
        INDEX_ROUTE,
        "text/html; charset=utf-8",
        INDEX,
    )
}

/// `GET /dashboard/app.js`: the page's script.
pub async fn app_js(State(st): State<AppState>, headers: HeaderMap) -> Response {
    asset(
        &st,
        &headers,
        APP_JS_ROUTE,
        "text/javascript; charset=utf-8",
        APP_JS,
    )
}

/// `GET /dashboard/style.css`: the page's style sheet.
pub async fn style_css(State(st): State<AppState>, headers: HeaderMap) -> Response {
    asset(
        &st,
        &headers,
        STYLE_CSS_ROUTE,
        "text/css; charset=utf-8",
        STYLE_CSS,
    )
}

/// An embedded file with its content type, the CSP, and an ETag of its bytes: the browser
/// revalidates (`no-cache`) and a matching `If-None-Match` is answered 304 without the body.
fn asset(
    st: &AppState,
    headers: &HeaderMap,
    route: &'static str,
    content_type: &'static str,
    body: &'static str,
) -> Response {
    let etag = format!("\"{:016x}\"", fnv1a(body.as_bytes()));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let code = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    st.metrics.request(route, code.as_u16());
    let mut r = if fresh {
        code.into_response()
    } else {
        (code, body).into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}

/// 64-bit FNV-1a: the ETag of an embedded file (it changes with the binary's copy of the file).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_answers() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// The page names its assets by the routes that serve them, loads nothing remote, and uses
    /// no inline script or style the CSP would block.
    #[test]
    fn the_page_loads_only_its_own_assets() {
        assert!(INDEX.contains(r#"src="/dashboard/app.js""#));
        assert!(INDEX.contains(r#"href="/dashboard/style.css""#));
        for text in [INDEX, APP_JS, STYLE_CSS] {
            // The SVG namespace is a name, not a load.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("style=\""), "inline style");
        }
        assert!(!INDEX.contains("<script>"), "inline script");
        assert!(!INDEX.contains("<style"), "inline style element");
        assert!(!APP_JS.contains("innerHTML"), "markup built from strings");
        assert!(!APP_JS.contains("eval("));
    }
}

//! The HTTP API: remote-write receiver, `/metrics`, `/api/v1/workloads`, `/api/v1/decisions`,
//! `/healthz`, `/readyz`, the run-time controls `/api/v1/mode` and `/api/v1/kill-switch` (POST needs the
//! bearer token), and the read API of what was learned: models, anomalies, forecasts, fingerprints
//! and their drift, clusters and annotations (POST needs the bearer token); `POST /api/v1/whatif`
//! (a read-only replay of a controlled workload's history); a workload's shadows and their
//! promotion (POST needs the bearer token); and the web dashboard
//! at `/` with its two assets under `/dashboard/`.

mod annotations;
mod anomalies;
mod auth;
mod body_timeout;
mod clusters;
mod conn_watch;
mod controls;
mod dashboard;
mod decisions;
mod drift;
mod fingerprint;
mod forecast;
mod metrics;
mod models;
mod ready;
mod reply;
mod rfc3339;
pub mod serve;
mod shadows;
mod whatif;
mod workloads;
mod write;

pub use dashboard::{CSP as DASHBOARD_CSP, PAGE_BYTES as DASHBOARD_BYTES};
pub use write::InFlight;

use crate::admission::SourceAdmission;
use crate::config::ReceiverConfig;
use crate::selfmetrics::SelfMetrics;
use crate::writer::WriterHandle;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use prescale_store::Store;
use std::sync::{Arc, Mutex};

/// What every handler can reach; handlers hold no business logic beyond wiring.
#[derive(Clone)]
pub struct AppState {
    pub writer: WriterHandle,
    pub metrics: Arc<SelfMetrics>,
    pub receiver: Arc<ReceiverConfig>,
    /// Admission of remote-write samples (stateful: counter rates need the previous value).
    pub admission: Arc<Mutex<SourceAdmission>>,
    /// Bytes remote-write requests hold at once (`remote_write.max_inflight_bytes`).
    pub inflight: Arc<write::InFlight>,
    /// The API's connection to the embedded store (WAL lets it read while the writer commits):
    /// reads, and the rare operator write (annotations).
    pub reader: Arc<Mutex<Store>>,
    /// The workload listing's own handles (a pool, so that concurrent listings do not wait for
    /// each other; each reads one row a series) apart from `reader`, so they do not stall other reads.
    pub summaries: Arc<prescale_store::ReadPool>,
    /// The latest desired replica count per controlled workload (for `/metrics`).
    pub desired: crate::loops::control::Desired,
    /// The global mode and kill switch the control loop applies.
    pub controls: crate::controls::Controls,
    /// Bearer token of the mutating endpoints; `None` answers them 403.
    pub api_token: Option<Arc<crate::config::ApiToken>>,
    /// Credentials `POST /api/v1/write` requires; `None`: none.
    pub write_auth: Option<Arc<crate::config::WriteAuth>>,
    /// The workloads the control loop decides for now (configured ones in config order, then
    /// `PredictiveScaler`s').
    pub controlled: crate::controlled::Controlled,
    /// Models, accuracy, forecasts, anomalies and annotations from the control loop.
    pub insight: crate::insight::Insight,
    /// Set while a `POST /api/v1/whatif` replay runs (one at a time per daemon).
    pub whatif_running: Arc<std::sync::atomic::AtomicBool>,
}

/// The router with every route and the remote-write body limit.
pub fn router(state: AppState) -> Router {
    let limit = state.receiver.limits.max_body_bytes;
    Router::new()
        .route(
            "/api/v1/write",
            post(write::remote_write)
                .layer(DefaultBodyLimit::max(limit))
                // Outermost: credentials are checked before a byte of the body is read.
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    auth::write_auth,
                )),
        )
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/workloads", get(workloads::workloads))
        .route("/api/v1/decisions", get(decisions::decisions))
        .route(
            "/api/v1/mode",
            get(controls::get_mode).post(controls::set_mode),
        )
        .route(
            "/api/v1/kill-switch",
            get(controls::get_kill).post(controls::set_kill),
        )
        .route("/api/v1/models", get(models::models))
        .route("/api/v1/anomalies", get(anomalies::anomalies))
        .route("/api/v1/workloads/{id}/forecast", get(forecast::forecast))
        .route(
            "/api/v1/workloads/{id}/fingerprint",
            get(fingerprint::fingerprint),
        )
        .route("/api/v1/workloads/{id}/drift", get(drift::drift))
        .route("/api/v1/workloads/{id}/shadows", get(shadows::shadows))
        .route("/api/v1/workloads/{id}/promote", post(shadows::promote))
        .route("/api/v1/clusters", get(clusters::clusters))
        .route("/api/v1/whatif", post(whatif::whatif))
        .route(
            "/api/v1/annotations",
            get(annotations::list).post(annotations::add),
        )
        .route("/", get(dashboard::index))
        .route("/dashboard/app.js", get(dashboard::app_js))
        .route("/dashboard/style.css", get(dashboard::style_css))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready::ready))
        .route("/api/v1/openapi.json", get(openapi))
        .with_state(state)
}

/// The OpenAPI document of these routes (`docs/openapi.json`, checked against the router by tests).
pub const OPENAPI: &str = include_str!("../../../../docs/openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// Locks a mutex, recovering the value if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

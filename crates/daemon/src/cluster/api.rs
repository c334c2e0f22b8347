//! `GET /api/v1/cluster`: `{"self": id, "members": [ids], "owned": [workload ids], ...}`; an
//! instance without `[cluster]` answers 404 with the reason.

use super::ClusterLink;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

const ROUTE: &str = "/api/v1/cluster";

/// The route, with its own state (merged into the daemon's router).
pub fn routes(link: ClusterLink) -> Router {
    Router::new().route(ROUTE, get(cluster)).with_state(link)
}

/// The route of an instance that runs alone: 404 with the reason.
pub fn standalone() -> Router {
    Router::new().route(ROUTE, get(alone))
}

async fn cluster(State(link): State<ClusterLink>) -> Json<super::ClusterView> {
    Json(link.view())
}

async fn alone() -> (StatusCode, &'static str) {
    (
        StatusCode::NOT_FOUND,
        "this instance runs alone: no [cluster] is configured\n",
    )
}

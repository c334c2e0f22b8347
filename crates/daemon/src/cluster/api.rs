//! `GET /api/v1/cluster`: `{"self": id, "members": [ids], "owned": [workload ids], ...}`.

use super::ClusterLink;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

/// The route, with its own state (merged into the daemon's router).
pub fn routes(link: ClusterLink) -> Router {
    Router::new()
        .route("/api/v1/cluster", get(cluster))
        .with_state(link)
}

async fn cluster(State(link): State<ClusterLink>) -> Json<super::ClusterView> {
    Json(link.view())
}

//! `GET /api/v1/models`: per controlled workload its model, fits, accuracy (MAE, RMSE, bias, sMAPE)
//! and interval coverage per horizon, and its feedback status, from the control loop; and the
//! fleet models trained across the workloads, with their held-out accuracy; and which model kinds
//! win in each cluster.

use super::reply::json;
use super::AppState;
use crate::insight::ModelView;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

const ROUTE: &str = "/api/v1/models";

#[derive(Debug, Serialize)]
pub struct ModelsBody {
    pub models: Vec<ModelView>,
    pub fleet: Vec<crate::fleet::FleetModelView>,
    pub cluster_winners: Vec<crate::winners::ClusterWinners>,
}

pub async fn models(State(st): State<AppState>) -> Response {
    let body = ModelsBody {
        models: st.insight.models(),
        fleet: st.insight.fleet().views(),
        cluster_winners: st.insight.fleet().winners(),
    };
    json(&st, ROUTE, StatusCode::OK, &body)
}

//! `GET /api/v1/clusters?algorithm=kmeans|dbscan`: the latest clustering of the fleet (stable ids,
//! members, centroid on the map) and every fingerprinted workload's point on the 2-D map, as of the
//! data time `at` (Unix ms; `at_rfc3339` beside it).

use super::reply::{blocking, json, text};
use super::{lock, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use prescale_core::{ClusterId, Timestamp, WorkloadId};
use prescale_learn::{fleet_view, ClusterView, FleetView, LearnError, DBSCAN, KMEANS};
use serde::{Deserialize, Serialize};

const ROUTE: &str = "/api/v1/clusters";

/// Why nothing is there yet (404).
pub const NOT_YET: &str =
    "no fingerprint yet: the learn loop fingerprints every minute once there is enough history";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClustersQuery {
    pub algorithm: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ClustersBody {
    pub algorithm: String,
    pub clustering_run: i64,
    /// The fingerprint run the map shows (may be newer than the clustering).
    pub fingerprint_run: i64,
    /// Data time the fingerprints describe (Unix ms), and as RFC 3339.
    pub at: Timestamp,
    pub at_rfc3339: Option<String>,
    /// Share of variance each kept component explains.
    pub explained_variance: Vec<f64>,
    pub clusters: Vec<ClusterView>,
    /// Every fingerprinted workload on the 2-D map (first two principal components).
    pub map: Vec<MapPoint>,
    /// Workloads the clustering left out (DBSCAN noise).
    pub noise: Vec<WorkloadId>,
}

#[derive(Debug, Serialize)]
pub struct MapPoint {
    pub workload: WorkloadId,
    pub x: f64,
    pub y: f64,
    /// `None` for noise, or for a workload newer than the clustering.
    pub cluster: Option<ClusterId>,
}

/// The stored algorithm name of `?algorithm=` (default k-means), or the 400 reason.
pub fn algorithm(q: Option<&str>) -> Result<&'static str, String> {
    match q {
        None | Some("kmeans") => Ok(KMEANS),
        Some("dbscan") => Ok(DBSCAN),
        Some(other) => Err(format!(
            "algorithm: {other:?} is not one of \"kmeans\", \"dbscan\""
        )),
    }
}

/// The 404 reason or 500 of a view that could not be read.
pub fn view_error(e: &LearnError) -> (StatusCode, String) {
    match e {
        LearnError::NoFingerprints => (StatusCode::NOT_FOUND, NOT_YET.to_string()),
        other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

pub async fn clusters(
    State(st): State<AppState>,
    q: Result<Query<ClustersQuery>, QueryRejection>,
) -> Response {
    let alg = match q
        .map_err(|e| e.body_text())
        .and_then(|Query(q)| algorithm(q.algorithm.as_deref()))
    {
        Ok(a) => a,
        Err(e) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, e),
    };
    let reader = st.reader.clone();
    let view = match blocking(move || fleet_view(&lock(&reader), alg, false)).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            let (code, why) = view_error(&e);
            return text(&st, ROUTE, code, why);
        }
        Err(e) => return text(&st, ROUTE, StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    match body(view, alg) {
        Ok(b) => json(&st, ROUTE, StatusCode::OK, &b),
        Err(why) => text(&st, ROUTE, StatusCode::NOT_FOUND, why),
    }
}

fn body(v: FleetView, alg: &str) -> Result<ClustersBody, String> {
    let Some(clustering_run) = v.clustering_run else {
        return Err(format!(
            "no {alg} clustering yet: the learn loop clusters after its first fingerprint run, then on its schedule (default hourly)"
        ));
    };
    Ok(ClustersBody {
        algorithm: alg.to_string(),
        clustering_run,
        fingerprint_run: v.fingerprint_run,
        at: v.at,
        at_rfc3339: super::rfc3339::rfc3339(v.at.0),
        explained_variance: v.explained_variance,
        clusters: v.clusters,
        map: v
            .workloads
            .into_iter()
            .map(|w| MapPoint {
                workload: w.workload,
                x: w.map[0],
                y: w.map[1],
                cluster: w.cluster,
            })
            .collect(),
        noise: v.noise,
    })
}

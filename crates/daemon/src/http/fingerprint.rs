//! `GET /api/v1/workloads/{id}/fingerprint?algorithm=kmeans|dbscan`: the workload's entry in the
//! latest fingerprint run: vector (and which reducer made it), anomaly score, named window features,
//! 2-D map position, cluster, the basis the vector lives in, and how many fingerprints of it are
//! stored; its times in Unix ms with RFC 3339 beside them.

use super::clusters::{algorithm, view_error, NOT_YET};
use super::reply::{blocking, json, text, workload_in_path};
use super::{lock, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use prescale_core::{ClusterId, Timestamp, WorkloadId};
use prescale_fingerprint::{workload_features, FeatureVector, Reducer};
use prescale_learn::inputs::MIN_SAMPLES;
use prescale_learn::{fleet_model, workload_input, FleetView, LearnError};
use prescale_store::{FingerprintRun, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const ROUTE: &str = "/api/v1/workloads/{id}/fingerprint";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintQuery {
    pub algorithm: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FingerprintBody {
    pub workload: WorkloadId,
    pub fingerprint_run: i64,
    /// Data time of the run (Unix ms) and when it was made; both also as RFC 3339.
    pub at: Timestamp,
    pub created: Timestamp,
    pub at_rfc3339: Option<String>,
    pub created_rfc3339: Option<String>,
    /// What made the vector: `pca` (kept principal components) or `ae` (the autoencoder's code).
    pub reducer: Reducer,
    /// Content id of the run's basis: vectors of runs with the same basis are comparable.
    pub basis: String,
    /// Fingerprint vector.
    pub vector: Vec<f64>,
    /// Behavioural-anomaly score: the mean squared error per scaled window feature of the
    /// workload's reconstruction by the fleet's autoencoder (higher: less like the fleet's common
    /// behaviour); `None` for a run stored before the score existed.
    pub reconstruction_error: Option<f64>,
    /// Named raw window features as of the run (empty when they could not be recomputed).
    pub features: BTreeMap<String, f64>,
    /// Position on the 2-D map (first two principal components).
    pub map: [f64; 2],
    /// Cluster in the latest clustering of `algorithm`; `None` for noise, a workload newer than the
    /// clustering, or no clustering yet.
    pub cluster: Option<ClusterId>,
    pub algorithm: String,
    pub clustering_run: Option<i64>,
    /// Fingerprints of this workload stored so far (one per run it took part in).
    pub history: usize,
}

enum Found {
    Body(Box<FingerprintBody>),
    NotInRun,
}

pub async fn fingerprint(
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<FingerprintQuery>, QueryRejection>,
) -> Response {
    let w = match workload_in_path(id) {
        Ok(w) => w,
        Err(why) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, why),
    };
    let alg = match q
        .map_err(|e| e.body_text())
        .and_then(|Query(q)| algorithm(q.algorithm.as_deref()))
    {
        Ok(a) => a,
        Err(e) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, e),
    };
    let reader = st.reader.clone();
    let key = w.clone();
    match blocking(move || find(&lock(&reader), &key, alg)).await {
        Ok(Ok(Found::Body(b))) => json(&st, ROUTE, StatusCode::OK, &b),
        Ok(Ok(Found::NotInRun)) => text(
            &st,
            ROUTE,
            StatusCode::NOT_FOUND,
            format!(
                "{w} is not in the latest fingerprint run (unknown, or fewer than {MIN_SAMPLES} samples at the time); {NOT_YET}"
            ),
        ),
        Ok(Err(e)) => {
            let (code, why) = view_error(&e);
            text(&st, ROUTE, code, why)
        }
        Err(e) => text(&st, ROUTE, StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

fn find(store: &Store, w: &WorkloadId, alg: &str) -> Result<Found, LearnError> {
    let (run_id, run) = store
        .latest_fingerprint_run()?
        .ok_or(LearnError::NoFingerprints)?;
    if !run.vectors.iter().any(|f| &f.workload == w) {
        return Ok(Found::NotInRun);
    }
    let clustering = store.latest_clustering(alg)?;
    let features = match features(store, &run, w) {
        Ok(f) => f.map(|f| vec![(w.clone(), f)]).unwrap_or_default(),
        Err(e) => {
            tracing::debug!(workload = %w, error = %e, "recomputing window features");
            Vec::new()
        }
    };
    let view = FleetView::from_parts(
        run_id,
        &run,
        clustering.as_ref().map(|(id, c)| (*id, c)),
        &features,
    )?;
    let Some(entry) = view.workload(w).cloned() else {
        return Ok(Found::NotInRun);
    };
    let history = store.fingerprint_history(w)?.len();
    Ok(Found::Body(Box::new(FingerprintBody {
        workload: entry.workload,
        fingerprint_run: run_id,
        at: run.at,
        created: run.created,
        at_rfc3339: super::rfc3339::rfc3339(run.at.0),
        created_rfc3339: super::rfc3339::rfc3339(run.created.0),
        reducer: view.reducer,
        basis: run.basis_id(),
        vector: entry.vector,
        reconstruction_error: entry.reconstruction_error,
        features: entry.features,
        map: entry.map,
        cluster: entry.cluster,
        algorithm: alg.to_string(),
        clustering_run: view.clustering_run,
        history,
    })))
}

/// `w`'s named window features as of the run, with the run's model configuration: its series up to
/// `run.at` with 8+ samples (`prescale_learn::workload_input`).
fn features(
    store: &Store,
    run: &FingerprintRun,
    w: &WorkloadId,
) -> Result<Option<FeatureVector>, LearnError> {
    let cfg = fleet_model(run)?.config;
    Ok(workload_input(store, w, run.at)?
        .map(|(input, _)| workload_features(&input, &cfg))
        .transpose()?)
}

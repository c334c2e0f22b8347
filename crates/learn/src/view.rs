//! The fleet as JSON endpoints and maps want it: per workload its fingerprint, anomaly score, named
//! features, 2-D map position and cluster; per cluster its members, map centroid and size.

use crate::assign::fleet_model;
use crate::inputs::load_inputs;
use crate::LearnError;
use prescale_core::{ClusterId, Timestamp, WorkloadId};
use prescale_fingerprint::{workload_features, FeatureVector, Reducer};
use prescale_store::{ClusteringRun, FingerprintRun, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One workload on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadView {
    pub workload: WorkloadId,
    /// Fingerprint vector (kept PCA components, or the autoencoder's code: see `FleetView::reducer`).
    pub vector: Vec<f64>,
    /// Behavioural-anomaly score: the mean squared error per scaled feature of the workload's
    /// reconstruction by the fleet's autoencoder (higher: less like the fleet's common behaviour).
    /// `None` for runs stored before the score existed.
    pub reconstruction_error: Option<f64>,
    /// Raw named window features (empty when not computed).
    pub features: BTreeMap<String, f64>,
    /// First two principal components.
    pub map: [f64; 2],
    /// Cluster in the view's clustering; `None` for noise or workloads newer than the clustering.
    pub cluster: Option<ClusterId>,
}

/// One cluster on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    pub id: ClusterId,
    pub members: Vec<WorkloadId>,
    /// Mean map position of the members present in the fingerprint run; `None` when none is.
    pub centroid_map: Option<[f64; 2]>,
    pub size: usize,
}

/// The latest fingerprints joined with a clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetView {
    pub fingerprint_run: i64,
    /// Data time the fingerprints describe.
    pub at: Timestamp,
    /// What the vectors are: `pca` components or the `ae` (autoencoder) code.
    pub reducer: Reducer,
    /// Explained-variance ratio of every principal component (whatever the reducer).
    pub explained_variance: Vec<f64>,
    pub kept: usize,
    /// The fleet's feature names (model order).
    pub feature_names: Vec<String>,
    /// `kmeans` or `dbscan`; `None` when no clustering is stored.
    pub algorithm: Option<String>,
    /// Id of the clustering run, which may be older than the fingerprint run.
    pub clustering_run: Option<i64>,
    pub workloads: Vec<WorkloadView>,
    pub clusters: Vec<ClusterView>,
    /// Workloads the clustering left out (DBSCAN noise).
    pub noise: Vec<WorkloadId>,
}

impl FleetView {
    /// Joins a fingerprint run with a clustering (membership by workload id, so a clustering of an
    /// older run still colours the newer map) and optional raw features.
    pub fn from_parts(
        run_id: i64,
        run: &FingerprintRun,
        clustering: Option<(i64, &ClusteringRun)>,
        features: &[(WorkloadId, FeatureVector)],
    ) -> Result<FleetView, LearnError> {
        let model = fleet_model(run)?;
        let cluster_of = |w: &WorkloadId| {
            clustering.and_then(|(_, c)| {
                c.clusters
                    .iter()
                    .find(|c| c.members.contains(w))
                    .map(|c| c.id)
            })
        };
        let map: BTreeMap<&WorkloadId, [f64; 2]> = run.map2d.iter().map(|(w, p)| (w, *p)).collect();
        let feats: BTreeMap<&WorkloadId, &FeatureVector> =
            features.iter().map(|(w, f)| (w, f)).collect();
        let scores: BTreeMap<&WorkloadId, f64> = run
            .reconstruction_error
            .iter()
            .map(|(w, e)| (w, *e))
            .collect();
        let workloads = run
            .vectors
            .iter()
            .map(|f| WorkloadView {
                workload: f.workload.clone(),
                vector: f.vector.clone(),
                reconstruction_error: scores.get(&f.workload).copied(),
                features: feats
                    .get(&f.workload)
                    .map(|fv| {
                        fv.names
                            .iter()
                            .cloned()
                            .zip(fv.values.iter().copied())
                            .collect()
                    })
                    .unwrap_or_default(),
                map: map.get(&f.workload).copied().unwrap_or([0.0, 0.0]),
                cluster: cluster_of(&f.workload),
            })
            .collect();
        let clusters = clustering
            .map(|(_, c)| {
                c.clusters
                    .iter()
                    .map(|c| {
                        let pts: Vec<[f64; 2]> = c
                            .members
                            .iter()
                            .filter_map(|m| map.get(m).copied())
                            .collect();
                        let centroid_map = (!pts.is_empty()).then(|| {
                            let n = pts.len() as f64;
                            [
                                pts.iter().map(|p| p[0]).sum::<f64>() / n,
                                pts.iter().map(|p| p[1]).sum::<f64>() / n,
                            ]
                        });
                        ClusterView {
                            id: c.id,
                            members: c.members.clone(),
                            centroid_map,
                            size: c.members.len(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(FleetView {
            fingerprint_run: run_id,
            at: run.at,
            reducer: model.reducer(),
            explained_variance: run.explained_variance.clone(),
            kept: run.kept,
            feature_names: model.feature_names,
            algorithm: clustering.map(|(_, c)| c.algorithm.clone()),
            clustering_run: clustering.map(|(id, _)| id),
            workloads,
            clusters,
            noise: clustering.map(|(_, c)| c.noise.clone()).unwrap_or_default(),
        })
    }

    /// The view of one workload, if it is in the fingerprint run.
    pub fn workload(&self, w: &WorkloadId) -> Option<&WorkloadView> {
        self.workloads.iter().find(|v| &v.workload == w)
    }
}

/// Builds the view from the store: the latest fingerprint run and the latest `algorithm` clustering.
/// With `features`, the named window features are recomputed from the series as of the run's time
/// (one read of every series; leave it off for cheap polling).
pub fn fleet_view(store: &Store, algorithm: &str, features: bool) -> Result<FleetView, LearnError> {
    let (run_id, run) = store
        .latest_fingerprint_run()?
        .ok_or(LearnError::NoFingerprints)?;
    let clustering = store.latest_clustering(algorithm)?;
    let raw = if features {
        let cfg = fleet_model(&run)?.config;
        load_inputs(store, Some(run.at), cfg.longest_window())?
            .workloads
            .iter()
            .filter(|w| run.vectors.iter().any(|f| f.workload == w.workload))
            .map(|w| Ok((w.workload.clone(), workload_features(w, &cfg)?)))
            .collect::<Result<Vec<_>, LearnError>>()?
    } else {
        Vec::new()
    };
    FleetView::from_parts(
        run_id,
        &run,
        clustering.as_ref().map(|(id, c)| (*id, c)),
        &raw,
    )
}

//! Places one workload (possibly young) into its nearest cluster of the latest clustering.

use crate::basis::read_model;
use crate::inputs::load_inputs;
use crate::LearnError;
use prescale_cluster::assign_nearest;
use prescale_core::{ClusterId, WorkloadId};
use prescale_fingerprint::{FleetModel, WorkloadInput};
use prescale_store::{FingerprintRun, Store};
use serde::{Deserialize, Serialize};

/// Where one workload lands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignReport {
    pub workload: WorkloadId,
    pub cluster: ClusterId,
    /// Distance to the cluster's centroid in fingerprint space.
    pub distance: f64,
    pub runner_up: Option<(ClusterId, f64)>,
    /// Samples in the workload's longest series.
    pub history_samples: usize,
    /// That history in seconds at the fleet's interval.
    pub history_secs: f64,
    /// Members of the cluster it borrows its profile from.
    pub cluster_members: Vec<WorkloadId>,
}

/// The stored fingerprint model of a run, checked: a model from a newer prescale (or a damaged
/// one) is refused with the reason.
pub fn fleet_model(run: &FingerprintRun) -> Result<FleetModel, LearnError> {
    read_model(&run.model_json)
}

/// Projects `w`'s stored series (all of them) into `run`'s fingerprint space; the input returned
/// holds the samples the model's longest window covers (the tail of each series).
pub fn project_workload(
    store: &Store,
    run: &FingerprintRun,
    w: &WorkloadId,
) -> Result<(Vec<f64>, WorkloadInput, f64), LearnError> {
    let model = fleet_model(run)?;
    let inputs = load_inputs(store, None, model.config.longest_window())?;
    let interval = inputs.interval.ok_or(LearnError::NoInterval)?;
    let input = inputs
        .workloads
        .into_iter()
        .find(|i| &i.workload == w)
        .ok_or_else(|| LearnError::TooLittleHistory {
            workload: w.to_string(),
        })?;
    let vector = model.project(&input, &model.config)?;
    Ok((vector, input, interval.secs_f64()))
}

/// Nearest cluster of `w` in the latest `algorithm` clustering, projecting its series with the latest
/// fingerprint model (the CLI's `cluster --assign`).
pub fn assign_workload(
    store: &Store,
    algorithm: &str,
    w: &WorkloadId,
) -> Result<AssignReport, LearnError> {
    let (_, fp) = store
        .latest_fingerprint_run()?
        .ok_or(LearnError::NoFingerprints)?;
    let (_, clustering) =
        store
            .latest_clustering(algorithm)?
            .ok_or_else(|| LearnError::NoClustering {
                algorithm: algorithm.to_string(),
            })?;
    let (vector, input, interval_secs) = project_workload(store, &fp, w)?;
    let centroids: Vec<(ClusterId, Vec<f64>)> = clustering
        .clusters
        .iter()
        .map(|c| (c.id, c.centroid.clone()))
        .collect();
    if centroids.is_empty() {
        return Err(LearnError::EmptyClustering {
            algorithm: algorithm.to_string(),
        });
    }
    let a = assign_nearest(&vector, &centroids)?;
    let cluster_members = clustering
        .clusters
        .iter()
        .find(|c| c.id == a.cluster)
        .map(|c| c.members.clone())
        .unwrap_or_default();
    // The stored length, not the tail the projection read.
    let history_samples = store
        .list_series()?
        .iter()
        .filter(|i| &i.key.workload == w && input.metrics.iter().any(|m| m.metric == i.key.metric))
        .map(|i| i.samples)
        .max()
        .unwrap_or(0);
    Ok(AssignReport {
        workload: w.clone(),
        cluster: a.cluster,
        distance: a.distance,
        runner_up: a.runner_up,
        history_samples,
        history_secs: history_samples as f64 * interval_secs,
        cluster_members,
    })
}

//! A workload's stored fingerprints over time within one basis (so comparable with each other),
//! each with how far it moved from the one before.

use crate::basis::read_model;
use crate::workload_input::known_workload;
use crate::LearnError;
use prescale_core::{Timestamp, WorkloadId};
use prescale_fingerprint::{FleetModel, Reducer};
use prescale_math::euclidean;
use prescale_store::{Store, StoredBasis};
use serde::{Deserialize, Serialize};

/// One stored fingerprint of the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// The fingerprint run.
    pub run: i64,
    /// Data time the fingerprint describes.
    pub at: Timestamp,
    /// When the run was made.
    pub created: Timestamp,
    pub vector: Vec<f64>,
    /// The workload's anomaly score in that run; `None` for runs stored before the score existed.
    pub reconstruction_error: Option<f64>,
    /// Euclidean distance from the previous point's vector; `None` for the first.
    pub moved: Option<f64>,
}

/// A workload's fingerprints in one basis, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintHistory {
    pub workload: WorkloadId,
    /// Content id of the basis.
    pub basis: String,
    /// Data time of the fleet the basis was fitted on.
    pub fitted_at: Option<Timestamp>,
    /// What the vectors are: `pca` components or the `ae` code.
    pub reducer: Reducer,
    pub points: Vec<HistoryPoint>,
    /// The workload's stored fingerprints in other bases: not comparable with these, left out.
    pub other_bases: usize,
}

/// The basis `id`, or the current one (the last saved run's) when `None`, read and checked.
pub fn resolve_basis(
    store: &Store,
    id: Option<&str>,
) -> Result<(StoredBasis, FleetModel), LearnError> {
    let stored = match id {
        None => store.current_basis()?.ok_or(LearnError::NoFingerprints)?,
        Some(id) => store.basis(id)?.ok_or_else(|| LearnError::UnknownBasis {
            basis: id.to_string(),
        })?,
    };
    let model = read_model(&stored.model_json)?;
    Ok((stored, model))
}

/// `w`'s fingerprints in the basis `basis` (default: the current one), oldest first.
pub fn fingerprint_history(
    store: &Store,
    w: &WorkloadId,
    basis: Option<&str>,
) -> Result<FingerprintHistory, LearnError> {
    known_workload(store, w)?;
    let (stored, model) = resolve_basis(store, basis)?;
    let rows = store.basis_history(w, &stored.id)?;
    let all = store.fingerprint_history(w)?.len();
    if rows.is_empty() {
        return Err(LearnError::NotInBasis {
            workload: w.to_string(),
            basis: stored.id,
            other: all,
        });
    }
    let mut previous: Option<&[f64]> = None;
    let mut points = Vec::with_capacity(rows.len());
    for r in &rows {
        points.push(HistoryPoint {
            run: r.run_id,
            at: r.at,
            created: r.created,
            vector: r.vector.clone(),
            reconstruction_error: r.reconstruction_error,
            moved: previous.map(|p| euclidean(p, &r.vector)),
        });
        previous = Some(&r.vector);
    }
    Ok(FingerprintHistory {
        workload: w.clone(),
        basis: stored.id,
        fitted_at: model.fitted_at,
        reducer: model.reducer(),
        other_bases: all.saturating_sub(points.len()),
        points,
    })
}

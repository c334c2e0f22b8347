//! Drift report: a workload's fingerprint before and after a change (by default its latest release
//! annotation), the distance between the two, that distance against how far the rest of the fleet
//! moved between the same two runs and how far the workload itself moved over an equal span just
//! before, and the raw features that moved most.
//!
//! Every fingerprint compared is from the current basis (one space, see `basis.rs`):
//! - before: the workload's last fingerprint with data time at or before the change;
//! - after: its latest fingerprint, which must be after the change. Its windows hold
//!   `after.at − at` of post-change data; `after_window_share` says how much of its longest window
//!   that is (below 1, part of what it describes is still from before the change);
//! - previous: its last fingerprint at or before `before.at − (after.at − before.at)`, the baseline
//!   of how far it moves in as long a time without (this) change.
//!
//! Distances are Euclidean in the basis' space (PCA components or the autoencoder's code). The
//! features are recomputed from the stored raw samples as of `before.at` and `after.at` with the
//! basis' settings and ranked by the change of their robust-scaled values (the scale the basis sees
//! them at: `asinh` of `(x − median) / IQR` over the fleet it was fitted on), so that a feature in
//! milliseconds and one in cores compare; they are empty when either side's samples are gone.

use crate::error::invalid;
use crate::history::resolve_basis;
use crate::workload_input::{known_workload, workload_input};
use crate::LearnError;
use prescale_core::{Timestamp, WorkloadId};
use prescale_fingerprint::{workload_features, FeatureVector, FleetModel, Reducer};
use prescale_math::{euclidean, median};
use prescale_store::{BasisFingerprint, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Annotation tags that mark a release (compared case-insensitively).
pub const RELEASE_TAGS: [&str; 2] = ["release", "deploy"];

/// Features listed by default.
pub const DEFAULT_TOP: usize = 5;

/// What to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriftOptions {
    /// The change time; `None`: the workload's latest release annotation (its own or fleet-wide).
    pub at: Option<Timestamp>,
    /// How many of the most-moved features to list (at least 1).
    pub top: usize,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            at: None,
            top: DEFAULT_TOP,
        }
    }
}

/// The release annotation the change time came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub id: i64,
    pub at: Timestamp,
    /// `None`: fleet-wide.
    pub workload: Option<WorkloadId>,
    pub text: String,
    pub tags: Vec<String>,
}

/// One of the compared fingerprints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftPoint {
    /// Its fingerprint run.
    pub run: i64,
    /// Data time it describes.
    pub at: Timestamp,
    pub vector: Vec<f64>,
}

/// How far the rest of the fleet moved between the same two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetMovement {
    /// Other workloads fingerprinted in both runs.
    pub workloads: usize,
    /// Median of their distances between the two runs.
    pub median_distance: f64,
    /// The workload's distance over that median; `None` when the median is 0.
    pub relative: Option<f64>,
    /// Share of those workloads that moved less than this one (0 to 1).
    pub rank: f64,
}

/// How far the workload moved over an equal span just before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnBaseline {
    pub run: i64,
    pub at: Timestamp,
    /// Distance from this fingerprint to `before`.
    pub distance: f64,
    /// The drift distance over this one; `None` when it is 0.
    pub relative: Option<f64>,
}

/// One raw feature before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMove {
    /// E.g. `cpu.w288.p90`.
    pub feature: String,
    /// Raw values; `None` where the workload lacked the feature (imputed at the fleet median).
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// Change of the robust-scaled value (after − before), the ranking key (by magnitude).
    pub scaled_change: f64,
}

/// A workload's fingerprint before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub workload: WorkloadId,
    /// The change time compared around.
    pub at: Timestamp,
    /// The release annotation `at` came from; `None` when `at` was given.
    pub release: Option<Release>,
    /// Content id of the basis of every fingerprint compared.
    pub basis: String,
    /// Data time of the fleet the basis was fitted on.
    pub fitted_at: Option<Timestamp>,
    pub reducer: Reducer,
    pub before: DriftPoint,
    pub after: DriftPoint,
    /// Euclidean distance between the two vectors.
    pub distance: f64,
    /// Share of the after fingerprint's longest window that lies after `at` (0 to 1); `None` when the
    /// workload's sampling interval is unknown.
    pub after_window_share: Option<f64>,
    /// `None` when no other workload is in both runs.
    pub fleet: Option<FleetMovement>,
    /// `None` when the workload has no fingerprint an equal span before `before`.
    pub previous: Option<OwnBaseline>,
    /// The features whose scaled values moved most, largest first.
    pub features: Vec<FeatureMove>,
}

/// The workload's latest annotation (its own or fleet-wide) tagged as a release.
pub fn latest_release(store: &Store, w: &WorkloadId) -> Result<Option<Release>, LearnError> {
    let is_release = |t: &String| RELEASE_TAGS.iter().any(|r| t.eq_ignore_ascii_case(r));
    Ok(store
        .annotations(usize::MAX, Some(w))?
        .into_iter()
        .find(|(_, a)| a.tags.iter().any(is_release))
        .map(|(id, a)| Release {
            id,
            at: a.at,
            workload: a.workload,
            text: a.text,
            tags: a.tags,
        }))
}

/// The drift report of `w` around `opts.at` or its latest release.
pub fn drift_report(
    store: &Store,
    w: &WorkloadId,
    opts: &DriftOptions,
) -> Result<DriftReport, LearnError> {
    if opts.top == 0 {
        return Err(invalid("top", 0, "list at least 1 feature"));
    }
    known_workload(store, w)?;
    let (release, at) = match opts.at {
        Some(at) => (None, at),
        None => {
            let r = latest_release(store, w)?.ok_or_else(|| LearnError::NoRelease {
                workload: w.to_string(),
            })?;
            let at = r.at;
            (Some(r), at)
        }
    };
    let (stored, model) = resolve_basis(store, None)?;
    let rows = store.basis_history(w, &stored.id)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Err(LearnError::NotInBasis {
            workload: w.to_string(),
            basis: stored.id,
            other: store.fingerprint_history(w)?.len(),
        });
    };
    let before = rows
        .iter()
        .rev()
        .find(|r| r.at <= at)
        .ok_or_else(|| LearnError::NoRunBefore {
            workload: w.to_string(),
            at: at.0,
            basis: stored.id.clone(),
            first: first.at.0,
        })?;
    if last.at <= at {
        return Err(LearnError::NoRunAfter {
            workload: w.to_string(),
            at: at.0,
            basis: stored.id,
            latest: last.at.0,
        });
    }
    let after = last;
    let distance = euclidean(&before.vector, &after.vector);
    let span = after.at.0 - before.at.0;
    let previous = rows
        .iter()
        .rev()
        .find(|r| r.at.0 <= before.at.0.saturating_sub(span))
        .map(|p| {
            let d = euclidean(&p.vector, &before.vector);
            OwnBaseline {
                run: p.run_id,
                at: p.at,
                distance: d,
                relative: ratio(distance, d),
            }
        });
    let fleet = fleet_movement(store, w, before, after, distance)?;
    let (features, after_window_share) =
        feature_moves(store, &model, w, before, after, at, opts.top)?;
    Ok(DriftReport {
        workload: w.clone(),
        at,
        release,
        basis: stored.id,
        fitted_at: model.fitted_at,
        reducer: model.reducer(),
        before: point(before),
        after: point(after),
        distance,
        after_window_share,
        fleet,
        previous,
        features,
    })
}

fn point(f: &BasisFingerprint) -> DriftPoint {
    DriftPoint {
        run: f.run_id,
        at: f.at,
        vector: f.vector.clone(),
    }
}

/// `x / of`; `None` when `of` is 0.
fn ratio(x: f64, of: f64) -> Option<f64> {
    (of > 0.0).then(|| x / of)
}

/// How far every other workload in both runs moved between them.
fn fleet_movement(
    store: &Store,
    w: &WorkloadId,
    before: &BasisFingerprint,
    after: &BasisFingerprint,
    distance: f64,
) -> Result<Option<FleetMovement>, LearnError> {
    let vectors = |run: i64| -> Result<BTreeMap<WorkloadId, Vec<f64>>, LearnError> {
        Ok(store
            .fingerprint_run(run)?
            .map(|r| {
                r.vectors
                    .into_iter()
                    .filter(|f| &f.workload != w)
                    .map(|f| (f.workload, f.vector))
                    .collect()
            })
            .unwrap_or_default())
    };
    let old = vectors(before.run_id)?;
    let moved: Vec<f64> = vectors(after.run_id)?
        .iter()
        .filter_map(|(id, v)| old.get(id).map(|o| euclidean(o, v)))
        .collect();
    let Some(median_distance) = median(&moved) else {
        return Ok(None);
    };
    let less = moved.iter().filter(|d| **d < distance).count();
    Ok(Some(FleetMovement {
        workloads: moved.len(),
        median_distance,
        relative: ratio(distance, median_distance),
        rank: less as f64 / moved.len() as f64,
    }))
}

/// The `top` features of `w` whose scaled values moved most between the two fingerprints' times,
/// and the share of the after fingerprint's longest window that lies after `at`.
fn feature_moves(
    store: &Store,
    model: &FleetModel,
    w: &WorkloadId,
    before: &BasisFingerprint,
    after: &BasisFingerprint,
    at: Timestamp,
    top: usize,
) -> Result<(Vec<FeatureMove>, Option<f64>), LearnError> {
    let features = |t: Timestamp| -> Result<Option<(FeatureVector, _)>, LearnError> {
        workload_input(store, w, t)?
            .map(|(input, interval)| Ok((workload_features(&input, &model.config)?, interval)))
            .transpose()
    };
    let (Some((old, _)), Some((new, interval))) = (features(before.at)?, features(after.at)?)
    else {
        return Ok((Vec::new(), None));
    };
    let window_share = interval.map(|i| {
        let longest = model.config.longest_window() as f64 * i.millis() as f64;
        ((after.at.0 - at.0) as f64 / longest).clamp(0.0, 1.0)
    });
    let (a, b) = (model.scaled(&old)?, model.scaled(&new)?);
    let mut moves: Vec<FeatureMove> = model
        .feature_names
        .iter()
        .zip(a.iter().zip(&b))
        .map(|(name, (x, y))| FeatureMove {
            feature: name.clone(),
            before: old.get(name),
            after: new.get(name),
            scaled_change: y - x,
        })
        .collect();
    moves.sort_by(|p, q| {
        q.scaled_change
            .abs()
            .total_cmp(&p.scaled_change.abs())
            .then_with(|| p.feature.cmp(&q.feature))
    });
    moves.truncate(top);
    Ok((moves, window_share))
}

//! A controller's learned state as carried to the workload's next owner (scale-out): the acting
//! policy's headroom and its violation record, versioned and validated on the way back in.
//!
//! Fitted forecast models are not carried: the new owner fits from the history it reads, as on
//! any start (a model fitted on the previous owner's history would not match the new owner's
//! store, and the models have no stable serialised form); the feedback ledger (accuracy, coverage,
//! anomaly state) is rebuilt from the new owner's decisions.

use super::Controller;
use prescale_policy::HeadroomState;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The snapshot format this build writes and the newest it reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// One workload's carried state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerSnapshot {
    pub version: u32,
    pub workload: String,
    /// The acting policy's label (a state is restored only into the same policy).
    pub policy: String,
    /// Decisions the acting policy had made when it was taken.
    pub decisions: usize,
    /// The acting policy's learned headroom (`None`: it learns none).
    pub headroom: Option<HeadroomState>,
    /// Who took it (e.g. the instance id).
    pub written_by: String,
}

/// Why a snapshot is refused (the workload then starts fresh).
#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("snapshot of {workload}: not a controller snapshot ({detail})")]
    Corrupt { workload: String, detail: String },
    #[error(
        "snapshot of {workload}: format version {found} is newer than this build's {supported}"
    )]
    NewerVersion {
        workload: String,
        found: u32,
        supported: u32,
    },
    #[error("snapshot of {workload}: it is {found}'s state")]
    OtherWorkload { workload: String, found: String },
    #[error("snapshot of {workload}: taken under policy {found}, this controller runs {ours}")]
    OtherPolicy {
        workload: String,
        found: String,
        ours: String,
    },
    #[error("snapshot of {workload}: {detail}")]
    Invalid { workload: String, detail: String },
}

impl ControllerSnapshot {
    /// The JSON written to the bus.
    pub fn encode(&self) -> Vec<u8> {
        // Plain fields and finite floats: cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads `bytes` as `workload`'s snapshot: the version first (a newer one is refused before
    /// its fields are read), then the fields.
    pub fn decode(workload: &str, bytes: &[u8]) -> Result<ControllerSnapshot, SnapshotError> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let corrupt = |e: serde_json::Error| SnapshotError::Corrupt {
            workload: workload.to_string(),
            detail: e.to_string(),
        };
        let v: Versioned = serde_json::from_slice(bytes).map_err(corrupt)?;
        if v.version > SNAPSHOT_VERSION {
            return Err(SnapshotError::NewerVersion {
                workload: workload.to_string(),
                found: v.version,
                supported: SNAPSHOT_VERSION,
            });
        }
        let s: ControllerSnapshot = serde_json::from_slice(bytes).map_err(corrupt)?;
        if s.workload != workload {
            return Err(SnapshotError::OtherWorkload {
                workload: workload.to_string(),
                found: s.workload,
            });
        }
        Ok(s)
    }
}

impl Controller {
    /// The acting policy's learned state, as `written_by` hands it on.
    pub fn snapshot(&self, written_by: &str) -> ControllerSnapshot {
        let lane = &self.lanes[0];
        ControllerSnapshot {
            version: SNAPSHOT_VERSION,
            workload: self.spec.workload.to_string(),
            policy: lane.label.clone(),
            decisions: lane.decisions,
            headroom: lane.policy.headroom_state(),
            written_by: written_by.to_string(),
        }
    }

    /// Continues from `snapshot` (taken by a previous owner): the acting policy resumes its
    /// headroom. Refused, with nothing changed, when it is another workload's or policy's, or its
    /// headroom is out of this policy's bounds. `Ok(false)`: nothing to carry.
    pub fn restore(&mut self, snapshot: &ControllerSnapshot) -> Result<bool, SnapshotError> {
        let workload = self.spec.workload.to_string();
        if snapshot.workload != workload {
            return Err(SnapshotError::OtherWorkload {
                workload,
                found: snapshot.workload.clone(),
            });
        }
        let lane = &mut self.lanes[0];
        if snapshot.policy != lane.label {
            return Err(SnapshotError::OtherPolicy {
                workload,
                found: snapshot.policy.clone(),
                ours: lane.label.clone(),
            });
        }
        match &snapshot.headroom {
            None => Ok(false),
            Some(h) => lane
                .policy
                .restore_headroom(h)
                .map_err(|e| SnapshotError::Invalid {
                    workload,
                    detail: e.to_string(),
                }),
        }
    }
}

//! The speeds the control step's instance choice takes for one workload: its own measurement and
//! its cluster's (the latest clustering of `algorithm`; none stored: its own alone), costed by
//! [`super::choose_by_cost`] and expressed as work per core over where it runs now.

use super::{choose_by_cost, measure_environments, MeasureOptions, Need};
use crate::group::nearest_group;
use crate::like::Like;
use crate::LearnError;
use prescale_core::WorkloadId;
use prescale_policy::instances::{InstanceCatalogue, TypeSpeed};
use prescale_store::Store;

/// Speeds of a validated `catalogue`'s types for `workload`; `None` when the workload itself has
/// no measurement (speeds are relative to it). Peers are measured with the same `opts` metrics.
pub fn instance_speeds(
    store: &Store,
    workload: &WorkloadId,
    catalogue: &InstanceCatalogue,
    algorithm: &str,
    opts: &MeasureOptions,
) -> Result<Option<Vec<TypeSpeed>>, LearnError> {
    let own = measure_environments(store, std::slice::from_ref(workload), opts)?;
    let Some(mine) = own.measurements.into_iter().next() else {
        return Ok(None);
    };
    let members = match nearest_group(store, &Like::Workload(workload.clone()), algorithm) {
        Ok(g) => g.members,
        Err(
            LearnError::NoClustering { .. }
            | LearnError::NoFingerprints
            | LearnError::EmptyClustering { .. }
            | LearnError::NotInBasis { .. }
            | LearnError::TooLittleHistory { .. },
        ) => Vec::new(),
        Err(e) => return Err(e),
    };
    let peers: Vec<WorkloadId> = members.into_iter().filter(|m| m != workload).collect();
    let peers = measure_environments(store, &peers, opts)?.measurements;
    // Speeds do not depend on the need; the widest target leaves the fewest types unfit.
    let need = Need {
        demand: 0.0,
        memory_bytes: None,
        utilization: 1.0,
        min_replicas: 1,
    };
    let choice = choose_by_cost(catalogue, std::slice::from_ref(&mine), &peers, &need)?;
    Ok(Some(choice.speeds_over(&mine)))
}

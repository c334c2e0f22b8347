//! What a what-if's SLO estimate reads from the store besides the demand: the objective's series
//! and the replica counts that were in force (a configured replicas series, else the decision log).

use prescale_control::SloObjective;
use prescale_core::{Sample, SeriesKey, Timestamp, WorkloadId};
use prescale_replay::SloHistory;
use prescale_store::{Store, StoreError};

/// The objective's samples of `workload` in `[from, to]`, and its replicas from a step before.
pub fn slo_history(
    store: &Store,
    workload: &WorkloadId,
    objective: &SloObjective,
    from: Timestamp,
    to: Timestamp,
) -> Result<SloHistory, StoreError> {
    let values = store.load_window(
        &SeriesKey::new(workload.clone(), objective.metric.clone()),
        from,
        to,
    )?;
    let replicas = match &objective.replicas_metric {
        Some(m) => store.load_window(
            &SeriesKey::new(workload.clone(), m.clone()),
            Timestamp(i64::MIN / 2),
            to,
        )?,
        None => decided_replicas(store, workload, to)?,
    };
    Ok(SloHistory { values, replicas })
}

/// The replicas in force by the decision log: each decision's `before` (what was running when it
/// decided), then its `after` when it acted, in time order, up to `to`.
fn decided_replicas(
    store: &Store,
    workload: &WorkloadId,
    to: Timestamp,
) -> Result<Vec<Sample>, StoreError> {
    let mut out: Vec<Sample> = Vec::new();
    for (at, mode, before, after) in store.decided_replicas(workload, to)? {
        if let Some(b) = before {
            out.push(Sample {
                ts: at,
                value: f64::from(b),
            });
        }
        if let (Some(a), "act") = (after, mode.as_str()) {
            out.push(Sample {
                ts: Timestamp(at.0.saturating_add(1)),
                value: f64::from(a),
            });
        }
    }
    out.sort_by_key(|s| s.ts);
    Ok(out)
}

//! Control decisions, newest first: the columns the API filters on plus the whole explained record
//! as JSON text (its shape belongs to prescale-control; the store only checks that it is JSON).

use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use prescale_core::{Timestamp, WorkloadId};
use rusqlite::params;

/// One stored decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRow {
    pub workload: WorkloadId,
    pub at: Timestamp,
    /// `forecast-only` or `act`.
    pub mode: String,
    pub before: Option<u32>,
    pub after: Option<u32>,
    /// The explained record as JSON text.
    pub record_json: String,
}

/// One decision's replica counts: `(at, mode, before, after)`.
pub type DecidedReplicas = (Timestamp, String, Option<u32>, Option<u32>);

/// A `decisions` row as selected (`id, workload, at, mode, before, after, record`), before its
/// workload id is checked.
pub(crate) type RawDecision = (i64, String, i64, String, Option<u32>, Option<u32>, String);

/// Reads a [`RawDecision`] from a row selected in that column order.
pub(crate) fn raw_decision(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawDecision> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

/// The row id and decision of a [`RawDecision`]; an invalid stored workload id is an error.
pub(crate) fn decision_of(
    context: &str,
    (id, workload, at, mode, before, after, record_json): RawDecision,
) -> Result<(i64, DecisionRow), StoreError> {
    let workload =
        WorkloadId::new(workload).map_err(|e| invalid(context, format!("stored workload: {e}")))?;
    Ok((
        id,
        DecisionRow {
            workload,
            at: Timestamp(at),
            mode,
            before,
            after,
            record_json,
        },
    ))
}

impl Store {
    /// Deletes the decisions made before `before`, `batch` rows per transaction (so the write lock
    /// is held briefly however many there are); returns how many went. The newest row (highest
    /// id) stays even when older: SQLite gives a new row the highest id plus one, so an emptied
    /// table would reuse ids the decision outbox's cursor (outbox.rs) has already passed.
    pub fn prune_decisions(
        &mut self,
        before: Timestamp,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let context = format!("pruning decisions before {before}");
        let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let mut total = 0usize;
        loop {
            let n = self
                .conn
                .prepare_cached(
                    "DELETE FROM decisions WHERE id IN
                     (SELECT id FROM decisions WHERE at < ?1
                      AND id < (SELECT MAX(id) FROM decisions) ORDER BY at LIMIT ?2)",
                )
                .ctx(&context)?
                .execute(params![before.0, batch])
                .ctx(&context)?;
            total += n;
            if (n as i64) < batch {
                return Ok(total);
            }
        }
    }

    /// Saves a decision; returns its id.
    pub fn save_decision(&mut self, d: &DecisionRow) -> Result<i64, StoreError> {
        let context = format!("saving the decision of {} at {}", d.workload, d.at);
        serde_json::from_str::<serde_json::Value>(&d.record_json).ctx(&context)?;
        self.conn
            .execute(
                "INSERT INTO decisions (workload, at, mode, before, after, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    d.workload.as_str(),
                    d.at.0,
                    d.mode,
                    d.before,
                    d.after,
                    d.record_json
                ],
            )
            .ctx(&context)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Up to `limit` decisions, newest first (by `at`, ties: last saved), of one workload or all;
    /// each with its id.
    pub fn decisions(
        &self,
        limit: usize,
        workload: Option<&WorkloadId>,
    ) -> Result<Vec<(i64, DecisionRow)>, StoreError> {
        let context = match workload {
            Some(w) => format!("loading the decisions of {w}"),
            None => "loading decisions".to_string(),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let map = raw_decision;
        let raw: Vec<RawDecision> = match workload {
            Some(w) => {
                let mut st = self
                    .conn
                    .prepare_cached(
                        "SELECT id, workload, at, mode, before, after, record FROM decisions
                         WHERE workload = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
                    )
                    .ctx(&context)?;
                let rows = st
                    .query_map(params![w.as_str(), limit], map)
                    .ctx(&context)?;
                rows.collect::<Result<_, _>>().ctx(&context)?
            }
            None => {
                let mut st = self
                    .conn
                    .prepare_cached(
                        "SELECT id, workload, at, mode, before, after, record FROM decisions
                         ORDER BY at DESC, id DESC LIMIT ?1",
                    )
                    .ctx(&context)?;
                let rows = st.query_map(params![limit], map).ctx(&context)?;
                rows.collect::<Result<_, _>>().ctx(&context)?
            }
        };
        raw.into_iter().map(|r| decision_of(&context, r)).collect()
    }

    /// The replica counts one workload's decisions recorded up to `to`, oldest first: `(at,
    /// mode, before, after)` without the records' JSON (a what-if reads months of these).
    pub fn decided_replicas(
        &self,
        workload: &WorkloadId,
        to: Timestamp,
    ) -> Result<Vec<DecidedReplicas>, StoreError> {
        let context = format!("loading the replica counts decided for {workload}");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT at, mode, before, after FROM decisions
                 WHERE workload = ?1 AND at <= ?2 ORDER BY at, id",
            )
            .ctx(&context)?;
        let rows = st
            .query_map(params![workload.as_str(), to.0], |r| {
                Ok((Timestamp(r.get(0)?), r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .ctx(&context)?;
        rows.collect::<Result<_, _>>().ctx(&context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(w: &str, at: i64, after: u32) -> DecisionRow {
        DecisionRow {
            workload: WorkloadId::new(w).unwrap(),
            at: Timestamp(at),
            mode: "forecast-only".into(),
            before: None,
            after: Some(after),
            record_json: format!("{{\"after\":{after}}}"),
        }
    }

    #[test]
    fn round_trip_newest_first_filtered() {
        let mut s = Store::open_in_memory().unwrap();
        for (w, at, after) in [("a", 10, 1), ("b", 20, 2), ("a", 30, 3), ("a", 30, 4)] {
            s.save_decision(&row(w, at, after)).unwrap();
        }
        let all: Vec<u32> = s
            .decisions(10, None)
            .unwrap()
            .into_iter()
            .filter_map(|(_, d)| d.after)
            .collect();
        assert_eq!(all, vec![4, 3, 2, 1]);
        let a = s
            .decisions(2, Some(&WorkloadId::new("a").unwrap()))
            .unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].1, row("a", 30, 4));
        assert!(s
            .decisions(5, Some(&WorkloadId::new("zz").unwrap()))
            .unwrap()
            .is_empty());
        let mut bad = row("a", 1, 1);
        bad.record_json = "not json".into();
        assert!(s.save_decision(&bad).is_err());
        assert_eq!(s.decisions(10, None).unwrap().len(), 4);
    }

    #[test]
    fn old_decisions_are_pruned_in_batches() {
        let mut s = Store::open_in_memory().unwrap();
        for at in 0..25 {
            s.save_decision(&row("a", at, at as u32)).unwrap();
        }
        assert_eq!(s.prune_decisions(Timestamp(20), 3).unwrap(), 20);
        let left: Vec<u32> = s
            .decisions(100, None)
            .unwrap()
            .into_iter()
            .filter_map(|(_, d)| d.after)
            .collect();
        assert_eq!(left, vec![24, 23, 22, 21, 20]);
        assert_eq!(s.prune_decisions(Timestamp(20), 3).unwrap(), 0);
    }

    #[test]
    fn decided_replica_counts_come_oldest_first_up_to_a_time() {
        let mut s = Store::open_in_memory().unwrap();
        let mut acted = row("a", 20, 5);
        acted.mode = "act".into();
        acted.before = Some(3);
        for d in [row("a", 30, 6), acted, row("b", 25, 9), row("a", 40, 7)] {
            s.save_decision(&d).unwrap();
        }
        let a = WorkloadId::new("a").unwrap();
        assert_eq!(
            s.decided_replicas(&a, Timestamp(30)).unwrap(),
            vec![
                (Timestamp(20), "act".to_string(), Some(3), Some(5)),
                (Timestamp(30), "forecast-only".to_string(), None, Some(6)),
            ]
        );
    }
}

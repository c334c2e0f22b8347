//! The decision outbox: the decision log is published (by the cluster's publisher) in row order
//! from a cursor kept here, the highest row id published and acknowledged. The publisher reads
//! the rows after the cursor a page at a time, oldest first, and moves the cursor forward only
//! past rows the bus acknowledged; a restarted process resumes from it. Row ids are never reused
//! (pruning keeps the newest row, see decisions.rs), so a row after the cursor is one not yet
//! published.

use crate::decisions::{decision_of, raw_decision, DecisionRow, RawDecision};
use crate::error::{Context, StoreError};
use crate::open::Store;
use rusqlite::{params, OptionalExtension};

/// The outbox of the decision log (the `outbox` table's key).
const DECISIONS: &str = "decisions";

impl Store {
    /// The decision outbox's cursor, started at the log's end if it has none yet: decisions made
    /// before an instance first publishes (alone, or queued in memory by an older version) are
    /// not published.
    pub fn decision_outbox_start(&mut self) -> Result<i64, StoreError> {
        let context = "starting the decision outbox";
        self.conn
            .execute(
                "INSERT OR IGNORE INTO outbox (name, published)
                 SELECT ?1, COALESCE(MAX(id), 0) FROM decisions",
                params![DECISIONS],
            )
            .ctx(context)?;
        self.decision_outbox_cursor()?
            .ok_or_else(|| crate::error::invalid(context, "no cursor after creating it"))
    }

    /// The decision outbox's cursor: the highest decision row id published and acknowledged
    /// (`None` before the outbox first started).
    pub fn decision_outbox_cursor(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached("SELECT published FROM outbox WHERE name = ?1")
            .ctx("reading the decision outbox's cursor")?
            .query_row(params![DECISIONS], |r| r.get(0))
            .optional()
            .ctx("reading the decision outbox's cursor")
    }

    /// Moves the decision outbox's cursor forward to `published` (never back: a smaller value
    /// changes nothing).
    pub fn decision_outbox_advance(&mut self, published: i64) -> Result<(), StoreError> {
        let context = format!("moving the decision outbox's cursor to {published}");
        self.conn
            .prepare_cached(
                "INSERT INTO outbox (name, published) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET published = MAX(published, excluded.published)",
            )
            .ctx(&context)?
            .execute(params![DECISIONS, published])
            .ctx(&context)?;
        Ok(())
    }

    /// Up to `limit` decisions with a row id above `after`, in row order (oldest saved first),
    /// each with its id.
    pub fn decisions_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, DecisionRow)>, StoreError> {
        let context = format!("loading the decisions after row {after}");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, workload, at, mode, before, after, record FROM decisions
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .ctx(&context)?;
        let raw: Vec<RawDecision> = st
            .query_map(params![after, limit], raw_decision)
            .ctx(&context)?
            .collect::<Result<_, _>>()
            .ctx(&context)?;
        raw.into_iter().map(|r| decision_of(&context, r)).collect()
    }

    /// The outbox's backlog past `after`: the newest row id less `after` (no fewer than 0). Row
    /// ids are given in order without gaps but those pruning leaves, so this is the number of
    /// rows after `after` unless some were pruned before being published; read in constant time
    /// (a `COUNT` would read every row of a backlog of hours, records and all).
    pub fn decisions_backlog(&self, after: i64) -> Result<u64, StoreError> {
        let context = format!("counting the decisions after row {after}");
        self.conn
            .prepare_cached("SELECT MAX(id) FROM decisions")
            .ctx(&context)?
            .query_row([], |r| r.get::<_, Option<i64>>(0))
            .ctx(&context)
            .map(|max| u64::try_from(max.unwrap_or(0).saturating_sub(after)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Timestamp, WorkloadId};

    fn row(w: &str, at: i64) -> DecisionRow {
        DecisionRow {
            workload: WorkloadId::new(w).unwrap(),
            at: Timestamp(at),
            mode: "act".into(),
            before: Some(1),
            after: Some(2),
            record_json: format!("{{\"at\":{at}}}"),
        }
    }

    fn ats(rows: &[(i64, DecisionRow)]) -> Vec<i64> {
        rows.iter().map(|(_, d)| d.at.0).collect()
    }

    #[test]
    fn the_outbox_starts_at_the_logs_end_and_reads_pages_in_row_order() {
        let mut s = Store::open_in_memory().unwrap();
        let before = s.save_decision(&row("a", 50)).unwrap();
        assert_eq!(s.decision_outbox_cursor().unwrap(), None);
        assert_eq!(s.decision_outbox_start().unwrap(), before);
        // Row order, not time order: a later row with an earlier time comes after.
        for (w, at) in [("b", 30), ("a", 10), ("c", 20), ("a", 40)] {
            s.save_decision(&row(w, at)).unwrap();
        }
        assert_eq!(s.decisions_backlog(before).unwrap(), 4);
        let first = s.decisions_after(before, 3).unwrap();
        assert_eq!(ats(&first), [30, 10, 20]);
        let last_id = first.last().unwrap().0;
        s.decision_outbox_advance(last_id).unwrap();
        // Starting again keeps the cursor; it never goes back.
        assert_eq!(s.decision_outbox_start().unwrap(), last_id);
        s.decision_outbox_advance(before).unwrap();
        assert_eq!(s.decision_outbox_cursor().unwrap(), Some(last_id));
        let rest = s.decisions_after(last_id, 3).unwrap();
        assert_eq!(ats(&rest), [40]);
        assert_eq!(rest[0].1, row("a", 40));
        assert_eq!(s.decisions_backlog(rest[0].0).unwrap(), 0);
        assert!(s.decisions_after(rest[0].0, 3).unwrap().is_empty());
    }

    #[test]
    fn an_empty_log_starts_the_outbox_at_zero() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(s.decision_outbox_start().unwrap(), 0);
        let id = s.save_decision(&row("a", 1)).unwrap();
        assert_eq!(ats(&s.decisions_after(0, 10).unwrap()), [1]);
        assert!(id > 0);
    }

    #[test]
    fn pruning_everything_old_never_lets_a_row_id_be_reused() {
        let mut s = Store::open_in_memory().unwrap();
        for at in 0..5 {
            s.save_decision(&row("a", at)).unwrap();
        }
        let cursor = s.decision_outbox_start().unwrap();
        // All of them are older than the cut: all but the newest go.
        assert_eq!(s.prune_decisions(Timestamp(100), 2).unwrap(), 4);
        let next = s.save_decision(&row("a", 200)).unwrap();
        assert!(
            next > cursor,
            "row id {next} reused below the cursor {cursor}"
        );
        assert_eq!(ats(&s.decisions_after(cursor, 10).unwrap()), [200]);
        assert_eq!(s.decisions_backlog(cursor).unwrap(), 1);
    }

    #[test]
    fn a_store_of_the_previous_schema_opens_with_an_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v9.db");
        {
            let mut s = Store::open(&path).unwrap();
            s.save_decision(&row("a", 1)).unwrap();
        }
        // Back to version 9: no outbox table.
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("DROP TABLE outbox; PRAGMA user_version = 9;")
                .unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), crate::SCHEMA_VERSION);
        assert_eq!(s.decision_outbox_cursor().unwrap(), None);
        assert_eq!(s.decision_outbox_start().unwrap(), 1);
        assert_eq!(s.decisions(10, None).unwrap().len(), 1);
    }
}

//! Operator annotations (a deploy, an incident, a sale), fleet-wide or for one workload, kept with
//! the rest of the store so they survive restarts.

use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use prescale_core::{Timestamp, WorkloadId};
use rusqlite::params;

/// One annotation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationRow {
    /// When what it notes happened (Unix ms).
    pub at: Timestamp,
    /// `None`: fleet-wide.
    pub workload: Option<WorkloadId>,
    pub text: String,
    pub tags: Vec<String>,
}

impl Store {
    /// Saves an annotation; returns its id.
    pub fn save_annotation(&mut self, a: &AnnotationRow) -> Result<i64, StoreError> {
        let context = format!("saving an annotation at {}", a.at);
        let tags = serde_json::to_string(&a.tags).ctx(&context)?;
        self.conn
            .execute(
                "INSERT INTO annotations (at, workload, text, tags) VALUES (?1, ?2, ?3, ?4)",
                params![
                    a.at.0,
                    a.workload.as_ref().map(WorkloadId::as_str),
                    a.text,
                    tags
                ],
            )
            .ctx(&context)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Up to `limit` annotations with their ids, newest first (by `at`, ties: last saved); with
    /// `workload`, that workload's and the fleet-wide ones.
    pub fn annotations(
        &self,
        limit: usize,
        workload: Option<&WorkloadId>,
    ) -> Result<Vec<(i64, AnnotationRow)>, StoreError> {
        let context = "loading annotations";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, at, workload, text, tags FROM annotations
                 WHERE ?1 IS NULL OR workload IS NULL OR workload = ?1
                 ORDER BY at DESC, id DESC LIMIT ?2",
            )
            .ctx(context)?;
        type Raw = (i64, i64, Option<String>, String, String);
        let rows = st
            .query_map(params![workload.map(WorkloadId::as_str), limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .ctx(context)?;
        let raw: Vec<Raw> = rows.collect::<Result<_, _>>().ctx(context)?;
        raw.into_iter()
            .map(|(id, at, workload, text, tags)| {
                let row_context = format!("annotation {id}");
                let workload = workload
                    .map(WorkloadId::new)
                    .transpose()
                    .map_err(|e| invalid(&row_context, e.to_string()))?;
                let tags: Vec<String> = serde_json::from_str(&tags).ctx(&row_context)?;
                Ok((
                    id,
                    AnnotationRow {
                        at: Timestamp(at),
                        workload,
                        text,
                        tags,
                    },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at: i64, workload: Option<&str>, text: &str) -> AnnotationRow {
        AnnotationRow {
            at: Timestamp(at),
            workload: workload.map(|w| WorkloadId::new(w).unwrap()),
            text: text.into(),
            tags: vec!["deploy".into()],
        }
    }

    #[test]
    fn saved_annotations_come_back_newest_first_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let mut s = Store::open(&path).unwrap();
        let a = s
            .save_annotation(&row(2_000, Some("api"), "deploy v2"))
            .unwrap();
        let b = s.save_annotation(&row(3_000, None, "sale")).unwrap();
        let c = s
            .save_annotation(&row(1_000, Some("db"), "vacuum"))
            .unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        let ids = |w: Option<&str>| -> Vec<i64> {
            let w = w.map(|w| WorkloadId::new(w).unwrap());
            s.annotations(10, w.as_ref())
                .unwrap()
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        assert_eq!(ids(None), vec![b, a, c]);
        assert_eq!(
            ids(Some("api")),
            vec![b, a],
            "its own and the fleet-wide ones"
        );
        assert_eq!(ids(Some("other")), vec![b]);
        let all = s.annotations(1, None).unwrap();
        assert_eq!(all, vec![(b, row(3_000, None, "sale"))]);
    }
}

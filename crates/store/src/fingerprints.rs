//! Fingerprint runs: the model, explained variance, one vector (and anomaly score) per workload and a
//! 2-D map.

use crate::codec::{decode_f64s, encode_f64s, to_i64, to_usize, workload};
use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use crate::records::{FingerprintRun, FingerprintScores};
use prescale_core::{Fingerprint, Timestamp, WorkloadId};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;

impl Store {
    /// Saves a fingerprint run in one transaction; returns its id.
    pub fn save_fingerprint_run(&mut self, run: &FingerprintRun) -> Result<i64, StoreError> {
        let context = format!("saving fingerprint run at {}", run.at);
        let kept = to_i64(&context, "kept", run.kept)?;
        if let Some((w, _)) = run
            .map2d
            .iter()
            .find(|(_, p)| !p.iter().all(|v| v.is_finite()))
        {
            return Err(invalid(
                &context,
                format!("map position of {w} is not finite"),
            ));
        }
        let mut scores: HashMap<&WorkloadId, f64> = HashMap::new();
        for (w, e) in &run.reconstruction_error {
            if !e.is_finite() {
                return Err(invalid(
                    &context,
                    format!("reconstruction error of {w} is not finite: {e}"),
                ));
            }
            if !run.vectors.iter().any(|f| &f.workload == w) {
                return Err(invalid(
                    &context,
                    format!("reconstruction error given for {w}, which has no fingerprint"),
                ));
            }
            scores.insert(w, *e);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&context)?;
        tx.execute(
            "INSERT INTO fingerprint_runs (at, created, model_json, explained_variance, kept)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                run.at.0,
                run.created.0,
                run.model_json,
                encode_f64s(&run.explained_variance),
                kept
            ],
        )
        .ctx(&context)?;
        let id = tx.last_insert_rowid();
        {
            let mut fp = tx
                .prepare_cached(
                    "INSERT INTO fingerprints (run_id, pos, workload, at, vector, reconstruction_error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .ctx(&context)?;
            for (pos, f) in run.vectors.iter().enumerate() {
                fp.execute(params![
                    id,
                    pos as i64,
                    f.workload.as_str(),
                    f.at.0,
                    encode_f64s(&f.vector),
                    scores.get(&f.workload)
                ])
                .ctx(&context)?;
            }
            let mut map = tx
                .prepare_cached(
                    "INSERT INTO fingerprint_map2d (run_id, pos, workload, x, y) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .ctx(&context)?;
            for (pos, (w, [x, y])) in run.map2d.iter().enumerate() {
                map.execute(params![id, pos as i64, w.as_str(), x, y])
                    .ctx(&context)?;
            }
        }
        tx.commit().ctx(&context)?;
        Ok(id)
    }

    /// Deletes fingerprint runs (with their vectors and maps) except the `keep` newest and any run a
    /// clustering run refers to; returns how many were deleted. A daemon that fingerprints every
    /// minute would otherwise keep ~1440 runs a day.
    pub fn prune_fingerprint_runs(&mut self, keep: usize) -> Result<usize, StoreError> {
        let context = format!("pruning fingerprint runs (keeping the {keep} newest)");
        let keep = to_i64(&context, "keep", keep)?;
        let deleted = self
            .conn
            .execute(
                "DELETE FROM fingerprint_runs
                 WHERE id NOT IN (SELECT id FROM fingerprint_runs ORDER BY at DESC, id DESC LIMIT ?1)
                   AND id NOT IN (SELECT fingerprint_run FROM clustering_runs)",
                params![keep],
            )
            .ctx(&context)?;
        Ok(deleted)
    }

    /// The run with the latest `at` (ties: the last saved), with its id.
    pub fn latest_fingerprint_run(&self) -> Result<Option<(i64, FingerprintRun)>, StoreError> {
        let context = "loading the latest fingerprint run";
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM fingerprint_runs ORDER BY at DESC, id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .ctx(context)?;
        match id {
            None => Ok(None),
            Some(id) => self.fingerprint_run(id).map(|r| r.map(|run| (id, run))),
        }
    }

    /// One fingerprint run by id.
    pub fn fingerprint_run(&self, id: i64) -> Result<Option<FingerprintRun>, StoreError> {
        let context = format!("loading fingerprint run {id}");
        let head: Option<(i64, i64, String, Vec<u8>, i64)> = self
            .conn
            .query_row(
                "SELECT at, created, model_json, explained_variance, kept FROM fingerprint_runs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .ctx(&context)?;
        let Some((at, created, model_json, ev, kept)) = head else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT workload, at, vector, reconstruction_error FROM fingerprints WHERE run_id = ?1 ORDER BY pos",
            )
            .ctx(&context)?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                ))
            })
            .ctx(&context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(&context)?;
        let mut vectors = Vec::with_capacity(rows.len());
        let mut reconstruction_error = Vec::new();
        for (w, at, v, e) in rows {
            let f = fingerprint(&context, w, at, &v)?;
            if let Some(e) = e {
                reconstruction_error.push((f.workload.clone(), e));
            }
            vectors.push(f);
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT workload, x, y FROM fingerprint_map2d WHERE run_id = ?1 ORDER BY pos",
            )
            .ctx(&context)?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })
            .ctx(&context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(&context)?;
        let map2d = rows
            .into_iter()
            .map(|(w, x, y)| Ok((workload(&context, w)?, [x, y])))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(FingerprintRun {
            at: Timestamp(at),
            created: Timestamp(created),
            model_json,
            explained_variance: decode_f64s(&context, &ev)?,
            kept: to_usize(&context, "kept", kept)?,
            vectors,
            map2d,
            reconstruction_error,
        }))
    }

    /// Every workload's anomaly score (reconstruction error) in the latest fingerprint run; `None`
    /// when no run is stored. Reads only the scores, for `/metrics`.
    pub fn latest_reconstruction_errors(&self) -> Result<Option<FingerprintScores>, StoreError> {
        let context = "loading the latest fingerprint anomaly scores";
        let head: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT id, at FROM fingerprint_runs ORDER BY at DESC, id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx(context)?;
        let Some((id, at)) = head else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT workload, reconstruction_error FROM fingerprints
                 WHERE run_id = ?1 AND reconstruction_error IS NOT NULL ORDER BY pos",
            )
            .ctx(context)?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))
            .ctx(context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(context)?;
        let scores = rows
            .into_iter()
            .map(|(w, e)| Ok((workload(context, w)?, e)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(FingerprintScores {
            run_id: id,
            at: Timestamp(at),
            scores,
        }))
    }

    /// Every stored fingerprint of `w`, oldest first (by `at`, then run).
    pub fn fingerprint_history(&self, w: &WorkloadId) -> Result<Vec<Fingerprint>, StoreError> {
        let context = format!("loading the fingerprint history of {w}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT workload, at, vector FROM fingerprints WHERE workload = ?1 ORDER BY at, run_id, pos",
            )
            .ctx(&context)?;
        let rows = stmt
            .query_map([w.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .ctx(&context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(&context)?;
        rows.into_iter()
            .map(|(w, at, v)| fingerprint(&context, w, at, &v))
            .collect()
    }
}

fn fingerprint(
    context: &str,
    w: String,
    at: i64,
    vector: &[u8],
) -> Result<Fingerprint, StoreError> {
    Ok(Fingerprint {
        workload: workload(context, w)?,
        at: Timestamp(at),
        vector: decode_f64s(context, vector)?,
    })
}

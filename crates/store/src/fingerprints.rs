//! Fingerprint runs: the model, explained variance, one vector (and anomaly score) per workload and a
//! 2-D map; and the basis each run's vectors live in, so that runs sharing one can be compared.
//!
//! A run's basis is its model text: runs whose `model_json` is byte for byte the same share a basis,
//! named by [`basis_id`] and indexed in `fingerprint_runs.basis` (schema 8; NULL for runs stored
//! before, each of which fitted its own).

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
            "INSERT INTO fingerprint_runs (at, created, model_json, explained_variance, kept, basis)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run.at.0,
                run.created.0,
                run.model_json,
                encode_f64s(&run.explained_variance),
                kept,
                basis_id(&run.model_json)
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

/// The id of the basis a model text describes: FNV-1a (64 bits) of the text, as 16 hex digits.
pub fn basis_id(model_json: &str) -> String {
    let hash = model_json.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

impl FingerprintRun {
    /// The id of the basis this run's vectors live in (see [`basis_id`]).
    pub fn basis_id(&self) -> String {
        basis_id(&self.model_json)
    }
}

/// The basis of the most recently saved fingerprint run: the one later runs reuse.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBasis {
    /// [`basis_id`] of `model_json`.
    pub id: String,
    /// The run that saved it last, and that run's data time.
    pub run_id: i64,
    pub at: Timestamp,
    /// The model, exactly as stored (a run reusing the basis stores this same text).
    pub model_json: String,
}

/// One stored fingerprint of a workload in a given basis.
#[derive(Debug, Clone, PartialEq)]
pub struct BasisFingerprint {
    pub run_id: i64,
    /// Data time the fingerprint describes.
    pub at: Timestamp,
    /// When its run was made.
    pub created: Timestamp,
    pub vector: Vec<f64>,
    /// `None` for runs stored before the score existed.
    pub reconstruction_error: Option<f64>,
}

impl Store {
    /// The basis of the most recently saved run (by id, whatever its data time); `None` when no run
    /// is stored.
    pub fn current_basis(&self) -> Result<Option<StoredBasis>, StoreError> {
        let context = "loading the current fingerprint basis";
        let row: Option<(i64, i64, String)> = self
            .conn
            .query_row(
                "SELECT id, at, model_json FROM fingerprint_runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .ctx(context)?;
        Ok(row.map(|(run_id, at, model_json)| StoredBasis {
            id: basis_id(&model_json),
            run_id,
            at: Timestamp(at),
            model_json,
        }))
    }

    /// The basis `id` as its most recently saved run stored it; `None` when no indexed run has it.
    pub fn basis(&self, id: &str) -> Result<Option<StoredBasis>, StoreError> {
        let context = format!("loading fingerprint basis {id}");
        let row: Option<(i64, i64, String)> = self
            .conn
            .query_row(
                "SELECT id, at, model_json FROM fingerprint_runs WHERE basis = ?1
                 ORDER BY id DESC LIMIT 1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .ctx(&context)?;
        Ok(row.map(|(run_id, at, model_json)| StoredBasis {
            id: id.to_string(),
            run_id,
            at: Timestamp(at),
            model_json,
        }))
    }

    /// Every stored fingerprint of `w` in the basis `basis`, oldest first (by data time, then run).
    /// Reads no model text.
    pub fn basis_history(
        &self,
        w: &WorkloadId,
        basis: &str,
    ) -> Result<Vec<BasisFingerprint>, StoreError> {
        let context = format!("loading the fingerprint history of {w} in basis {basis}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.run_id, f.at, r.created, f.vector, f.reconstruction_error
                 FROM fingerprints f JOIN fingerprint_runs r ON r.id = f.run_id
                 WHERE f.workload = ?1 AND r.basis = ?2
                 ORDER BY f.at, f.run_id",
            )
            .ctx(&context)?;
        type Raw = (i64, i64, i64, Vec<u8>, Option<f64>);
        let rows: Vec<Raw> = stmt
            .query_map(params![w.as_str(), basis], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .ctx(&context)?
            .collect::<Result<_, _>>()
            .ctx(&context)?;
        rows.into_iter()
            .map(|(run_id, at, created, v, e)| {
                Ok(BasisFingerprint {
                    run_id,
                    at: Timestamp(at),
                    created: Timestamp(created),
                    vector: decode_f64s(&context, &v)?,
                    reconstruction_error: e,
                })
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> WorkloadId {
        WorkloadId::new(s).unwrap()
    }

    fn run(at: i64, model_json: &str, names: &[&str]) -> FingerprintRun {
        FingerprintRun {
            at: Timestamp(at),
            created: Timestamp(at + 1),
            model_json: model_json.into(),
            explained_variance: vec![1.0],
            kept: 1,
            vectors: names
                .iter()
                .enumerate()
                .map(|(i, n)| Fingerprint {
                    workload: w(n),
                    at: Timestamp(at),
                    vector: vec![i as f64 + at as f64],
                })
                .collect(),
            map2d: names.iter().map(|n| (w(n), [0.0, 0.0])).collect(),
            reconstruction_error: vec![(w(names[0]), 0.5)],
        }
    }

    #[test]
    fn basis_ids_are_stable_and_content_derived() {
        assert_eq!(basis_id(""), "cbf29ce484222325");
        assert_eq!(basis_id("a"), "af63dc4c8601ec8c");
        assert_ne!(basis_id("{\"x\":1}"), basis_id("{\"x\":2}"));
    }

    #[test]
    fn runs_sharing_a_model_text_share_a_basis() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(s.current_basis().unwrap(), None);
        let a = s
            .save_fingerprint_run(&run(1_000, "A", &["web", "db"]))
            .unwrap();
        let b = s.save_fingerprint_run(&run(3_000, "A", &["db"])).unwrap();
        // A run back in time saved last: the current basis is the last saved run's.
        let c = s.save_fingerprint_run(&run(2_000, "B", &["web"])).unwrap();
        let current = s.current_basis().unwrap().unwrap();
        assert_eq!((current.run_id, current.at), (c, Timestamp(2_000)));
        assert_eq!(
            (current.id, current.model_json),
            (basis_id("B"), "B".into())
        );
        assert_eq!(
            s.fingerprint_run(a).unwrap().unwrap().basis_id(),
            basis_id("A")
        );
        let a_basis = s.basis(&basis_id("A")).unwrap().unwrap();
        assert_eq!((a_basis.run_id, a_basis.model_json.as_str()), (b, "A"));
        assert_eq!(s.basis("0000000000000000").unwrap(), None);

        let web = s.basis_history(&w("web"), &basis_id("A")).unwrap();
        assert_eq!(web.len(), 1);
        assert_eq!(
            web[0],
            BasisFingerprint {
                run_id: a,
                at: Timestamp(1_000),
                created: Timestamp(1_001),
                vector: vec![1_000.0],
                reconstruction_error: Some(0.5),
            }
        );
        let db: Vec<i64> = s
            .basis_history(&w("db"), &basis_id("A"))
            .unwrap()
            .iter()
            .map(|f| f.run_id)
            .collect();
        assert_eq!(db, [a, b]);
        assert_eq!(s.basis_history(&w("web"), &basis_id("B")).unwrap().len(), 1);
        assert!(s
            .basis_history(&w("none"), &basis_id("A"))
            .unwrap()
            .is_empty());

        // A run stored before bases were indexed (NULL) is in no basis' history.
        s.conn
            .execute(
                "UPDATE fingerprint_runs SET basis = NULL WHERE id = ?1",
                [a],
            )
            .unwrap();
        assert_eq!(s.basis_history(&w("db"), &basis_id("A")).unwrap().len(), 1);
    }
}

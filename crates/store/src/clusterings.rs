//! Clustering runs: clusters with centroids and members, plus noise, tied to a fingerprint run.

use crate::codec::{decode_f64s, encode_f64s, workload};
use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use crate::records::{ClusterRecord, ClusteringRun};
use prescale_core::{ClusterId, Timestamp, WorkloadId};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

impl Store {
    /// Saves a clustering run in one transaction; its fingerprint run must exist and no workload
    /// may appear twice. Returns the run id.
    pub fn save_clustering(&mut self, run: &ClusteringRun) -> Result<i64, StoreError> {
        let context = format!(
            "saving {} clustering of fingerprint run {}",
            run.algorithm, run.fingerprint_run
        );
        if run.algorithm.trim().is_empty() {
            return Err(invalid(&context, "the algorithm name is empty"));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&context)?;
        tx.execute(
            "INSERT INTO clustering_runs (created, fingerprint_run, algorithm, params_json) VALUES (?1, ?2, ?3, ?4)",
            params![run.created.0, run.fingerprint_run, run.algorithm, run.params_json],
        )
        .ctx(&context)?;
        let id = tx.last_insert_rowid();
        {
            let mut cluster = tx
                .prepare_cached("INSERT INTO clusters (run_id, pos, cluster_id, centroid) VALUES (?1, ?2, ?3, ?4)")
                .ctx(&context)?;
            let mut member = tx
                .prepare_cached(
                    "INSERT INTO cluster_members (run_id, pos, workload, cluster_id) VALUES (?1, ?2, ?3, ?4)",
                )
                .ctx(&context)?;
            let mut pos = 0i64;
            for (cpos, c) in run.clusters.iter().enumerate() {
                cluster
                    .execute(params![id, cpos as i64, c.id.0, encode_f64s(&c.centroid)])
                    .ctx(&context)?;
                for w in &c.members {
                    member
                        .execute(params![id, pos, w.as_str(), c.id.0])
                        .ctx(&context)?;
                    pos += 1;
                }
            }
            for w in &run.noise {
                member
                    .execute(params![id, pos, w.as_str(), Option::<u32>::None])
                    .ctx(&context)?;
                pos += 1;
            }
        }
        tx.commit().ctx(&context)?;
        Ok(id)
    }

    /// The latest clustering made with `algorithm` (by `created`, ties: last saved), with its id.
    pub fn latest_clustering(
        &self,
        algorithm: &str,
    ) -> Result<Option<(i64, ClusteringRun)>, StoreError> {
        let context = format!("loading the latest {algorithm} clustering");
        let head: Option<(i64, i64, i64, String)> = self
            .conn
            .query_row(
                "SELECT id, created, fingerprint_run, params_json FROM clustering_runs
                 WHERE algorithm = ?1 ORDER BY created DESC, id DESC LIMIT 1",
                [algorithm],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .ctx(&context)?;
        let Some((id, created, fingerprint_run, params_json)) = head else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT cluster_id, centroid FROM clusters WHERE run_id = ?1 ORDER BY pos",
            )
            .ctx(&context)?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .ctx(&context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(&context)?;
        let mut clusters = Vec::with_capacity(rows.len());
        for (cid, centroid) in rows {
            clusters.push(ClusterRecord {
                id: ClusterId(cid),
                centroid: decode_f64s(&context, &centroid)?,
                members: Vec::new(),
            });
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT workload, cluster_id FROM cluster_members WHERE run_id = ?1 ORDER BY pos",
            )
            .ctx(&context)?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<u32>>(1)?))
            })
            .ctx(&context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(&context)?;
        let mut noise = Vec::new();
        for (w, cid) in rows {
            let w = workload(&context, w)?;
            match cid {
                None => noise.push(w),
                Some(cid) => match clusters.iter_mut().find(|c| c.id.0 == cid) {
                    Some(c) => c.members.push(w),
                    None => {
                        return Err(invalid(
                            &context,
                            format!("{w} is in unknown cluster {cid}"),
                        ))
                    }
                },
            }
        }
        Ok(Some((
            id,
            ClusteringRun {
                created: Timestamp(created),
                fingerprint_run,
                algorithm: algorithm.to_string(),
                params_json,
                clusters,
                noise,
            },
        )))
    }

    /// The cluster of `w` in the latest `algorithm` clustering; `None` when noise or not clustered.
    pub fn cluster_of(
        &self,
        algorithm: &str,
        w: &WorkloadId,
    ) -> Result<Option<ClusterId>, StoreError> {
        let context = format!("looking up the {algorithm} cluster of {w}");
        let cid: Option<Option<u32>> = self
            .conn
            .query_row(
                "SELECT m.cluster_id FROM cluster_members m
                 WHERE m.workload = ?2 AND m.run_id = (
                     SELECT id FROM clustering_runs WHERE algorithm = ?1 ORDER BY created DESC, id DESC LIMIT 1)",
                params![algorithm, w.as_str()],
                |r| r.get(0),
            )
            .optional()
            .ctx(&context)?;
        Ok(cid.flatten().map(ClusterId))
    }
}

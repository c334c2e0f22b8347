//! Clusters the latest fingerprint run with k-means and/or DBSCAN, keeps ids stable, saves the runs.

use crate::LearnError;
use prescale_cluster::{centroids_of, dbscan, kmeans, stable_ids, PreviousCluster};
use prescale_core::{ClusterId, Timestamp, WorkloadId};
use prescale_store::{ClusterRecord, ClusteringRun, Store};
use serde::{Deserialize, Serialize};

/// Which algorithm(s) to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Kmeans,
    Dbscan,
    Both,
}

impl Algorithm {
    fn kmeans(self) -> bool {
        matches!(self, Algorithm::Kmeans | Algorithm::Both)
    }
    fn dbscan(self) -> bool {
        matches!(self, Algorithm::Dbscan | Algorithm::Both)
    }
}

/// Name under which k-means runs are stored.
pub const KMEANS: &str = "kmeans";
/// Name under which DBSCAN runs are stored.
pub const DBSCAN: &str = "dbscan";

/// How to cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    pub algorithm: Algorithm,
    /// k-means k; `None`: the best silhouette over 2..=10.
    pub k: Option<usize>,
    /// DBSCAN radius; `None`: the knee of the k-distance curve.
    pub eps: Option<f64>,
    /// DBSCAN minimum neighbourhood size (the point included).
    pub min_points: usize,
    /// k-means initialisation seed.
    pub seed: u64,
    /// Wall time recorded as the runs' creation time.
    pub created: Timestamp,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            algorithm: Algorithm::Both,
            k: None,
            eps: None,
            min_points: 3,
            seed: 7,
            created: Timestamp(0),
        }
    }
}

/// One cluster of a report: its stable id and members (in fingerprint-run order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterMembers {
    pub id: ClusterId,
    pub members: Vec<WorkloadId>,
}

/// The saved k-means run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansReport {
    pub run_id: i64,
    pub k: usize,
    pub silhouette: Option<f64>,
    pub silhouette_by_k: Vec<(usize, f64)>,
    pub inertia: f64,
    /// Whether k was given (else chosen by silhouette).
    pub k_given: bool,
    pub clusters: Vec<ClusterMembers>,
}

/// The saved DBSCAN run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbscanReport {
    pub run_id: i64,
    pub eps: f64,
    /// Whether eps was given (else the k-distance knee).
    pub eps_given: bool,
    pub min_points: usize,
    pub clusters: Vec<ClusterMembers>,
    pub noise: Vec<WorkloadId>,
}

/// What [`cluster_latest`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringReport {
    /// The fingerprint run that was clustered.
    pub fingerprint_run: i64,
    pub kmeans: Option<KmeansReport>,
    pub dbscan: Option<DbscanReport>,
}

impl ClusteringReport {
    /// Cluster of `w` in the k-means result (else DBSCAN), if any.
    pub fn cluster_of(&self, w: &WorkloadId) -> Option<ClusterId> {
        let k = self.kmeans.as_ref().map(|r| &r.clusters);
        let d = self.dbscan.as_ref().map(|r| &r.clusters);
        k.or(d)?
            .iter()
            .find(|c| c.members.contains(w))
            .map(|c| c.id)
    }
}

/// Clusters the latest fingerprint run and saves one clustering run per algorithm, with ids matched
/// to the previous run of the same algorithm ([`stable_ids`]).
pub fn cluster_latest(
    store: &mut Store,
    opts: &ClusterOptions,
) -> Result<ClusteringReport, LearnError> {
    let (run_id, fp) = store
        .latest_fingerprint_run()?
        .ok_or(LearnError::NoFingerprints)?;
    let names: Vec<WorkloadId> = fp.vectors.iter().map(|f| f.workload.clone()).collect();
    let points: Vec<Vec<f64>> = fp.vectors.iter().map(|f| f.vector.clone()).collect();
    let mut report = ClusteringReport {
        fingerprint_run: run_id,
        kmeans: None,
        dbscan: None,
    };
    if opts.algorithm.kmeans() {
        let r = kmeans(&points, opts.k, opts.seed)?;
        let labels: Vec<Option<usize>> = r.labels.iter().map(|l| Some(*l)).collect();
        let params = serde_json::json!({"k": r.k, "seed": opts.seed, "silhouette": r.silhouette, "inertia": r.inertia});
        let (saved, clusters) = save(
            store,
            opts.created,
            run_id,
            KMEANS,
            &names,
            &labels,
            &r.centroids,
            params,
        )?;
        report.kmeans = Some(KmeansReport {
            run_id: saved,
            k: r.k,
            silhouette: r.silhouette,
            silhouette_by_k: r.silhouette_by_k,
            inertia: r.inertia,
            k_given: opts.k.is_some(),
            clusters,
        });
    }
    if opts.algorithm.dbscan() {
        let r = dbscan(&points, opts.eps, opts.min_points)?;
        let centroids = centroids_of(&points, &r.labels);
        let params = serde_json::json!({"eps": r.eps, "min_points": r.min_points});
        let (saved, clusters) = save(
            store,
            opts.created,
            run_id,
            DBSCAN,
            &names,
            &r.labels,
            &centroids,
            params,
        )?;
        report.dbscan = Some(DbscanReport {
            run_id: saved,
            eps: r.eps,
            eps_given: opts.eps.is_some(),
            min_points: r.min_points,
            clusters,
            noise: names
                .iter()
                .zip(&r.labels)
                .filter(|(_, l)| l.is_none())
                .map(|(n, _)| n.clone())
                .collect(),
        });
    }
    Ok(report)
}

/// Matches the new clusters to the previous run's ids and stores the run; returns its id and the
/// clusters in label order.
#[allow(clippy::too_many_arguments)]
fn save(
    store: &mut Store,
    created: Timestamp,
    run_id: i64,
    algorithm: &str,
    names: &[WorkloadId],
    labels: &[Option<usize>],
    centroids: &[Vec<f64>],
    params: serde_json::Value,
) -> Result<(i64, Vec<ClusterMembers>), LearnError> {
    let mut members: Vec<Vec<WorkloadId>> = vec![Vec::new(); centroids.len()];
    for (n, l) in names.iter().zip(labels) {
        if let Some(m) = l.and_then(|l| members.get_mut(l)) {
            m.push(n.clone());
        }
    }
    let previous: Vec<PreviousCluster> = store
        .latest_clustering(algorithm)?
        .map(|(_, run)| {
            run.clusters
                .into_iter()
                .map(|c| PreviousCluster {
                    id: c.id,
                    centroid: c.centroid,
                    members: c.members,
                })
                .collect()
        })
        .unwrap_or_default();
    let ids = stable_ids(&previous, centroids, &members);
    let run = ClusteringRun {
        created,
        fingerprint_run: run_id,
        algorithm: algorithm.to_string(),
        params_json: params.to_string(),
        clusters: ids
            .iter()
            .zip(centroids)
            .zip(&members)
            .map(|((id, c), m)| ClusterRecord {
                id: *id,
                centroid: c.clone(),
                members: m.clone(),
            })
            .collect(),
        noise: names
            .iter()
            .zip(labels)
            .filter(|(_, l)| l.is_none())
            .map(|(n, _)| n.clone())
            .collect(),
    };
    let saved = store.save_clustering(&run)?;
    let clusters = ids
        .into_iter()
        .zip(members)
        .map(|(id, members)| ClusterMembers { id, members })
        .collect();
    Ok((saved, clusters))
}

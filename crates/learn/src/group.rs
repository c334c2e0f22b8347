//! Finds the group of workloads a workload (or a label set) is like: its cluster, its nearest
//! cluster, the cluster most label-matching workloads are in, or else the whole fleet.

use crate::assign::project_workload;
use crate::like::Like;
use crate::LearnError;
use prescale_cluster::assign_nearest;
use prescale_core::{ClusterId, WorkloadId};
use prescale_store::{ClusteringRun, FingerprintRun, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why these members were chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Basis {
    /// The workload is a member of the cluster.
    Member,
    /// The workload was not clustered; its fingerprint is nearest this cluster's centroid.
    NearestCentroid {
        distance: f64,
        runner_up: Option<(ClusterId, f64)>,
    },
    /// Most of the workloads with the labels are in this cluster.
    LabelMajority {
        matched: Vec<WorkloadId>,
        votes: usize,
    },
    /// Workloads matched the labels but none is clustered: the whole fleet stands in.
    WholeFleet { matched: Vec<WorkloadId> },
}

/// The chosen group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// `None` for the whole fleet.
    pub cluster: Option<ClusterId>,
    pub basis: Basis,
    pub members: Vec<WorkloadId>,
    pub algorithm: String,
    pub clustering_run: i64,
}

/// Looks the group up in the latest fingerprint run and the latest `algorithm` clustering.
pub fn nearest_group(store: &Store, like: &Like, algorithm: &str) -> Result<Group, LearnError> {
    let missing = || LearnError::NoClustering {
        algorithm: algorithm.to_string(),
    };
    let (_, fp) = store.latest_fingerprint_run()?.ok_or_else(missing)?;
    let (run_id, clustering) =
        store
            .latest_clustering(algorithm)?
            .ok_or_else(|| LearnError::NoClustering {
                algorithm: algorithm.to_string(),
            })?;
    if clustering.clusters.is_empty() {
        return Err(LearnError::EmptyClustering {
            algorithm: algorithm.to_string(),
        });
    }
    let members_of = |id: ClusterId| {
        clustering
            .clusters
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.members.clone())
            .unwrap_or_default()
    };
    let cluster_of = |w: &WorkloadId| {
        clustering
            .clusters
            .iter()
            .find(|c| c.members.contains(w))
            .map(|c| c.id)
    };
    let group = |cluster: Option<ClusterId>, basis: Basis, members: Vec<WorkloadId>| Group {
        cluster,
        basis,
        members,
        algorithm: algorithm.to_string(),
        clustering_run: run_id,
    };
    match like {
        Like::Workload(w) => {
            if let Some(id) = cluster_of(w) {
                return Ok(group(Some(id), Basis::Member, members_of(id)));
            }
            if !store.workloads()?.contains(w) {
                return Err(LearnError::UnknownWorkload {
                    workload: w.to_string(),
                });
            }
            let vector = match fp.vectors.iter().find(|f| &f.workload == w) {
                Some(f) => f.vector.clone(),
                None => project_workload(store, &fp, w)?.0,
            };
            let centroids = centroids_in_run(&fp, &clustering);
            let a = assign_nearest(&vector, &centroids)?;
            Ok(group(
                Some(a.cluster),
                Basis::NearestCentroid {
                    distance: a.distance,
                    runner_up: a.runner_up,
                },
                members_of(a.cluster),
            ))
        }
        Like::Labels(matchers) => {
            let matched: BTreeSet<WorkloadId> = store
                .list_series()?
                .into_iter()
                .filter(|i| matchers.iter().all(|m| m.matches(&i.labels)))
                .map(|i| i.key.workload)
                .collect();
            if matched.is_empty() {
                return Err(LearnError::NoMatch {
                    matchers: like.to_string(),
                });
            }
            let mut votes: BTreeMap<ClusterId, usize> = BTreeMap::new();
            for w in &matched {
                if let Some(id) = cluster_of(w) {
                    *votes.entry(id).or_default() += 1;
                }
            }
            let matched: Vec<WorkloadId> = matched.into_iter().collect();
            // Most votes; ties: the larger cluster, then the lower id.
            let best = votes.iter().max_by(|a, b| {
                a.1.cmp(b.1)
                    .then(members_of(*a.0).len().cmp(&members_of(*b.0).len()))
                    .then(b.0.cmp(a.0))
            });
            match best {
                Some((&id, &n)) => Ok(group(
                    Some(id),
                    Basis::LabelMajority { matched, votes: n },
                    members_of(id),
                )),
                None => {
                    let fleet = fp.vectors.iter().map(|f| f.workload.clone()).collect();
                    Ok(group(None, Basis::WholeFleet { matched }, fleet))
                }
            }
        }
    }
}

/// Cluster centroids in `fp`'s space: the mean of the members' vectors in that run (a clustering
/// may be older than the latest fingerprints, whose PCA basis is its own); a cluster with no member
/// in the run keeps its stored centroid when the dimensions agree.
fn centroids_in_run(fp: &FingerprintRun, clustering: &ClusteringRun) -> Vec<(ClusterId, Vec<f64>)> {
    let dim = fp.vectors.first().map_or(0, |f| f.vector.len());
    clustering
        .clusters
        .iter()
        .filter_map(|c| {
            let vs: Vec<&Vec<f64>> = fp
                .vectors
                .iter()
                .filter(|f| c.members.contains(&f.workload))
                .map(|f| &f.vector)
                .collect();
            if vs.is_empty() {
                return (c.centroid.len() == dim).then(|| (c.id, c.centroid.clone()));
            }
            let n = vs.len() as f64;
            let mean = (0..dim)
                .map(|j| {
                    vs.iter()
                        .map(|v| v.get(j).copied().unwrap_or(0.0))
                        .sum::<f64>()
                        / n
                })
                .collect();
            Some((c.id, mean))
        })
        .collect()
}

//! `prescale cluster`: k-means and DBSCAN over the latest fingerprints with stable ids, or `--assign`.

use super::fingerprint::{load_inputs, write};
use crate::args::{AlgorithmArg, ClusterArgs};
use crate::output::{num, table};
use anyhow::{anyhow, bail, Context, Result};
use prescale_cluster::{assign_nearest, dbscan, kmeans, stable_ids, PreviousCluster};
use prescale_core::{ClusterId, WorkloadId};
use prescale_fingerprint::{scatter_svg, FleetModel};
use prescale_store::{ClusterRecord, ClusteringRun, FingerprintRun, Store};
use serde_json::json;

pub fn run(store: &mut Store, args: &ClusterArgs) -> Result<()> {
    let (run_id, fp) = store
        .latest_fingerprint_run()?
        .ok_or_else(|| anyhow!("no fingerprints stored yet: run `prescale fingerprint` first"))?;
    if let Some(w) = &args.assign {
        return assign(store, &fp, w, args.json);
    }
    let names: Vec<WorkloadId> = fp.vectors.iter().map(|f| f.workload.clone()).collect();
    let points: Vec<Vec<f64>> = fp.vectors.iter().map(|f| f.vector.clone()).collect();
    let mut report = serde_json::Map::new();
    let mut kmeans_members: Vec<(WorkloadId, Option<u32>)> = Vec::new();
    if matches!(args.algorithm, AlgorithmArg::Kmeans | AlgorithmArg::Both) {
        let r = kmeans(&points, args.k, args.seed).context("k-means")?;
        let labels: Vec<Option<usize>> = r.labels.iter().map(|l| Some(*l)).collect();
        let ids = save(
            store,
            run_id,
            "kmeans",
            &names,
            &labels,
            &r.centroids,
            json!({"k": r.k, "seed": args.seed, "silhouette": r.silhouette, "inertia": r.inertia}),
        )?;
        kmeans_members = names
            .iter()
            .cloned()
            .zip(labels.iter().map(|l| l.map(|l| ids[l].0)))
            .collect();
        report.insert(
            "kmeans".into(),
            json!({"k": r.k, "silhouette": r.silhouette, "silhouette_by_k": r.silhouette_by_k, "inertia": r.inertia,
                   "clusters": members_json(&names, &labels, &ids)}),
        );
        if !args.json {
            println!(
                "k-means: k = {} ({}), silhouette {}",
                r.k,
                if args.k.is_some() {
                    "given"
                } else {
                    "best silhouette"
                },
                num(r.silhouette, 3)
            );
            print!("{}", members_table(&names, &labels, &ids));
        }
    }
    if matches!(args.algorithm, AlgorithmArg::Dbscan | AlgorithmArg::Both) {
        let r = dbscan(&points, args.eps, args.min_points).context("DBSCAN")?;
        let centroids = prescale_cluster::centroids_of(&points, &r.labels);
        let ids = save(
            store,
            run_id,
            "dbscan",
            &names,
            &r.labels,
            &centroids,
            json!({"eps": r.eps, "min_points": r.min_points}),
        )?;
        report.insert(
            "dbscan".into(),
            json!({"eps": r.eps, "min_points": r.min_points, "clusters": members_json(&names, &r.labels, &ids),
                   "noise": names.iter().zip(&r.labels).filter(|(_, l)| l.is_none()).map(|(n, _)| n).collect::<Vec<_>>()}),
        );
        if !args.json {
            println!(
                "DBSCAN: eps = {} ({}), min points {}, {} clusters, {} noise",
                num(Some(r.eps), 4),
                if args.eps.is_some() {
                    "given"
                } else {
                    "k-distance knee"
                },
                r.min_points,
                r.clusters,
                r.labels.iter().filter(|l| l.is_none()).count()
            );
            print!("{}", members_table(&names, &r.labels, &ids));
        }
    }
    if let Some(path) = &args.svg {
        let pts: Vec<(String, [f64; 2], Option<u32>)> = fp
            .map2d
            .iter()
            .map(|(w, p)| {
                let c = kmeans_members
                    .iter()
                    .find(|(n, _)| n == w)
                    .and_then(|(_, c)| *c);
                (w.to_string(), *p, c)
            })
            .collect();
        write(
            path,
            &scatter_svg(
                &pts,
                "prescale fingerprints by k-means cluster (PCA 1 vs 2)",
            ),
        )?;
    }
    if args.json {
        super::print_json(&report)?;
    }
    Ok(())
}

/// Matches the new clusters to the previous run's ids, stores the run and returns the id per new label.
fn save(
    store: &mut Store,
    run_id: i64,
    algorithm: &str,
    names: &[WorkloadId],
    labels: &[Option<usize>],
    centroids: &[Vec<f64>],
    params: serde_json::Value,
) -> Result<Vec<ClusterId>> {
    let count = centroids.len();
    let mut members: Vec<Vec<WorkloadId>> = vec![Vec::new(); count];
    for (n, l) in names.iter().zip(labels) {
        if let Some(l) = l {
            if let Some(m) = members.get_mut(*l) {
                m.push(n.clone());
            }
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
        created: super::now(),
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
    store.save_clustering(&run)?;
    Ok(ids)
}

fn members_json(
    names: &[WorkloadId],
    labels: &[Option<usize>],
    ids: &[ClusterId],
) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (i, id) in ids.iter().enumerate() {
        let m: Vec<&WorkloadId> = names
            .iter()
            .zip(labels)
            .filter(|(_, l)| **l == Some(i))
            .map(|(n, _)| n)
            .collect();
        out.insert(id.to_string(), json!(m));
    }
    serde_json::Value::Object(out)
}

fn members_table(names: &[WorkloadId], labels: &[Option<usize>], ids: &[ClusterId]) -> String {
    let mut rows: Vec<Vec<String>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let m: Vec<String> = names
                .iter()
                .zip(labels)
                .filter(|(_, l)| **l == Some(i))
                .map(|(n, _)| n.to_string())
                .collect();
            vec![id.to_string(), m.len().to_string(), m.join(" ")]
        })
        .collect();
    rows.sort();
    table(&["cluster", "size", "members"], &rows)
}

/// Places one workload (possibly with little history) into its nearest k-means cluster.
fn assign(store: &Store, fp: &FingerprintRun, workload: &str, json: bool) -> Result<()> {
    let w = WorkloadId::new(workload)?;
    let (_, clustering) = store
        .latest_clustering("kmeans")?
        .ok_or_else(|| anyhow!("no k-means clustering stored yet: run `prescale cluster` first"))?;
    let model: FleetModel =
        serde_json::from_str(&fp.model_json).context("reading the stored fingerprint model")?;
    let (inputs, interval, _) = load_inputs(store, None)?;
    let input = inputs
        .into_iter()
        .find(|i| i.workload == w)
        .ok_or_else(|| anyhow!("workload {w} has no series with 8 or more samples in the store"))?;
    let interval = interval.context("cannot infer the sampling interval")?;
    let cfg = model.config.clone();
    let vector = model
        .project(&input, &cfg)
        .with_context(|| format!("projecting {w} into the fleet's fingerprint space"))?;
    let centroids: Vec<(ClusterId, Vec<f64>)> = clustering
        .clusters
        .iter()
        .map(|c| (c.id, c.centroid.clone()))
        .collect();
    if centroids.is_empty() {
        bail!("the latest k-means clustering has no clusters");
    }
    let a = assign_nearest(&vector, &centroids)?;
    let members = clustering
        .clusters
        .iter()
        .find(|c| c.id == a.cluster)
        .map(|c| c.members.clone())
        .unwrap_or_default();
    let samples: usize = input
        .metrics
        .iter()
        .map(|m| m.values.len())
        .max()
        .unwrap_or(0);
    if json {
        return super::print_json(&json!({
            "workload": w, "cluster": a.cluster, "distance": a.distance, "runner_up": a.runner_up,
            "history_samples": samples, "history": format!("{:.1} h", samples as f64 * interval.secs_f64() / 3600.0),
            "cluster_members": members,
        }));
    }
    println!(
        "{w} ({} samples) → cluster {} at distance {:.3}{}; it borrows the profile of: {}",
        samples,
        a.cluster,
        a.distance,
        a.runner_up
            .map(|(c, d)| format!(" (next: {c} at {d:.3})"))
            .unwrap_or_default(),
        members
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

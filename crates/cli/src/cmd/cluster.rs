//! `prescale cluster`: k-means and DBSCAN over the latest fingerprints with stable ids, or `--assign`.

use super::fingerprint::write;
use crate::args::{AlgorithmArg, ClusterArgs};
use crate::output::{num, table};
use anyhow::Result;
use prescale_core::WorkloadId;
use prescale_fingerprint::scatter_svg;
use prescale_learn::{
    assign_workload, cluster_latest, Algorithm, ClusterMembers, ClusterOptions, LearnError, KMEANS,
};
use prescale_store::Store;
use serde_json::json;

pub fn run(store: &mut Store, args: &ClusterArgs) -> Result<()> {
    if let Some(w) = &args.assign {
        return assign(store, w, args.json);
    }
    let opts = ClusterOptions {
        algorithm: match args.algorithm {
            AlgorithmArg::Kmeans => Algorithm::Kmeans,
            AlgorithmArg::Dbscan => Algorithm::Dbscan,
            AlgorithmArg::Both => Algorithm::Both,
        },
        k: args.k,
        eps: args.eps,
        min_points: args.min_points,
        seed: args.seed,
        created: super::now(),
    };
    let report = cluster_latest(store, &opts)?;
    let mut out = serde_json::Map::new();
    if let Some(r) = &report.kmeans {
        out.insert(
            "kmeans".into(),
            json!({"k": r.k, "silhouette": r.silhouette, "silhouette_by_k": r.silhouette_by_k, "inertia": r.inertia,
                   "clusters": members_json(&r.clusters)}),
        );
        if !args.json {
            println!(
                "k-means: k = {} ({}), silhouette {}",
                r.k,
                if r.k_given {
                    "given"
                } else {
                    "best silhouette"
                },
                num(r.silhouette, 3)
            );
            print!("{}", members_table(&r.clusters));
        }
    }
    if let Some(r) = &report.dbscan {
        out.insert(
            "dbscan".into(),
            json!({"eps": r.eps, "min_points": r.min_points, "clusters": members_json(&r.clusters),
                   "noise": r.noise}),
        );
        if !args.json {
            println!(
                "DBSCAN: eps = {} ({}), min points {}, {} clusters, {} noise",
                num(Some(r.eps), 4),
                if r.eps_given {
                    "given"
                } else {
                    "k-distance knee"
                },
                r.min_points,
                r.clusters.len(),
                r.noise.len()
            );
            print!("{}", members_table(&r.clusters));
        }
    }
    if let Some(path) = &args.svg {
        let fp = store
            .fingerprint_run(report.fingerprint_run)?
            .ok_or(LearnError::NoFingerprints)?;
        let kmeans = report.kmeans.as_ref().map(|r| &r.clusters);
        let pts: Vec<(String, [f64; 2], Option<u32>)> = fp
            .map2d
            .iter()
            .map(|(w, p)| {
                let c = kmeans
                    .and_then(|cs| cs.iter().find(|c| c.members.contains(w)))
                    .map(|c| c.id.0);
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
        super::print_json(&crate::output::json_result(&out)?)?;
    }
    Ok(())
}

fn members_json(clusters: &[ClusterMembers]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for c in clusters {
        out.insert(c.id.to_string(), json!(c.members));
    }
    serde_json::Value::Object(out)
}

fn members_table(clusters: &[ClusterMembers]) -> String {
    let mut rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|c| {
            let m: Vec<String> = c.members.iter().map(WorkloadId::to_string).collect();
            vec![c.id.to_string(), m.len().to_string(), m.join(" ")]
        })
        .collect();
    rows.sort();
    table(&["cluster", "size", "members"], &rows)
}

/// Places one workload (possibly with little history) into its nearest k-means cluster.
fn assign(store: &Store, workload: &str, json: bool) -> Result<()> {
    let w = WorkloadId::new(workload)?;
    let a = assign_workload(store, KMEANS, &w)?;
    if json {
        return super::print_json(&crate::output::json_result(&json!({
            "workload": a.workload, "cluster": a.cluster, "distance": a.distance, "runner_up": a.runner_up,
            "history_samples": a.history_samples, "history": format!("{:.1} h", a.history_secs / 3600.0),
            "cluster_members": a.cluster_members,
        }))?);
    }
    println!(
        "{w} ({} samples) → cluster {} at distance {:.3}{}; it borrows the profile of: {}",
        a.history_samples,
        a.cluster,
        a.distance,
        a.runner_up
            .map(|(c, d)| format!(" (next: {c} at {d:.3})"))
            .unwrap_or_default(),
        a.cluster_members
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

//! `prescale fingerprint`: window features of every workload, robust scaling and PCA (or an
//! autoencoder) in the stored basis (or a new one with `--refit`), with each workload's anomaly
//! score, stored with a timestamp; `--history W`: one workload's fingerprints in one basis.

use crate::args::{FingerprintArgs, ReducerArg};
use crate::output::{num, table};
use crate::timearg;
use anyhow::{Context, Result};
use prescale_core::{Timestamp, WorkloadId};
use prescale_fingerprint::{scatter_svg, tsne_2d, Reducer};
use prescale_learn::{
    fingerprint_history, fingerprint_store, BasisInfo, BasisPolicy, FingerprintOptions, LearnError,
};
use prescale_store::Store;
use prescale_telemetry::format_iso8601;
use std::collections::BTreeMap;
use std::path::Path;

pub fn run(store: &mut Store, args: &FingerprintArgs) -> Result<()> {
    if let Some(w) = &args.history {
        let w = WorkloadId::new(w.as_str())?;
        return history(store, &w, args.basis.as_deref(), args.json);
    }
    let at: Option<Timestamp> = args
        .at
        .as_deref()
        .map(|t| timearg::timestamp("--at", t))
        .transpose()?;
    let opts = FingerprintOptions {
        at,
        windows: args
            .windows
            .iter()
            .map(|w| timearg::duration("--windows", w))
            .collect::<Result<_>>()?,
        variance: args.variance,
        components: args.components,
        reducer: match args.reducer {
            None => Reducer::DEFAULT,
            Some(ReducerArg::Pca) => Reducer::Pca,
            Some(ReducerArg::Ae) => Reducer::Autoencoder,
        },
        created: super::now(),
        basis: BasisPolicy {
            refit: args.refit,
            ..BasisPolicy::default()
        },
    };
    let report = match fingerprint_store(store, &opts) {
        Err(e @ LearnError::Fingerprint(prescale_fingerprint::FingerprintError::Config { .. })) => {
            return Err(anyhow::Error::new(e).context("fingerprint settings"))
        }
        r => r?,
    };
    let (run_id, run, fleet) = (report.run_id, &report.run, &report.fleet);
    let as_of = run.at;
    let tsne = if args.tsne {
        let vs: Vec<Vec<f64>> = fleet.vectors.iter().map(|(_, v)| v.clone()).collect();
        let perplexity = ((vs.len() as f64 - 1.0) / 3.0).clamp(2.0, 30.0);
        Some(tsne_2d(&vs, perplexity, 7).context("t-SNE map")?)
    } else {
        None
    };
    let clusters = kmeans_labels(store)?;
    if let Some(path) = &args.map_json {
        let points: Vec<_> = fleet
            .map2d
            .iter()
            .enumerate()
            .map(|(i, (w, p))| {
                serde_json::json!({
                    "workload": w, "pca": p, "tsne": tsne.as_ref().map(|t| t[i]),
                    "cluster": clusters.get(w).copied().flatten(),
                })
            })
            .collect();
        let doc = serde_json::json!({"at": as_of, "run": run_id, "explained_variance": fleet.explained_variance, "points": points});
        write(path, &serde_json::to_string_pretty(&doc)?)?;
    }
    if let Some(path) = &args.svg {
        let points: Vec<(String, [f64; 2], Option<u32>)> = fleet
            .map2d
            .iter()
            .enumerate()
            .map(|(i, (w, p))| {
                let xy = tsne.as_ref().map_or(*p, |t| t[i]);
                (w.to_string(), xy, clusters.get(w).copied().flatten())
            })
            .collect();
        let title = if tsne.is_some() {
            "prescale fingerprints (t-SNE)"
        } else {
            "prescale fingerprints (PCA 1 vs 2)"
        };
        write(path, &scatter_svg(&points, title))?;
    }
    if args.json {
        return super::print_json(&crate::output::json_result(&serde_json::json!({
            "run": run_id, "at": as_of, "workloads": fleet.vectors.len(), "features": fleet.model.feature_names.len(),
            "reducer": fleet.reducer, "explained_variance": fleet.explained_variance, "kept": fleet.kept,
            "basis": report.basis,
            "fingerprints": run.vectors,
            "reconstruction_error": fleet.reconstruction_error.iter().map(|(w, e)| (w.as_str(), *e)).collect::<BTreeMap<_, _>>(),
        }))?);
    }
    let cum: Vec<f64> = fleet
        .explained_variance
        .iter()
        .scan(0.0, |acc, v| {
            *acc += v;
            Some(*acc)
        })
        .collect();
    let pca_kept = fleet.model.pca.kept;
    let share = 100.0 * cum.get(pca_kept.saturating_sub(1)).copied().unwrap_or(0.0);
    let vectors = match fleet.reducer {
        Reducer::Pca => format!("{pca_kept} PCA components kept ({share:.1}% of variance)"),
        Reducer::Autoencoder => format!(
            "autoencoder code of {} (PCA would keep {pca_kept} components, {share:.1}% of variance)",
            fleet.kept
        ),
    };
    println!(
        "fingerprint run {run_id} as of {}: {} workloads, {} features, {vectors}",
        format_iso8601(as_of),
        fleet.vectors.len(),
        fleet.model.feature_names.len(),
    );
    println!("{}", basis_line(&report.basis));
    let rows: Vec<Vec<String>> = fleet
        .explained_variance
        .iter()
        .zip(&cum)
        .take(pca_kept.clamp(2, 10))
        .enumerate()
        .map(|(i, (v, c))| vec![format!("PC{}", i + 1), num(Some(*v), 3), num(Some(*c), 3)])
        .collect();
    print!(
        "{}",
        table(&["component", "explained", "cumulative"], &rows)
    );
    let rows: Vec<Vec<String>> = fleet
        .map2d
        .iter()
        .zip(&fleet.reconstruction_error)
        .map(|((w, p), (_, e))| {
            vec![
                w.to_string(),
                num(Some(p[0]), 3),
                num(Some(p[1]), 3),
                format!("{e:.3e}"),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["workload", "pc1", "pc2", "reconstruction error"], &rows)
    );
    Ok(())
}

/// One line on the run's basis: reused, or fitted anew and why.
fn basis_line(b: &BasisInfo) -> String {
    let fitted = b
        .fitted_at
        .map_or_else(|| "unknown".to_string(), format_iso8601);
    match &b.refit {
        None => format!("basis {} reused (fitted on data as of {fitted})", b.id),
        Some(why) => format!("new basis {} fitted on data as of {fitted}: {why}", b.id),
    }
}

/// Prints one workload's stored fingerprints in one basis (the current one by default), oldest
/// first, each with how far it moved from the one before.
fn history(store: &Store, w: &WorkloadId, basis: Option<&str>, json: bool) -> Result<()> {
    let hist = fingerprint_history(store, w, basis)?;
    if json {
        return super::print_json(&crate::output::json_result(&hist)?);
    }
    println!(
        "{w} in basis {} ({}, fitted on data as of {}): {} fingerprints{}",
        hist.basis,
        hist.reducer,
        hist.fitted_at
            .map_or_else(|| "unknown".to_string(), format_iso8601),
        hist.points.len(),
        match hist.other_bases {
            0 => String::new(),
            n => format!("; {n} in other bases left out (not comparable)"),
        }
    );
    let rows: Vec<Vec<String>> = hist
        .points
        .iter()
        .map(|p| {
            let head: Vec<String> = p.vector.iter().take(4).map(|v| format!("{v:.3}")).collect();
            vec![
                format_iso8601(p.at),
                p.run.to_string(),
                num(p.moved, 3),
                p.reconstruction_error
                    .map_or_else(|| "-".to_string(), |e| format!("{e:.3e}")),
                head.join(" "),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "as of",
                "run",
                "moved",
                "reconstruction error",
                "first components"
            ],
            &rows
        )
    );
    Ok(())
}

/// Latest k-means membership per workload, for colouring maps.
pub fn kmeans_labels(store: &Store) -> Result<BTreeMap<WorkloadId, Option<u32>>> {
    let mut out = BTreeMap::new();
    if let Some((_, run)) = store.latest_clustering(prescale_learn::KMEANS)? {
        for c in &run.clusters {
            for m in &c.members {
                out.insert(m.clone(), Some(c.id.0));
            }
        }
    }
    Ok(out)
}

pub fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

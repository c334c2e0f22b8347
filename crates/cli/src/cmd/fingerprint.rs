//! `prescale fingerprint`: window features of every workload, robust scaling and PCA, stored with a timestamp.

use crate::args::FingerprintArgs;
use crate::output::{num, table};
use crate::timearg;
use anyhow::{bail, Context, Result};
use prescale_core::{Fingerprint, Interval, Timestamp, WorkloadId};
use prescale_fingerprint::{
    fingerprint_fleet, scatter_svg, tsne_2d, FingerprintConfig, MetricInput, WorkloadInput,
};
use prescale_store::{FingerprintRun, Store};
use std::collections::BTreeMap;
use std::path::Path;

/// Loads each workload's metrics up to `at` (all data when `None`), with the fleet's typical interval.
pub fn load_inputs(
    store: &Store,
    at: Option<Timestamp>,
) -> Result<(Vec<WorkloadInput>, Option<Interval>, Timestamp)> {
    let infos = store.list_series()?;
    let mut by_workload: BTreeMap<WorkloadId, Vec<MetricInput>> = BTreeMap::new();
    let mut intervals = Vec::new();
    let mut newest = None::<Timestamp>;
    for info in &infos {
        let series = match at {
            Some(t) => store.load_series_until(&info.key, t)?,
            None => store.load_series(&info.key)?,
        };
        let Some(series) = series else { continue };
        if series.len() < 8 {
            continue;
        }
        if let Some(i) = series.median_interval() {
            intervals.push(i.millis());
        }
        newest = newest.max(series.last_ts());
        by_workload
            .entry(info.key.workload.clone())
            .or_default()
            .push(MetricInput {
                metric: info.key.metric.clone(),
                values: series.values(),
            });
    }
    intervals.sort_unstable();
    let interval = intervals
        .get(intervals.len() / 2)
        .and_then(|m| Interval::from_millis(*m));
    let inputs = by_workload
        .into_iter()
        .map(|(workload, metrics)| WorkloadInput { workload, metrics })
        .collect();
    let as_of = at.or(newest).unwrap_or(Timestamp(0));
    Ok((inputs, interval, as_of))
}

/// Converts window durations to samples at `interval`.
pub fn config(
    windows: &[String],
    interval: Interval,
    variance: f64,
    components: Option<usize>,
) -> Result<FingerprintConfig> {
    let cfg = FingerprintConfig {
        windows: windows
            .iter()
            .map(|w| timearg::duration("--windows", w).map(|d| interval.steps_in(d)))
            .collect::<Result<_>>()?,
        max_period: interval.steps_in(Interval::from_secs(7 * 86_400).unwrap_or(interval)),
        variance_target: variance,
        components,
        ..FingerprintConfig::default()
    };
    cfg.validate().context("fingerprint settings")?;
    Ok(cfg)
}

pub fn run(store: &mut Store, args: &FingerprintArgs) -> Result<()> {
    if let Some(w) = &args.history {
        return history(store, &WorkloadId::new(w.as_str())?, args.json);
    }
    let at = args
        .at
        .as_deref()
        .map(|t| timearg::timestamp("--at", t))
        .transpose()?;
    let (inputs, interval, as_of) = load_inputs(store, at)?;
    if inputs.len() < 2 {
        bail!(
            "need at least 2 workloads with 8+ samples{} to fingerprint, found {} (import traces first)",
            at.map(|_| " before --at").unwrap_or(""),
            inputs.len()
        );
    }
    let interval = interval.context("cannot infer the sampling interval")?;
    let cfg = config(&args.windows, interval, args.variance, args.components)?;
    let fleet = fingerprint_fleet(&inputs, &cfg).context("fingerprinting the fleet")?;
    let run = FingerprintRun {
        at: as_of,
        created: super::now(),
        model_json: serde_json::to_string(&fleet.model)?,
        explained_variance: fleet.explained_variance.clone(),
        kept: fleet.kept,
        vectors: fleet
            .vectors
            .iter()
            .map(|(w, v)| Fingerprint {
                workload: w.clone(),
                at: as_of,
                vector: v.clone(),
            })
            .collect(),
        map2d: fleet.map2d.clone(),
    };
    let run_id = store.save_fingerprint_run(&run)?;
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
        return super::print_json(&serde_json::json!({
            "run": run_id, "at": as_of, "workloads": fleet.vectors.len(), "features": fleet.model.feature_names.len(),
            "explained_variance": fleet.explained_variance, "kept": fleet.kept,
            "fingerprints": run.vectors,
        }));
    }
    let cum: Vec<f64> = fleet
        .explained_variance
        .iter()
        .scan(0.0, |acc, v| {
            *acc += v;
            Some(*acc)
        })
        .collect();
    println!(
        "fingerprint run {run_id} as of {}: {} workloads, {} features, {} PCA components kept ({:.1}% of variance)",
        prescale_telemetry::format_iso8601(as_of),
        fleet.vectors.len(),
        fleet.model.feature_names.len(),
        fleet.kept,
        100.0 * cum.get(fleet.kept.saturating_sub(1)).copied().unwrap_or(0.0)
    );
    let rows: Vec<Vec<String>> = fleet
        .explained_variance
        .iter()
        .zip(&cum)
        .take(fleet.kept.clamp(2, 10))
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
        .map(|(w, p)| vec![w.to_string(), num(Some(p[0]), 3), num(Some(p[1]), 3)])
        .collect();
    print!("{}", table(&["workload", "pc1", "pc2"], &rows));
    Ok(())
}

/// Prints the stored fingerprints of one workload, oldest first (each run's PCA basis is its own).
fn history(store: &Store, w: &WorkloadId, json: bool) -> Result<()> {
    let hist = store.fingerprint_history(w)?;
    if hist.is_empty() {
        bail!("no fingerprints stored for {w}: run `prescale fingerprint` first");
    }
    if json {
        return super::print_json(&hist);
    }
    let rows: Vec<Vec<String>> = hist
        .iter()
        .map(|f| {
            let head: Vec<String> = f.vector.iter().take(4).map(|v| format!("{v:.3}")).collect();
            vec![
                prescale_telemetry::format_iso8601(f.at),
                f.vector.len().to_string(),
                head.join(" "),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["as of", "components", "first components"], &rows)
    );
    Ok(())
}

/// Latest k-means membership per workload, for colouring maps.
pub fn kmeans_labels(store: &Store) -> Result<BTreeMap<WorkloadId, Option<u32>>> {
    let mut out = BTreeMap::new();
    if let Some((_, run)) = store.latest_clustering("kmeans")? {
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

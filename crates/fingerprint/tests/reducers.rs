//! Which reducer separates the workload families of `../shared/data` better, PCA or the
//! autoencoder: mean silhouette of the family labels and leave-series-out 1-NN family agreement on
//! the fingerprint vectors. Skips without the data (fails under `CI=true`).
//!
//! Workloads are 2-day segments (576 samples at 5 minutes, at most 3 per series) of one metric named
//! `value`, so no feature name gives a family away; a family is the dataset and the metric kind
//! (`nab/cpu`, `bitbrains/memory`, `alibaba/network`, `nasa/requests`, ...); the coarser labelling
//! is the dataset alone. 1-NN agreement is leave-series-out: a segment's nearest segment from
//! another series, over the families with two series or more. Figures, in release mode (debug
//! builds use one segment per series and one seed to stay quick):
//!
//! ```text
//! cargo test --release -p prescale-fingerprint --test reducers -- --nocapture
//!
//! 368 segments of 123 series; 14 families (dataset/metric kind), 4 datasets
//! reducer  components  dims | family silhouette  1-NN | dataset silhouette  1-NN
//! pca         default     9 |            -0.132  0.543 |             -0.261  0.805
//! ae          default     8 |            -0.135  0.535 |             -0.146  0.818
//! pca               2     2 |            -0.244  0.494 |             -0.459  0.803
//! ae                2     2 |            -0.222  0.450 |             -0.328  0.761
//! pca               4     4 |            -0.153  0.486 |             -0.343  0.786
//! ae                4     4 |            -0.177  0.482 |             -0.141  0.768
//! pca               8     8 |            -0.137  0.549 |             -0.265  0.811
//! ae                8     8 |            -0.135  0.535 |             -0.146  0.818
//! ```
//!
//! (`ae` rows are means over seeds 7, 8, 9; single seeds spread about ±0.02 in 1-NN agreement.)
//! On the families the two are level (PCA a little ahead on 1-NN agreement, silhouettes equal);
//! on the datasets the autoencoder's silhouette is clearly better. PCA stays the default: it does
//! not lose on the families, its basis does not depend on a seed, and it is cheaper.

use prescale_cluster::silhouette;
use prescale_core::{MetricName, WorkloadId};
use prescale_fingerprint::{
    fingerprint_fleet, FingerprintConfig, MetricInput, Reducer, WorkloadInput,
};
use prescale_math::squared_euclidean;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Samples per segment: 2 days at 5 minutes.
const SEGMENT: usize = 576;

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/data not found at {}", dir.display());
    }
    println!("skipping: ../shared/data not found");
    None
}

/// One source series: its name, family and values at 5 minutes.
struct Source {
    name: String,
    family: String,
    values: Vec<f64>,
}

fn csv_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

fn nab(dir: &Path) -> Vec<Source> {
    csv_files(&dir.join("nab_realAWSCloudwatch"))
        .iter()
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let kind = if stem.contains("cpu") {
                "cpu"
            } else if stem.contains("network") || stem.contains("NetworkIn") {
                "network"
            } else if stem.contains("disk") {
                "disk"
            } else if stem.contains("request") {
                "requests"
            } else {
                "other"
            };
            let values = fs::read_to_string(p)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| l.rsplit(',').next().unwrap().trim().parse().unwrap())
                .collect();
            Source {
                name: format!("nab/{stem}"),
                family: format!("nab/{kind}"),
                values,
            }
        })
        .collect()
}

fn bitbrains(dir: &Path) -> Vec<Source> {
    // Columns of a VM file: 4 CPU usage [%], 6 memory usage [KB], 8 disk write [KB/s], 9 network
    // received [KB/s].
    let kinds = [(4, "cpu"), (6, "memory"), (8, "disk"), (9, "network")];
    let mut out = Vec::new();
    for p in csv_files(&dir.join("bitbrains_gwa_t12_rnd/2013-7")) {
        let vm = p.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&p).unwrap();
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(";\t").map(|c| c.trim().parse().unwrap()).collect())
            .collect();
        for (col, kind) in kinds {
            out.push(Source {
                name: format!("bitbrains/{vm}/{kind}"),
                family: format!("bitbrains/{kind}"),
                values: rows.iter().map(|r| r[col]).collect(),
            });
        }
    }
    out
}

fn alibaba(dir: &Path) -> Vec<Source> {
    let text = fs::read_to_string(dir.join(
        "alibaba2018_machine_usage_aggregated/machine_usage_days_1_to_8_grouped_300_seconds.csv",
    ))
    .unwrap();
    let kinds = ["cpu", "memory", "network", "network", "disk"];
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|c| c.trim().parse().unwrap()).collect())
        .collect();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    kinds
        .iter()
        .enumerate()
        .map(|(c, kind)| Source {
            name: format!("alibaba/{}", header[c].trim()),
            family: format!("alibaba/{kind}"),
            values: rows.iter().map(|r| r[c]).collect(),
        })
        .collect()
}

/// NASA requests per minute, summed to 5 minutes.
fn nasa(dir: &Path) -> Vec<Source> {
    let per_minute: Vec<f64> =
        fs::read_to_string(dir.join("nasa_http_1995/nasa_requests_per_minute.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().trim().parse().unwrap())
            .collect();
    vec![Source {
        name: "nasa/requests".into(),
        family: "nasa/requests".into(),
        values: per_minute.chunks_exact(5).map(|c| c.iter().sum()).collect(),
    }]
}

/// The segments as workloads, with their family and source series.
fn segments(dir: &Path, per_series: usize) -> (Vec<WorkloadInput>, Vec<String>, Vec<String>) {
    let mut sources = nab(dir);
    sources.extend(bitbrains(dir));
    sources.extend(alibaba(dir));
    sources.extend(nasa(dir));
    let (mut inputs, mut families, mut series) = (Vec::new(), Vec::new(), Vec::new());
    for s in &sources {
        for (i, seg) in s.values.chunks_exact(SEGMENT).take(per_series).enumerate() {
            inputs.push(WorkloadInput {
                workload: WorkloadId::new(format!("{}#{i}", s.name)).unwrap(),
                metrics: vec![MetricInput {
                    metric: MetricName::new("value").unwrap(),
                    values: seg.to_vec(),
                }],
            });
            families.push(s.family.clone());
            series.push(s.name.clone());
        }
    }
    (inputs, families, series)
}

/// Share of the points whose nearest point from another source series is of the same family,
/// over the points whose family has at least two series.
fn nn_agreement(points: &[Vec<f64>], families: &[String], series: &[String]) -> f64 {
    let mut series_per_family: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (f, s) in families.iter().zip(series) {
        series_per_family.entry(f).or_default().insert(s);
    }
    let (mut agree, mut counted) = (0usize, 0usize);
    for i in 0..points.len() {
        if series_per_family[families[i].as_str()].len() < 2 {
            continue;
        }
        let nearest = (0..points.len())
            .filter(|&j| series[j] != series[i])
            .min_by(|&a, &b| {
                squared_euclidean(&points[i], &points[a])
                    .total_cmp(&squared_euclidean(&points[i], &points[b]))
            })
            .unwrap();
        counted += 1;
        agree += usize::from(families[nearest] == families[i]);
    }
    agree as f64 / counted as f64
}

/// How well fingerprint vectors separate a labelling.
#[derive(Debug, Clone, Copy)]
struct Score {
    silhouette: f64,
    nn: f64,
}

fn score(points: &[Vec<f64>], families: &[String], series: &[String]) -> Score {
    let mut names: Vec<&String> = families.iter().collect();
    names.sort();
    names.dedup();
    let labels: Vec<Option<usize>> = families
        .iter()
        .map(|f| names.iter().position(|n| *n == f))
        .collect();
    Score {
        silhouette: silhouette(points, &labels).unwrap(),
        nn: nn_agreement(points, families, series),
    }
}

fn mean(scores: &[Score]) -> Score {
    let n = scores.len() as f64;
    Score {
        silhouette: scores.iter().map(|s| s.silhouette).sum::<f64>() / n,
        nn: scores.iter().map(|s| s.nn).sum::<f64>() / n,
    }
}

#[test]
fn reducers_on_the_shared_workload_families() {
    let Some(dir) = data_dir() else { return };
    let release = !cfg!(debug_assertions);
    let (inputs, families, series) = segments(&dir, if release { 3 } else { 1 });
    // The coarser labelling: the dataset folder alone.
    let datasets: Vec<String> = families
        .iter()
        .map(|f| f.split('/').next().unwrap_or_default().to_string())
        .collect();
    let count = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v.len()
    };
    println!(
        "{} segments of {} series; {} families (dataset/metric kind), {} datasets",
        inputs.len(),
        count(&series),
        count(&families),
        count(&datasets)
    );
    let base = FingerprintConfig {
        windows: vec![12, 288, SEGMENT],
        max_period: 288,
        ..FingerprintConfig::default()
    };
    // The autoencoder depends on its seed: its figures are means over these.
    let seeds: &[u64] = if release { &[7, 8, 9] } else { &[7] };
    let settings: &[Option<usize>] = if release {
        &[None, Some(2), Some(4), Some(8)]
    } else {
        &[None]
    };
    println!("reducer  components  dims | family silhouette  1-NN | dataset silhouette  1-NN");
    let mut defaults = BTreeMap::new();
    for &components in settings {
        for reducer in [Reducer::Pca, Reducer::Autoencoder] {
            let runs = if reducer == Reducer::Pca {
                &seeds[..1]
            } else {
                seeds
            };
            let (mut by_family, mut by_dataset, mut dims) = (Vec::new(), Vec::new(), 0);
            for &seed in runs {
                let mut cfg = FingerprintConfig {
                    reducer,
                    components,
                    ..base.clone()
                };
                cfg.autoencoder.seed = seed;
                let fp = fingerprint_fleet(&inputs, &cfg).unwrap();
                let points: Vec<Vec<f64>> = fp.vectors.iter().map(|(_, v)| v.clone()).collect();
                dims = fp.kept;
                by_family.push(score(&points, &families, &series));
                by_dataset.push(score(&points, &datasets, &series));
            }
            let (f, d) = (mean(&by_family), mean(&by_dataset));
            println!(
                "{:<7}  {:>10}  {:>4} | {:>17.3}  {:>4.3} | {:>18.3}  {:>4.3}",
                reducer.as_str(),
                components.map_or("default".to_string(), |c| c.to_string()),
                dims,
                f.silhouette,
                f.nn,
                d.silhouette,
                d.nn,
            );
            for s in [f, d] {
                assert!(s.silhouette.is_finite() && (-1.0..=1.0).contains(&s.silhouette));
                assert!((0.0..=1.0).contains(&s.nn));
            }
            if components.is_none() {
                defaults.insert(reducer, f);
            }
        }
    }
    // The default reducer does not separate the families worse than the other one (within the
    // autoencoder's spread over seeds, about ±0.02 of 1-NN agreement).
    let other = match Reducer::DEFAULT {
        Reducer::Pca => Reducer::Autoencoder,
        Reducer::Autoencoder => Reducer::Pca,
    };
    let (d, o) = (defaults[&Reducer::DEFAULT], defaults[&other]);
    assert!(
        d.nn >= o.nn - 0.03,
        "default {} 1-NN agreement {} vs {other} {}",
        Reducer::DEFAULT,
        d.nn,
        o.nn
    );
}

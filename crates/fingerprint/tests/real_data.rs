//! Fingerprints real telemetry (NAB CloudWatch + a few Bitbrains VMs) and checks the fleet model.

use prescale_core::{MetricName, WorkloadId};
use prescale_fingerprint::{
    fingerprint_fleet, scatter_svg, tsne_2d, FingerprintConfig, FleetModel, MetricInput,
    WorkloadInput,
};
use std::fs;
use std::path::{Path, PathBuf};

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

/// NAB file `ec2_cpu_utilization_24ae8d.csv` → metric `ec2_cpu_utilization`, values column 2.
fn nab(dir: &Path) -> Vec<WorkloadInput> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("nab_realAWSCloudwatch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            let metric = match stem.rsplit_once('_') {
                Some((head, tail))
                    if tail.len() == 6 && tail.chars().all(|c| c.is_ascii_hexdigit()) =>
                {
                    head.to_string()
                }
                _ => stem.clone(),
            };
            let values: Vec<f64> = fs::read_to_string(p)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| l.rsplit(',').next().unwrap().trim().parse().unwrap())
                .collect();
            WorkloadInput {
                workload: WorkloadId::new(format!("nab/{stem}")).unwrap(),
                metrics: vec![MetricInput {
                    metric: MetricName::new(metric).unwrap(),
                    values,
                }],
            }
        })
        .collect()
}

/// Bitbrains VM file (`;\t`-separated): every column but the timestamp becomes a metric.
fn bitbrains(dir: &Path, vm: &str) -> WorkloadInput {
    let text = fs::read_to_string(
        dir.join("bitbrains_gwa_t12_rnd/2013-7")
            .join(format!("{vm}.csv")),
    )
    .unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(";\t")
        .map(|h| {
            h.trim()
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
                .trim_matches('_')
                .to_string()
        })
        .collect();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (c, cell) in line.split(";\t").enumerate().take(header.len()) {
            columns[c].push(cell.trim().parse().unwrap());
        }
    }
    WorkloadInput {
        workload: WorkloadId::new(format!("bitbrains/{vm}")).unwrap(),
        metrics: header
            .iter()
            .zip(columns)
            .skip(1)
            .map(|(h, values)| MetricInput {
                metric: MetricName::new(h.clone()).unwrap(),
                values,
            })
            .collect(),
    }
}

#[test]
fn nab_and_bitbrains_fleet_is_sane() {
    let Some(dir) = data_dir() else { return };
    let mut inputs = nab(&dir);
    assert!(inputs.len() >= 17);
    for vm in ["107", "17", "266", "384", "81"] {
        inputs.push(bitbrains(&dir, vm));
    }
    // Hold one workload out to project it later with the stored model.
    let held_out = inputs.pop().unwrap();
    let cfg = FingerprintConfig::default();
    let fp = fingerprint_fleet(&inputs, &cfg).unwrap();

    let dims = fp.model.feature_names.len();
    let n = inputs.len();
    assert!(
        fp.kept >= 1 && fp.kept <= dims && fp.kept < n,
        "kept {}",
        fp.kept
    );
    assert!(fp.explained_variance.len() < n);
    let sum: f64 = fp.explained_variance.iter().sum();
    assert!((sum - 1.0).abs() < 1e-9, "explained variance sums to {sum}");
    assert!(fp
        .explained_variance
        .windows(2)
        .all(|w| w[0] >= w[1] - 1e-12));
    let kept_share: f64 = fp.explained_variance[..fp.kept].iter().sum();
    assert!(kept_share >= cfg.variance_target - 1e-9);
    assert_eq!(fp.vectors.len(), n);
    assert!(fp
        .vectors
        .iter()
        .all(|(_, v)| v.len() == fp.kept && v.iter().all(|x| x.is_finite())));
    assert!(fp
        .raw
        .iter()
        .all(|(_, f)| f.values.iter().all(|x| x.is_finite())));
    println!(
        "{n} workloads, {dims} features, kept {} components, explained {:?}",
        fp.kept,
        &fp.explained_variance[..fp.kept.min(8)]
    );

    // The stored model projects the held-out workload (which has every Bitbrains metric).
    let json = serde_json::to_string(&fp.model).unwrap();
    let model: FleetModel = serde_json::from_str(&json).unwrap();
    let v = model.project(&held_out, &cfg).unwrap();
    assert_eq!(v.len(), fp.kept);
    assert!(v.iter().all(|x| x.is_finite()));

    // A 2-D map of the fleet renders.
    let vectors: Vec<Vec<f64>> = fp.vectors.iter().map(|(_, v)| v.clone()).collect();
    let map = tsne_2d(&vectors, 5.0, 1).unwrap();
    assert_eq!(map.len(), n);
    let points: Vec<(String, [f64; 2], Option<u32>)> = fp
        .map2d
        .iter()
        .map(|(id, p)| {
            (
                id.to_string(),
                *p,
                Some(u32::from(id.as_str().starts_with("bitbrains"))),
            )
        })
        .collect();
    let svg = scatter_svg(&points, "NAB + Bitbrains (PCA)");
    assert_eq!(svg.matches("<title>").count(), n);
}

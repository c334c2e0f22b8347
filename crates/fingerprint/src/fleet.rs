//! Fleet fingerprints: features of every workload → robust scaling → PCA, as one reusable model.

use crate::features::features_validated;
use crate::{
    FeatureVector, FingerprintConfig, FingerprintError, Pca, PcaTarget, RobustScaler, WorkloadInput,
};
use prescale_core::WorkloadId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Everything needed to project a workload into the fleet's fingerprint space later on
/// (serialisable, e.g. as JSON next to the clusters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetModel {
    /// The fleet's feature space: the sorted union of every workload's feature names.
    pub feature_names: Vec<String>,
    /// Per-feature median / IQR; missing features are imputed at the median (scaled 0).
    pub scaler: RobustScaler,
    pub pca: Pca,
    /// The configuration the model was fitted with.
    pub config: FingerprintConfig,
}

/// The fitted model plus every workload's vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetFingerprints {
    pub model: FleetModel,
    /// Fingerprint (kept PCA components) per workload, in input order.
    pub vectors: Vec<(WorkloadId, Vec<f64>)>,
    /// Explained-variance ratio of every component (sums to 1).
    pub explained_variance: Vec<f64>,
    /// Number of components in each fingerprint vector.
    pub kept: usize,
    /// First two principal components per workload, for maps.
    pub map2d: Vec<(WorkloadId, [f64; 2])>,
    /// Raw (unscaled) features per workload.
    pub raw: Vec<(WorkloadId, FeatureVector)>,
}

impl FleetModel {
    /// Scaled feature row of `fv` in the model's feature space; features the model does not know
    /// are ignored, features `fv` lacks become 0 (the scaled median).
    fn scaled_row(&self, fv: &FeatureVector) -> Result<Vec<f64>, FingerprintError> {
        let by_name: HashMap<&str, f64> = fv
            .names
            .iter()
            .map(String::as_str)
            .zip(fv.values.iter().copied())
            .collect();
        let raw: Vec<f64> = self
            .feature_names
            .iter()
            .zip(&self.scaler.center)
            .map(|(name, median)| by_name.get(name.as_str()).copied().unwrap_or(*median))
            .collect();
        self.scaler.transform(&raw)
    }

    /// Fingerprint of a workload (in the fit or not) with this model.
    ///
    /// A young workload's features for windows longer than its history would describe a shorter span
    /// than the fleet's do (a day standing in for a week), so they are treated as missing (imputed at the
    /// fleet median) rather than compared like for like.
    pub fn project(
        &self,
        w: &WorkloadInput,
        cfg: &FingerprintConfig,
    ) -> Result<Vec<f64>, FingerprintError> {
        cfg.validate()?;
        let fv = observed_only(features_validated(w, cfg)?, w, cfg);
        self.pca.transform(&self.scaled_row(&fv)?)
    }

    /// Position of a workload on the fleet's 2-D PCA map.
    pub fn project2(
        &self,
        w: &WorkloadInput,
        cfg: &FingerprintConfig,
    ) -> Result<[f64; 2], FingerprintError> {
        cfg.validate()?;
        let fv = features_validated(w, cfg)?;
        self.pca.transform2(&self.scaled_row(&fv)?)
    }
}

/// Drops the per-window features of windows longer than the metric's history.
fn observed_only(fv: FeatureVector, w: &WorkloadInput, cfg: &FingerprintConfig) -> FeatureVector {
    let too_long: Vec<String> = w
        .metrics
        .iter()
        .flat_map(|m| {
            cfg.windows
                .iter()
                .filter(move |&&win| m.values.len() < win)
                .map(move |win| format!("{}.w{}.", m.metric, win))
        })
        .collect();
    let (names, values) = fv
        .names
        .into_iter()
        .zip(fv.values)
        .filter(|(n, _)| !too_long.iter().any(|p| n.starts_with(p.as_str())))
        .unzip();
    FeatureVector { names, values }
}

/// Fingerprints a fleet of at least two workloads (distinct ids; metric sets may differ).
pub fn fingerprint_fleet(
    inputs: &[WorkloadInput],
    cfg: &FingerprintConfig,
) -> Result<FleetFingerprints, FingerprintError> {
    cfg.validate()?;
    if inputs.len() < 2 {
        return Err(FingerprintError::TooFew {
            need: 2,
            got: inputs.len(),
        });
    }
    let mut ids = BTreeSet::new();
    for w in inputs {
        if !ids.insert(&w.workload) {
            return Err(FingerprintError::DuplicateWorkload {
                workload: w.workload.to_string(),
            });
        }
    }
    let raw: Vec<(WorkloadId, FeatureVector)> = inputs
        .iter()
        .map(|w| Ok((w.workload.clone(), features_validated(w, cfg)?)))
        .collect::<Result<_, FingerprintError>>()?;
    let feature_names: Vec<String> = raw
        .iter()
        .flat_map(|(_, fv)| fv.names.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let column: HashMap<&str, usize> = feature_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let sparse: Vec<Vec<Option<f64>>> = raw
        .iter()
        .map(|(_, fv)| {
            let mut row = vec![None; feature_names.len()];
            for (name, v) in fv.names.iter().zip(&fv.values) {
                if let Some(&j) = column.get(name.as_str()) {
                    row[j] = Some(*v);
                }
            }
            row
        })
        .collect();
    let scaler = RobustScaler::fit_sparse(&sparse)?;
    let scaled: Vec<Vec<f64>> = sparse
        .iter()
        .map(|row| {
            let filled: Vec<f64> = row
                .iter()
                .zip(&scaler.center)
                .map(|(v, median)| v.unwrap_or(*median))
                .collect();
            scaler.transform(&filled)
        })
        .collect::<Result<_, _>>()?;
    let target = match cfg.components {
        Some(c) => PcaTarget::Components(c),
        None => PcaTarget::VarianceShare(cfg.variance_target),
    };
    let pca = Pca::fit(&scaled, target)?;
    let mut vectors = Vec::with_capacity(inputs.len());
    let mut map2d = Vec::with_capacity(inputs.len());
    for ((id, _), row) in raw.iter().zip(&scaled) {
        vectors.push((id.clone(), pca.transform(row)?));
        map2d.push((id.clone(), pca.transform2(row)?));
    }
    let explained_variance = pca.explained_variance_ratio.clone();
    let kept = pca.kept;
    Ok(FleetFingerprints {
        model: FleetModel {
            feature_names,
            scaler,
            pca,
            config: cfg.clone(),
        },
        vectors,
        explained_variance,
        kept,
        map2d,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetricInput;
    use prescale_core::MetricName;
    use std::f64::consts::PI;

    fn workload(id: &str, metrics: Vec<(&str, Vec<f64>)>) -> WorkloadInput {
        WorkloadInput {
            workload: WorkloadId::new(id).unwrap(),
            metrics: metrics
                .into_iter()
                .map(|(m, values)| MetricInput {
                    metric: MetricName::new(m).unwrap(),
                    values,
                })
                .collect(),
        }
    }

    fn cfg() -> FingerprintConfig {
        FingerprintConfig {
            windows: vec![12, 288],
            max_period: 144,
            ..Default::default()
        }
    }

    fn sine(period: f64, amp: f64, level: f64, seed: &mut u64) -> Vec<f64> {
        (0..600)
            .map(|i| {
                level + amp * (2.0 * PI * i as f64 / period).sin() + crate::testutil::uniform(seed)
            })
            .collect()
    }

    fn noise(level: f64, seed: &mut u64) -> Vec<f64> {
        (0..600)
            .map(|_| level + level * 0.5 * crate::testutil::uniform(seed))
            .collect()
    }

    /// Two families with the same metrics: web (seasonal CPU, flat memory) and batch (noisy CPU,
    /// seasonal memory); one extra workload has a metric no one else has.
    fn fleet() -> Vec<WorkloadInput> {
        let mut seed = 5;
        let mut out = Vec::new();
        for i in 0..4 {
            out.push(workload(
                &format!("web-{i}"),
                vec![
                    ("cpu", sine(48.0, 10.0, 50.0, &mut seed)),
                    ("mem", noise(60.0, &mut seed)),
                ],
            ));
            out.push(workload(
                &format!("batch-{i}"),
                vec![
                    ("cpu", noise(5.0, &mut seed)),
                    ("mem", sine(96.0, 5.0, 10.0, &mut seed)),
                ],
            ));
        }
        out
    }

    #[test]
    fn fleet_is_sane_and_model_round_trips() {
        let inputs = fleet();
        let fp = fingerprint_fleet(&inputs, &cfg()).unwrap();
        let sum: f64 = fp.explained_variance.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert!(fp.kept >= 1 && fp.kept <= fp.model.feature_names.len());
        assert_eq!(fp.vectors.len(), inputs.len());
        assert!(fp.vectors.iter().all(|(_, v)| v.len() == fp.kept));
        assert!(fp.model.feature_names.iter().any(|n| n == "corr.cpu~mem"));
        // Web and batch workloads are far apart; the same family is close.
        let d = |a: usize, b: usize| prescale_math::euclidean(&fp.vectors[a].1, &fp.vectors[b].1);
        assert!(
            d(0, 2) < d(0, 1),
            "web-web {} vs web-batch {}",
            d(0, 2),
            d(0, 1)
        );
        assert!(d(1, 3) < d(1, 2));

        // A stored model projects a fitted workload to the same vector.
        let json = serde_json::to_string(&fp.model).unwrap();
        let model: FleetModel = serde_json::from_str(&json).unwrap();
        let again = model.project(&inputs[3], &cfg()).unwrap();
        for (a, b) in again.iter().zip(&fp.vectors[3].1) {
            assert!((a - b).abs() < 1e-9);
        }
        // A new workload with an unknown metric only: every known feature imputed → the centre.
        let odd = workload("odd", vec![("disk", vec![1.0; 50])]);
        let p = model.project(&odd, &cfg()).unwrap();
        let centre = model
            .pca
            .transform(&vec![0.0; model.feature_names.len()])
            .unwrap();
        assert_eq!(p, centre);
    }

    #[test]
    fn differing_metric_sets_share_the_union_of_names() {
        let mut inputs = fleet();
        let mut seed = 11;
        inputs.push(workload("disk-only", vec![("disk", noise(3.0, &mut seed))]));
        let fp = fingerprint_fleet(&inputs, &cfg()).unwrap();
        let names = &fp.model.feature_names;
        assert!(names.iter().any(|n| n.starts_with("disk.w288.")));
        assert!(names.iter().any(|n| n.starts_with("cpu.w12.")));
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert_eq!(fp.raw.len(), 9);
        assert!(fp
            .vectors
            .iter()
            .flat_map(|(_, v)| v)
            .all(|x| x.is_finite()));
        assert!(fp.map2d.iter().flat_map(|(_, p)| p).all(|x| x.is_finite()));
    }

    #[test]
    fn too_few_or_duplicate_workloads_fail() {
        let inputs = fleet();
        assert!(matches!(
            fingerprint_fleet(&inputs[..1], &cfg()),
            Err(FingerprintError::TooFew { need: 2, got: 1 })
        ));
        let dup = vec![inputs[0].clone(), inputs[0].clone()];
        assert!(matches!(
            fingerprint_fleet(&dup, &cfg()),
            Err(FingerprintError::DuplicateWorkload { .. })
        ));
        let same = vec![
            workload("a", vec![("cpu", vec![1.0; 20])]),
            workload("b", vec![("cpu", vec![1.0; 20])]),
        ];
        assert!(matches!(
            fingerprint_fleet(&same, &cfg()),
            Err(FingerprintError::NoVariance)
        ));
    }
}

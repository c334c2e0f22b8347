//! Fleet fingerprints: features of every workload → robust scaling → PCA or an autoencoder, as one
//! reusable, versioned model; each workload's autoencoder reconstruction error is its
//! behavioural-anomaly score.

use crate::features::features_validated;
use crate::{
    Autoencoder, FeatureVector, FingerprintConfig, FingerprintError, FleetFeatures, Pca, Reducer,
    RobustScaler, WorkloadInput,
};
use prescale_core::{Timestamp, WorkloadId};
use serde::{Deserialize, Serialize};

/// Version of the stored [`FleetModel`] layout. 1: scaler + PCA (no `version` field); 2: adds the
/// reducer choice and the autoencoder (and, optionally, `fitted_at`). Fingerprints are comparable
/// only between runs of the same model (same version, reducer and fitted basis): see
/// [`FleetModel::apply`].
pub const FLEET_MODEL_VERSION: u32 = 2;

fn version_one() -> u32 {
    1
}

/// Everything needed to project a workload into the fleet's fingerprint space later on
/// (serialisable, e.g. as JSON next to the clusters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetModel {
    /// Layout version ([`FLEET_MODEL_VERSION`] when written by this build; 1 when absent).
    #[serde(default = "version_one")]
    pub version: u32,
    /// The fleet's feature space: the sorted union of every workload's feature names.
    pub feature_names: Vec<String>,
    /// Per-feature median / IQR; missing features are imputed at the median (scaled 0).
    pub scaler: RobustScaler,
    /// Always fitted: the fingerprint under the `pca` reducer, and the 2-D map under both.
    pub pca: Pca,
    /// Trained under both reducers (version 2 on): the fingerprint under `ae` (`config.reducer`),
    /// and the anomaly score under both. `None` in version-1 models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoencoder: Option<Autoencoder>,
    /// The configuration the model was fitted with.
    pub config: FingerprintConfig,
    /// Data time of the fleet the basis was fitted on, stamped by the caller that fits it (this
    /// crate has no clock); `None` in models stored before bases were kept across runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted_at: Option<Timestamp>,
}

/// The fitted model plus every workload's vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetFingerprints {
    pub model: FleetModel,
    /// The reducer the vectors come from.
    pub reducer: Reducer,
    /// Fingerprint per workload (kept PCA components, or the autoencoder's code), in input order.
    pub vectors: Vec<(WorkloadId, Vec<f64>)>,
    /// Explained-variance ratio of every principal component (sums to 1), whatever the reducer.
    pub explained_variance: Vec<f64>,
    /// Number of components in each fingerprint vector.
    pub kept: usize,
    /// First two principal components per workload, for maps (under both reducers).
    pub map2d: Vec<(WorkloadId, [f64; 2])>,
    /// Per workload, in input order: the mean squared error per scaled feature of its
    /// reconstruction by the autoencoder, a behavioural-anomaly score (how badly the fleet's
    /// common behaviour describes it), whatever the reducer.
    pub reconstruction_error: Vec<(WorkloadId, f64)>,
    /// Raw (unscaled) features per workload.
    pub raw: Vec<(WorkloadId, FeatureVector)>,
}

impl FleetModel {
    /// The reducer of this model's fingerprint vectors.
    pub fn reducer(&self) -> Reducer {
        self.config.reducer
    }

    /// Refuses a model this build cannot read faithfully: a newer layout version, an autoencoder
    /// model without its network, or parts whose sizes disagree.
    pub fn check(&self) -> Result<(), FingerprintError> {
        if self.version > FLEET_MODEL_VERSION {
            return Err(FingerprintError::ModelVersion {
                what: "fingerprint",
                found: self.version,
                supported: FLEET_MODEL_VERSION,
            });
        }
        let d = self.feature_names.len();
        for (part, dims) in [("scaler", self.scaler.dims()), ("pca", self.pca.dims())]
            .into_iter()
            .chain(self.autoencoder.as_ref().map(|a| ("autoencoder", a.dims)))
        {
            if dims != d {
                return Err(FingerprintError::Config {
                    field: "model",
                    value: format!("{part} has {dims} inputs, {d} features named"),
                    reason: "the stored model's parts disagree",
                });
            }
        }
        match (&self.autoencoder, self.config.reducer) {
            (Some(ae), _) => ae.check(),
            (None, Reducer::Pca) => Ok(()),
            (None, r) => Err(FingerprintError::Config {
                field: "model.config.reducer",
                value: r.to_string(),
                reason: "the stored model lacks its autoencoder",
            }),
        }
    }

    /// Fingerprint vector of a scaled row under the model's reducer.
    pub(crate) fn reduce(&self, scaled: &[f64]) -> Result<Vec<f64>, FingerprintError> {
        match (&self.autoencoder, self.config.reducer) {
            (Some(ae), Reducer::Autoencoder) => ae.encode(scaled),
            (None, Reducer::Autoencoder) => Err(FingerprintError::Config {
                field: "model.config.reducer",
                value: "ae".into(),
                reason: "the stored model lacks its autoencoder",
            }),
            (_, Reducer::Pca) => self.pca.transform(scaled),
        }
    }

    /// Anomaly score of a scaled row: its autoencoder reconstruction error (`None` for a
    /// version-1 model, which has no autoencoder).
    pub(crate) fn error_of(&self, scaled: &[f64]) -> Result<Option<f64>, FingerprintError> {
        self.autoencoder
            .as_ref()
            .map(|ae| ae.reconstruction_error(scaled))
            .transpose()
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
        Ok(self.project_scored(w, cfg)?.0)
    }

    /// [`FleetModel::project`] plus the workload's anomaly score under this model (its
    /// autoencoder reconstruction error; `None` for a version-1 model).
    pub fn project_scored(
        &self,
        w: &WorkloadInput,
        cfg: &FingerprintConfig,
    ) -> Result<(Vec<f64>, Option<f64>), FingerprintError> {
        cfg.validate()?;
        let fv = observed_only(features_validated(w, cfg)?, w, cfg);
        let row = self.scaled(&fv)?;
        Ok((self.reduce(&row)?, self.error_of(&row)?))
    }

    /// Position of a workload on the fleet's 2-D PCA map.
    pub fn project2(
        &self,
        w: &WorkloadInput,
        cfg: &FingerprintConfig,
    ) -> Result<[f64; 2], FingerprintError> {
        cfg.validate()?;
        let fv = features_validated(w, cfg)?;
        self.pca.transform2(&self.scaled(&fv)?)
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

/// Fingerprints a fleet of at least two workloads (distinct ids; metric sets may differ): fits a
/// basis on it ([`FleetModel::fit`]) and applies it ([`FleetModel::apply`]).
pub fn fingerprint_fleet(
    inputs: &[WorkloadInput],
    cfg: &FingerprintConfig,
) -> Result<FleetFingerprints, FingerprintError> {
    let features = FleetFeatures::of(inputs, cfg)?;
    FleetModel::fit(&features, cfg)?.apply(&features)
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
            reducer: Reducer::Pca,
            ..Default::default()
        }
    }

    fn ae_cfg() -> FingerprintConfig {
        FingerprintConfig {
            reducer: Reducer::Autoencoder,
            ..cfg()
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
        model.check().unwrap();
        assert_eq!(fp.reconstruction_error.len(), inputs.len());
        assert!(fp.reconstruction_error.iter().all(|(_, e)| *e >= 0.0));
        let (_, score) = model.project_scored(&inputs[3], &cfg()).unwrap();
        assert_eq!(score, Some(fp.reconstruction_error[3].1));
    }

    /// A workload like no other: a ramp on cpu, a square wave on mem.
    fn odd() -> WorkloadInput {
        workload(
            "odd",
            vec![
                ("cpu", (0..600).map(|i| i as f64).collect()),
                (
                    "mem",
                    (0..600)
                        .map(|i| if i % 50 < 25 { 90.0 } else { 1.0 })
                        .collect(),
                ),
            ],
        )
    }

    #[test]
    fn autoencoder_fleet_separates_families_and_scores_an_outlier() {
        let inputs = fleet();
        let fp = fingerprint_fleet(&inputs, &ae_cfg()).unwrap();
        assert_eq!(fp.reducer, Reducer::Autoencoder);
        let ae = fp.model.autoencoder.as_ref().unwrap();
        assert_eq!(fp.kept, ae.code);
        assert!(fp.vectors.iter().all(|(_, v)| v.len() == fp.kept));
        let d = |a: usize, b: usize| prescale_math::euclidean(&fp.vectors[a].1, &fp.vectors[b].1);
        assert!(
            d(0, 2) < d(0, 1),
            "web-web {} vs web-batch {}",
            d(0, 2),
            d(0, 1)
        );
        assert!(d(1, 3) < d(1, 2));

        // Stored and read back, the model projects a member to its vector and score.
        let json = serde_json::to_string(&fp.model).unwrap();
        let model: FleetModel = serde_json::from_str(&json).unwrap();
        model.check().unwrap();
        assert_eq!(model.version, FLEET_MODEL_VERSION);
        let (v, e) = model.project_scored(&inputs[3], &ae_cfg()).unwrap();
        for (a, b) in v.iter().zip(&fp.vectors[3].1) {
            assert!((a - b).abs() < 1e-9);
        }
        assert!((e.unwrap() - fp.reconstruction_error[3].1).abs() < 1e-12);
        // A workload unlike the fleet the model learned scores far above every member.
        let worst = fp
            .reconstruction_error
            .iter()
            .map(|(_, e)| *e)
            .fold(0.0, f64::max);
        let odd_error = model.project_scored(&odd(), &ae_cfg()).unwrap().1.unwrap();
        assert!(
            odd_error > 10.0 * worst,
            "odd {odd_error} vs members {worst}"
        );
    }

    #[test]
    fn an_outlier_inside_a_larger_fleet_scores_highest() {
        let mut seed = 31;
        let mut inputs = Vec::new();
        for i in 0..20 {
            let (cpu, mem) = if i % 2 == 0 {
                (sine(48.0, 10.0, 50.0, &mut seed), noise(60.0, &mut seed))
            } else {
                (noise(5.0, &mut seed), sine(96.0, 5.0, 10.0, &mut seed))
            };
            inputs.push(workload(
                &format!("w-{i}"),
                vec![("cpu", cpu), ("mem", mem)],
            ));
        }
        inputs.push(odd());
        // The score is the autoencoder's under both reducers. Its trimmed loss leaves the lone
        // outlier out (measured: 3.7 against at most 0.022 for the members).
        let fp = fingerprint_fleet(&inputs, &cfg()).unwrap();
        let mut e: Vec<f64> = fp.reconstruction_error.iter().map(|r| r.1).collect();
        let odd = e.pop().unwrap();
        let worst = e.iter().copied().fold(0.0, f64::max);
        assert!(odd > 10.0 * worst, "odd {odd} vs members {worst}");
        // PCA's residual would not do: the outlier owns a principal axis and is reconstructed
        // best of all (measured 0.0002 against a member median of 0.016).
        let pca_error = |i: usize| {
            let fv = &fp.raw[i].1;
            let row = fp.model.scaled(fv).unwrap();
            fp.model.pca.reconstruction_error(&row).unwrap()
        };
        assert!(pca_error(inputs.len() - 1) < pca_error(0));
    }

    #[test]
    fn stored_models_are_versioned() {
        let fp = fingerprint_fleet(&fleet(), &cfg()).unwrap();
        // A model stored before versions (no `version`, no `reducer`) reads as a version-1 PCA model.
        let mut old = serde_json::to_value(&fp.model).unwrap();
        old.as_object_mut().unwrap().remove("version");
        old["config"].as_object_mut().unwrap().remove("reducer");
        old["config"].as_object_mut().unwrap().remove("autoencoder");
        let read: FleetModel = serde_json::from_value(old).unwrap();
        assert_eq!((read.version, read.reducer()), (1, Reducer::Pca));
        read.check().unwrap();
        // A newer one is refused with a clear error.
        let mut newer = fp.model.clone();
        newer.version = FLEET_MODEL_VERSION + 1;
        let err = newer.check().unwrap_err();
        assert!(matches!(err, FingerprintError::ModelVersion { .. }));
        assert!(err.to_string().contains("newer"), "{err}");
        // An `ae` model without its network is refused too.
        let mut stray = fp.model;
        stray.autoencoder = None;
        stray.config.reducer = Reducer::Autoencoder;
        assert!(stray.check().is_err());
    }

    #[test]
    fn autoencoder_fleet_rejects_non_finite_series() {
        let mut inputs = fleet();
        inputs[2].metrics[0].values[10] = f64::NAN;
        let err = fingerprint_fleet(&inputs, &ae_cfg()).unwrap_err();
        assert!(matches!(err, FingerprintError::NonFinite { .. }), "{err:?}");
        assert!(err.to_string().contains("web-1/cpu"), "{err}");
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

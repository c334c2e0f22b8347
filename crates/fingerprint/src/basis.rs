//! A fleet's fingerprint basis (robust scaler, PCA and autoencoder) fitted once on a fleet's window
//! features and applied unchanged to later fleets, so that the vectors of different runs live in
//! one space and can be compared.

use crate::features::features_validated;
use crate::fleet::FLEET_MODEL_VERSION;
use crate::{
    Autoencoder, FeatureVector, FingerprintConfig, FingerprintError, FleetFingerprints, FleetModel,
    Pca, PcaTarget, RobustScaler, WorkloadInput,
};
use prescale_core::WorkloadId;
use std::collections::{BTreeSet, HashMap};

/// The raw window features of a fleet, computed once: to fit a basis on, to apply one to, and to
/// tell whether a stored basis still names the fleet's features.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetFeatures {
    /// Per workload, in input order.
    pub raw: Vec<(WorkloadId, FeatureVector)>,
    /// The sorted union of every workload's feature names.
    pub names: Vec<String>,
}

impl FleetFeatures {
    /// Features of every workload of `inputs` (at least one; distinct ids; metric sets may differ).
    pub fn of(
        inputs: &[WorkloadInput],
        cfg: &FingerprintConfig,
    ) -> Result<FleetFeatures, FingerprintError> {
        cfg.validate()?;
        if inputs.is_empty() {
            return Err(FingerprintError::TooFew { need: 1, got: 0 });
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
        Ok(FleetFeatures::from_raw(raw))
    }

    /// Already computed per-workload features (e.g. rows gathered from other instances), with
    /// `names` the sorted union of theirs.
    pub fn from_raw(raw: Vec<(WorkloadId, FeatureVector)>) -> FleetFeatures {
        let names = raw
            .iter()
            .flat_map(|(_, fv)| fv.names.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        FleetFeatures { raw, names }
    }
}

/// `fv`'s values in the order of `names`; a feature `fv` lacks is imputed at its median (`center`),
/// a feature `names` lacks is ignored.
fn aligned(names: &[String], center: &[f64], fv: &FeatureVector) -> Vec<f64> {
    let by_name: HashMap<&str, f64> = fv
        .names
        .iter()
        .map(String::as_str)
        .zip(fv.values.iter().copied())
        .collect();
    names
        .iter()
        .zip(center)
        .map(|(name, median)| by_name.get(name.as_str()).copied().unwrap_or(*median))
        .collect()
}

impl FleetModel {
    /// Fits a basis on a fleet of at least two workloads: the scaler on each feature's present
    /// values, PCA and the autoencoder on the scaled rows. `fitted_at` is left for the caller (this
    /// crate has no clock and no notion of data time).
    pub fn fit(
        features: &FleetFeatures,
        cfg: &FingerprintConfig,
    ) -> Result<FleetModel, FingerprintError> {
        cfg.validate()?;
        if features.raw.len() < 2 {
            return Err(FingerprintError::TooFew {
                need: 2,
                got: features.raw.len(),
            });
        }
        let column: HashMap<&str, usize> = features
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let sparse: Vec<Vec<Option<f64>>> = features
            .raw
            .iter()
            .map(|(_, fv)| {
                let mut row = vec![None; features.names.len()];
                for (name, v) in fv.names.iter().zip(&fv.values) {
                    if let Some(&j) = column.get(name.as_str()) {
                        row[j] = Some(*v);
                    }
                }
                row
            })
            .collect();
        let scaler = RobustScaler::fit_sparse(&sparse)?;
        let scaled: Vec<Vec<f64>> = features
            .raw
            .iter()
            .map(|(_, fv)| scaler.transform(&aligned(&features.names, &scaler.center, fv)))
            .collect::<Result<_, _>>()?;
        let target = match cfg.components {
            Some(c) => PcaTarget::Components(c),
            None => PcaTarget::VarianceShare(cfg.variance_target),
        };
        let pca = Pca::fit(&scaled, target)?;
        let code = cfg
            .autoencoder
            .code
            .or(cfg.components)
            .unwrap_or(pca.kept.clamp(2, 8));
        let autoencoder = Autoencoder::fit(&scaled, code, &cfg.autoencoder)?;
        Ok(FleetModel {
            version: FLEET_MODEL_VERSION,
            feature_names: features.names.clone(),
            scaler,
            pca,
            autoencoder: Some(autoencoder),
            config: cfg.clone(),
            fitted_at: None,
        })
    }

    /// Applies this basis, unchanged, to a fleet whose features were computed with this basis'
    /// configuration: every workload's vector, map position and anomaly score. The same features
    /// give the same vectors whichever run they are applied in.
    pub fn apply(&self, features: &FleetFeatures) -> Result<FleetFingerprints, FingerprintError> {
        let n = features.raw.len();
        let mut vectors = Vec::with_capacity(n);
        let mut map2d = Vec::with_capacity(n);
        let mut reconstruction_error = Vec::with_capacity(n);
        for (id, fv) in &features.raw {
            let row = self.scaled(fv)?;
            vectors.push((id.clone(), self.reduce(&row)?));
            map2d.push((id.clone(), self.pca.transform2(&row)?));
            if let Some(e) = self.error_of(&row)? {
                reconstruction_error.push((id.clone(), e));
            }
        }
        let kept = vectors.first().map_or(0, |(_, v)| v.len());
        Ok(FleetFingerprints {
            model: self.clone(),
            reducer: self.reducer(),
            vectors,
            explained_variance: self.pca.explained_variance_ratio.clone(),
            kept,
            map2d,
            reconstruction_error,
            raw: features.raw.clone(),
        })
    }

    /// `fv` as this basis sees it, one value per [`FleetModel::feature_names`]: robust-scaled
    /// (`asinh` of the clipped `(x − median) / IQR`), a feature `fv` lacks at 0 (the median), one
    /// the basis does not name ignored.
    pub fn scaled(&self, fv: &FeatureVector) -> Result<Vec<f64>, FingerprintError> {
        self.scaler
            .transform(&aligned(&self.feature_names, &self.scaler.center, fv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fingerprint_fleet, MetricInput, Reducer};
    use prescale_core::MetricName;

    fn workload(id: &str, level: f64, period: usize) -> WorkloadInput {
        let mut seed = level.to_bits() ^ period as u64;
        WorkloadInput {
            workload: WorkloadId::new(id).unwrap(),
            metrics: vec![MetricInput {
                metric: MetricName::new("cpu").unwrap(),
                values: (0..400)
                    .map(|i| {
                        level
                            + level * 0.3 * ((i % period) as f64 / period as f64)
                            + crate::testutil::uniform(&mut seed)
                    })
                    .collect(),
            }],
        }
    }

    fn cfg() -> FingerprintConfig {
        FingerprintConfig {
            windows: vec![12, 96],
            max_period: 96,
            reducer: Reducer::Pca,
            ..Default::default()
        }
    }

    fn fleet() -> Vec<WorkloadInput> {
        vec![
            workload("a", 10.0, 24),
            workload("b", 50.0, 48),
            workload("c", 20.0, 12),
            workload("d", 80.0, 24),
        ]
    }

    #[test]
    fn fit_then_apply_is_fingerprint_fleet() {
        let inputs = fleet();
        let whole = fingerprint_fleet(&inputs, &cfg()).unwrap();
        let features = FleetFeatures::of(&inputs, &cfg()).unwrap();
        let model = FleetModel::fit(&features, &cfg()).unwrap();
        assert_eq!(model, whole.model);
        assert_eq!(model.apply(&features).unwrap(), whole);
    }

    #[test]
    fn a_basis_applied_to_a_changed_fleet_keeps_the_others_vectors() {
        let inputs = fleet();
        let features = FleetFeatures::of(&inputs, &cfg()).unwrap();
        let model = FleetModel::fit(&features, &cfg()).unwrap();
        let before = model.apply(&features).unwrap();
        // One workload changes and one leaves: the basis is not refitted, so the others keep
        // their vectors exactly.
        let mut later = inputs.clone();
        later[1] = workload("b", 500.0, 12);
        later.pop();
        let after = model
            .apply(&FleetFeatures::of(&later, &cfg()).unwrap())
            .unwrap();
        assert_eq!(after.model, model);
        assert_eq!(after.vectors[0], before.vectors[0]);
        assert_eq!(after.vectors[2], before.vectors[2]);
        assert_ne!(after.vectors[1], before.vectors[1]);
        // A refit on the changed fleet is another basis.
        let refit = FleetModel::fit(&FleetFeatures::of(&later, &cfg()).unwrap(), &cfg()).unwrap();
        assert_ne!(refit.scaler, model.scaler);
    }

    #[test]
    fn scaled_names_every_basis_feature_and_imputes_missing_ones() {
        let features = FleetFeatures::of(&fleet(), &cfg()).unwrap();
        let model = FleetModel::fit(&features, &cfg()).unwrap();
        let fv = &features.raw[0].1;
        let row = model.scaled(fv).unwrap();
        assert_eq!(row.len(), model.feature_names.len());
        let empty = FeatureVector {
            names: vec!["disk.w12.mean".into()],
            values: vec![3.0],
        };
        assert!(model.scaled(&empty).unwrap().iter().all(|v| *v == 0.0));
    }

    #[test]
    fn bad_fleets_are_refused() {
        assert!(matches!(
            FleetFeatures::of(&[], &cfg()),
            Err(FingerprintError::TooFew { need: 1, got: 0 })
        ));
        let one = FleetFeatures::of(&fleet()[..1], &cfg()).unwrap();
        assert!(matches!(
            FleetModel::fit(&one, &cfg()),
            Err(FingerprintError::TooFew { need: 2, got: 1 })
        ));
        let dup = vec![fleet()[0].clone(), fleet()[0].clone()];
        assert!(matches!(
            FleetFeatures::of(&dup, &cfg()),
            Err(FingerprintError::DuplicateWorkload { .. })
        ));
    }
}

//! Fingerprints of the whole stored fleet as one run: features → scaling → PCA or an autoencoder, with
//! each workload's anomaly score, saved in the store. The scaling and reducer (the basis) are the
//! stored run's, reused, unless a refit is asked for or needed (see `basis.rs`).

use crate::basis::{choose, BasisInfo, BasisPolicy, Chosen};
use crate::inputs::load_inputs_for_windows;
use crate::LearnError;
use prescale_core::{Fingerprint, Interval, Timestamp};
use prescale_fingerprint::{
    FingerprintConfig, FleetFeatures, FleetFingerprints, FleetModel, Reducer,
};
use prescale_store::{basis_id, FingerprintRun, Store};

/// Longest seasonal period the features look for.
const MAX_PERIOD_SECS: i64 = 7 * 86_400;

/// How to fingerprint the stored fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintOptions {
    /// Fingerprint as of this time (only samples at or before it); `None`: the newest sample.
    pub at: Option<Timestamp>,
    /// Sliding windows as durations (converted to samples at the fleet's interval).
    pub windows: Vec<Interval>,
    /// Keep components explaining at least this share of variance.
    pub variance: f64,
    /// Keep exactly this many PCA components instead (also the autoencoder's code size).
    pub components: Option<usize>,
    /// PCA components or the autoencoder's code as the fingerprint vectors.
    pub reducer: Reducer,
    /// Wall time recorded as the run's creation time (the caller owns the clock).
    pub created: Timestamp,
    /// When the stored basis is reused and when a new one is fitted.
    pub basis: BasisPolicy,
}

impl Default for FingerprintOptions {
    /// Windows of 1 h, 1 d and 1 w; 95 % of variance; the default reducer; created at `Timestamp(0)`;
    /// the default basis policy.
    fn default() -> Self {
        let hours = |h: i64| Interval::from_secs(h * 3600);
        FingerprintOptions {
            at: None,
            windows: [hours(1), hours(24), hours(168)]
                .into_iter()
                .flatten()
                .collect(),
            variance: 0.95,
            components: None,
            reducer: Reducer::DEFAULT,
            created: Timestamp(0),
            basis: BasisPolicy::default(),
        }
    }
}

/// A saved fingerprint run: its store id, the stored record, the fleet (basis, raw features) and
/// whether the basis was reused.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintReport {
    pub run_id: i64,
    pub run: FingerprintRun,
    pub fleet: FleetFingerprints,
    pub basis: BasisInfo,
}

/// The fingerprint configuration for `windows` at the sampling `interval`, validated.
pub fn fingerprint_config(
    windows: &[Interval],
    interval: Interval,
    variance: f64,
    components: Option<usize>,
) -> Result<FingerprintConfig, LearnError> {
    let week = Interval::from_secs(MAX_PERIOD_SECS).unwrap_or(interval);
    let cfg = FingerprintConfig {
        windows: windows.iter().map(|w| interval.steps_in(*w)).collect(),
        max_period: interval.steps_in(week),
        variance_target: variance,
        components,
        ..FingerprintConfig::default()
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The raw window features of every workload of the store with 8+ samples, as of `opts.at` (or the
/// newest sample), with the fleet's sampling interval: what [`fingerprint_features`] fingerprints,
/// and what an instance of a scaled-out fleet publishes for the elected one to merge.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreFeatures {
    pub features: FleetFeatures,
    pub interval: Interval,
    pub as_of: Timestamp,
}

/// The features of the stored fleet (at least `need` workloads with enough history).
pub fn store_features(
    store: &Store,
    opts: &FingerprintOptions,
    need: usize,
) -> Result<StoreFeatures, LearnError> {
    let inputs = load_inputs_for_windows(store, opts.at, &opts.windows)?;
    if inputs.workloads.len() < need {
        return Err(LearnError::TooFewWorkloads {
            need,
            found: inputs.workloads.len(),
            when: if opts.at.is_some() {
                " before --at"
            } else {
                ""
            },
        });
    }
    let interval = inputs.interval.ok_or(LearnError::NoInterval)?;
    let cfg = options_config(opts, interval)?;
    Ok(StoreFeatures {
        features: FleetFeatures::of(&inputs.workloads, &cfg)?,
        interval,
        as_of: inputs.as_of,
    })
}

fn options_config(
    opts: &FingerprintOptions,
    interval: Interval,
) -> Result<FingerprintConfig, LearnError> {
    Ok(FingerprintConfig {
        reducer: opts.reducer,
        ..fingerprint_config(&opts.windows, interval, opts.variance, opts.components)?
    })
}

/// Fingerprints every workload with 8+ samples (at least two needed) in the stored basis (or a new
/// one, see [`BasisPolicy`]) and saves the run.
pub fn fingerprint_store(
    store: &mut Store,
    opts: &FingerprintOptions,
) -> Result<FingerprintReport, LearnError> {
    let fleet = store_features(store, opts, 2)?;
    fingerprint_features(store, &fleet, opts)
}

/// Fingerprints `fleet` (computed here or merged from several stores' [`store_features`]) in the
/// stored basis (or a new one, see [`BasisPolicy`]) and saves the run in `store`.
pub fn fingerprint_features(
    store: &mut Store,
    fleet: &StoreFeatures,
    opts: &FingerprintOptions,
) -> Result<FingerprintReport, LearnError> {
    if fleet.features.raw.len() < 2 {
        return Err(LearnError::TooFewWorkloads {
            need: 2,
            found: fleet.features.raw.len(),
            when: "",
        });
    }
    let cfg = options_config(opts, fleet.interval)?;
    let (features, as_of) = (&fleet.features, fleet.as_of);
    let (model, model_json, refit) = match choose(store, &opts.basis, &cfg, &features.names, as_of)?
    {
        Chosen::Reuse { model, model_json } => (*model, model_json, None),
        Chosen::Refit(reason) => {
            let model = FleetModel {
                fitted_at: Some(as_of),
                ..FleetModel::fit(features, &cfg)?
            };
            let json = serde_json::to_string(&model).map_err(|source| LearnError::Json {
                context: "serializing the fingerprint model",
                source,
            })?;
            (model, json, Some(reason))
        }
    };
    let fleet = model.apply(features)?;
    let basis = BasisInfo {
        id: basis_id(&model_json),
        fitted_at: model.fitted_at,
        refit,
    };
    let run = FingerprintRun {
        at: as_of,
        created: opts.created,
        model_json,
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
        reconstruction_error: fleet.reconstruction_error.clone(),
    };
    let run_id = store.save_fingerprint_run(&run)?;
    Ok(FingerprintReport {
        run_id,
        run,
        fleet,
        basis,
    })
}

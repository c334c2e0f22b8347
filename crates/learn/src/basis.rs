//! The fingerprint basis a run uses: the stored one (the last saved run's scaler, PCA and
//! autoencoder), reused unchanged so that vectors of different runs are comparable, unless a refit
//! is asked for or needed.
//!
//! A run fits a new basis when
//! - asked to (`prescale fingerprint --refit`, [`BasisPolicy::refit`]);
//! - none is stored, or the stored one cannot be read (from a newer prescale, or damaged), or it
//!   predates fixed bases (no `fitted_at`);
//! - the fingerprint settings differ from the basis' (windows, variance or components, reducer, ...,
//!   also a changed sampling interval, which changes the windows in samples);
//! - the fleet's feature names differ from the basis' (a metric appeared or went fleet-wide);
//! - the basis was fitted on data [`BasisPolicy::max_age`] (default 30 days) or more older than the
//!   run's, measured in data time (so `--at` runs back in time reuse it).
//!
//! A new workload, or a workload that changed, does not refit the basis: it is projected into it.

use crate::LearnError;
use prescale_core::{Interval, Timestamp};
use prescale_fingerprint::{FingerprintConfig, FleetModel};
use prescale_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Age in days at which a basis is refit by default: a month of comparable history, and a basis
/// that follows the fleet's make-up month by month.
pub const DEFAULT_MAX_AGE_DAYS: i64 = 30;

/// When a fingerprint run may reuse the stored basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisPolicy {
    /// Fit a new basis even when the stored one still fits.
    pub refit: bool,
    /// Refit once the stored basis was fitted on data this much older than the run's; `None`:
    /// never for age.
    pub max_age: Option<Interval>,
}

impl Default for BasisPolicy {
    /// Reuse; refit after [`DEFAULT_MAX_AGE_DAYS`].
    fn default() -> Self {
        BasisPolicy {
            refit: false,
            max_age: Interval::from_secs(DEFAULT_MAX_AGE_DAYS * 86_400),
        }
    }
}

/// Why a run fitted a new basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RefitReason {
    /// Asked for (`--refit`).
    Requested,
    /// No fingerprint run is stored yet.
    NoBasis,
    /// The stored model could not be used.
    Unreadable { error: String },
    /// The stored model predates fixed bases (it has no `fitted_at`).
    Legacy,
    /// The fingerprint settings differ from the basis'.
    SettingsChanged,
    /// The fleet's feature names differ from the basis' (counts of names added and removed).
    FeaturesChanged { added: usize, removed: usize },
    /// The basis was fitted on data `age_ms` older than the run's, at least the policy's maximum.
    Expired { fitted_at: Timestamp, age_ms: i64 },
}

impl std::fmt::Display for RefitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefitReason::Requested => f.write_str("refit requested"),
            RefitReason::NoBasis => f.write_str("no basis stored yet"),
            RefitReason::Unreadable { error } => write!(f, "the stored basis is unusable: {error}"),
            RefitReason::Legacy => f.write_str("the stored model predates fixed bases"),
            RefitReason::SettingsChanged => {
                f.write_str("the fingerprint settings differ from the basis'")
            }
            RefitReason::FeaturesChanged { added, removed } => write!(
                f,
                "the fleet's features changed ({added} new, {removed} gone)"
            ),
            RefitReason::Expired { age_ms, .. } => write!(
                f,
                "the basis was fitted on data {:.1} days older",
                *age_ms as f64 / 86_400_000.0
            ),
        }
    }
}

/// The basis a run used, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasisInfo {
    /// Content id of the basis (`prescale_store::basis_id` of its model text).
    pub id: String,
    /// Data time of the fleet it was fitted on.
    pub fitted_at: Option<Timestamp>,
    /// `None`: the stored basis was reused; otherwise why this run fitted a new one.
    pub refit: Option<RefitReason>,
}

/// What a run does about its basis.
#[derive(Debug)]
pub(crate) enum Chosen {
    /// Reuse the stored model; `model_json` is its stored text, saved again unchanged.
    Reuse {
        model: Box<FleetModel>,
        model_json: String,
    },
    Refit(RefitReason),
}

/// A stored model text read and checked: one from a newer prescale (or a damaged one) is refused
/// with the reason.
pub fn read_model(model_json: &str) -> Result<FleetModel, LearnError> {
    let model: FleetModel =
        serde_json::from_str(model_json).map_err(|source| LearnError::Json {
            context: "reading the stored fingerprint model",
            source,
        })?;
    model.check()?;
    Ok(model)
}

/// Whether a run as of `as_of` with settings `cfg` over features `names` reuses the stored basis.
pub(crate) fn choose(
    store: &Store,
    policy: &BasisPolicy,
    cfg: &FingerprintConfig,
    names: &[String],
    as_of: Timestamp,
) -> Result<Chosen, LearnError> {
    if policy.refit {
        return Ok(Chosen::Refit(RefitReason::Requested));
    }
    let Some(stored) = store.current_basis()? else {
        return Ok(Chosen::Refit(RefitReason::NoBasis));
    };
    let model = match read_model(&stored.model_json) {
        Ok(m) => m,
        Err(e) => {
            return Ok(Chosen::Refit(RefitReason::Unreadable {
                error: e.to_string(),
            }))
        }
    };
    let reason = refit_reason(&model, policy, cfg, names, as_of);
    Ok(match reason {
        Some(r) => Chosen::Refit(r),
        None => Chosen::Reuse {
            model: Box::new(model),
            model_json: stored.model_json,
        },
    })
}

/// Why `model` cannot serve a run as of `as_of` with `cfg` over `names`; `None` when it can.
fn refit_reason(
    model: &FleetModel,
    policy: &BasisPolicy,
    cfg: &FingerprintConfig,
    names: &[String],
    as_of: Timestamp,
) -> Option<RefitReason> {
    let Some(fitted_at) = model.fitted_at else {
        return Some(RefitReason::Legacy);
    };
    if &model.config != cfg {
        return Some(RefitReason::SettingsChanged);
    }
    if model.feature_names != names {
        let old: BTreeSet<&String> = model.feature_names.iter().collect();
        let new: BTreeSet<&String> = names.iter().collect();
        return Some(RefitReason::FeaturesChanged {
            added: new.difference(&old).count(),
            removed: old.difference(&new).count(),
        });
    }
    let age_ms = as_of.0.saturating_sub(fitted_at.0);
    match policy.max_age {
        Some(max) if age_ms >= max.millis() => Some(RefitReason::Expired { fitted_at, age_ms }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{MetricName, WorkloadId};
    use prescale_fingerprint::{FleetFeatures, MetricInput, WorkloadInput};

    fn cfg() -> FingerprintConfig {
        FingerprintConfig {
            windows: vec![12, 48],
            max_period: 48,
            ..Default::default()
        }
    }

    fn basis(fitted_at: Option<i64>) -> (FleetModel, Vec<String>) {
        let inputs: Vec<WorkloadInput> = (0..3)
            .map(|i| WorkloadInput {
                workload: WorkloadId::new(format!("w{i}")).unwrap(),
                metrics: vec![MetricInput {
                    metric: MetricName::new("cpu").unwrap(),
                    values: (0..100).map(|t| ((t * (i + 2)) % 17) as f64).collect(),
                }],
            })
            .collect();
        let features = FleetFeatures::of(&inputs, &cfg()).unwrap();
        let model = FleetModel {
            fitted_at: fitted_at.map(Timestamp),
            ..FleetModel::fit(&features, &cfg()).unwrap()
        };
        (model, features.names)
    }

    #[test]
    fn each_reason_to_refit_is_named() {
        let (model, names) = basis(Some(1_000));
        let policy = BasisPolicy::default();
        let day = 86_400_000;
        let reason = |m: &FleetModel, p: &BasisPolicy, c: &FingerprintConfig, n: &[String], at| {
            refit_reason(m, p, c, n, Timestamp(at))
        };
        assert_eq!(reason(&model, &policy, &cfg(), &names, 1_000 + day), None);
        // Back in time: still the same basis.
        assert_eq!(reason(&model, &policy, &cfg(), &names, 0), None);
        assert_eq!(
            reason(&model, &policy, &cfg(), &names, 1_000 + 30 * day),
            Some(RefitReason::Expired {
                fitted_at: Timestamp(1_000),
                age_ms: 30 * day
            })
        );
        let forever = BasisPolicy {
            max_age: None,
            ..policy
        };
        assert_eq!(
            reason(&model, &forever, &cfg(), &names, 1_000 + 300 * day),
            None
        );
        let other = FingerprintConfig {
            windows: vec![12, 96],
            ..cfg()
        };
        assert_eq!(
            reason(&model, &policy, &other, &names, 1_000),
            Some(RefitReason::SettingsChanged)
        );
        let mut more = names.clone();
        more.push("zz.new".into());
        more.remove(0);
        assert_eq!(
            reason(&model, &policy, &cfg(), &more, 1_000),
            Some(RefitReason::FeaturesChanged {
                added: 1,
                removed: 1
            })
        );
        let (legacy, _) = basis(None);
        assert_eq!(
            reason(&legacy, &policy, &cfg(), &names, 1_000),
            Some(RefitReason::Legacy)
        );
        assert!(RefitReason::Expired {
            fitted_at: Timestamp(0),
            age_ms: 45 * day / 2
        }
        .to_string()
        .contains("22.5 days"));
    }

    #[test]
    fn a_store_without_runs_needs_a_basis() {
        let store = Store::open_in_memory().unwrap();
        let (_, names) = basis(Some(0));
        let chosen = choose(
            &store,
            &BasisPolicy::default(),
            &cfg(),
            &names,
            Timestamp(0),
        );
        assert!(matches!(chosen, Ok(Chosen::Refit(RefitReason::NoBasis))));
        let asked = BasisPolicy {
            refit: true,
            ..BasisPolicy::default()
        };
        assert!(matches!(
            choose(&store, &asked, &cfg(), &names, Timestamp(0)),
            Ok(Chosen::Refit(RefitReason::Requested))
        ));
    }
}

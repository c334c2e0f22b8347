//! The instance type by measured cost per unit of work (PARIS/Quasar style): for each catalogue
//! type, the capacity one replica serves there, from the best evidence there is, then the replicas
//! the need takes and their hourly cost; the cheapest wins.
//!
//! Evidence, best first:
//! - **measured**: the workload itself was measured on the type;
//! - **borrowed**: similar workloads (its cluster) were: the workload's own measurement elsewhere
//!   times their median speed on the type relative to that environment (when they ran on both),
//!   else their median line on the type;
//! - **catalogue**: nobody ran on the type: the best measurement's CPU per unit of demand carried
//!   to the type's vCPU (catalogue size alone).
//!
//! One replica per instance: a replica has the type's vCPU and serves `(vcpu·u − base) / per_unit`
//! at utilisation target `u`; memory, when given, is split evenly over the replicas and must fit.

use super::{CapacityFit, EnvironmentError, Measurement};
use prescale_math::median;
pub use prescale_policy::instances::CapacitySource;
use prescale_policy::instances::{InstanceCatalogue, InstanceType, TypeSpeed};
use serde::{Deserialize, Serialize};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What the workload needs served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Need {
    /// Total demand to serve (with any headroom already added).
    pub demand: f64,
    /// Total memory (bytes), split over the replicas; `None`: not checked.
    pub memory_bytes: Option<f64>,
    /// Share of a replica's vCPU it may use (0 < u ≤ 1).
    pub utilization: f64,
    pub min_replicas: u32,
}

impl Need {
    /// Demand and memory finite and at least 0, utilisation in (0, 1], at least one replica.
    pub fn validate(&self) -> Result<(), EnvironmentError> {
        let bad = |what, value: f64, reason| {
            Err(EnvironmentError::BadInput {
                what,
                value,
                reason,
            })
        };
        if !(self.demand.is_finite() && self.demand >= 0.0) {
            return bad("demand", self.demand, "must be finite and at least 0");
        }
        if let Some(m) = self.memory_bytes {
            if !(m.is_finite() && m >= 0.0) {
                return bad("memory", m, "must be finite and at least 0");
            }
        }
        if !(self.utilization.is_finite() && self.utilization > 0.0 && self.utilization <= 1.0) {
            return bad("utilization target", self.utilization, "must lie in (0, 1]");
        }
        if self.min_replicas == 0 {
            return bad("min replicas", 0.0, "must be at least 1");
        }
        Ok(())
    }
}

/// One catalogue type's cost for the need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceCost {
    pub instance: InstanceType,
    pub source: CapacitySource,
    /// How the capacity was arrived at, in words.
    pub basis: String,
    /// Units of demand one more core serves there.
    pub demand_per_core: f64,
    /// Demand one replica (one instance) serves at the utilisation target.
    pub capacity_per_replica: f64,
    pub replicas: u32,
    /// `replicas × hourly price`.
    pub hourly_cost: f64,
    /// `hourly price / capacity per replica`: the price of serving one unit of demand for an hour.
    pub cost_per_unit: f64,
    /// Observations behind the figure (summed over the workloads it came from).
    pub observations: usize,
    /// The measurement's relative standard error (measured figures only).
    pub relative_error: Option<f64>,
}

/// A type that cannot serve the need, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unfit {
    pub instance: String,
    pub reason: String,
}

/// The types costed for a need, cheapest first, and those that cannot serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentChoice {
    pub need: Need,
    /// The cheapest in hourly cost (ties: cost per unit, then name).
    pub chosen: Option<InstanceCost>,
    pub candidates: Vec<InstanceCost>,
    pub unfit: Vec<Unfit>,
}

/// Costs every type of a validated `catalogue` for `need` from the workload's own measurements (`own`) and
/// similar workloads' (`peers`); at least one measurement is needed.
pub fn choose_by_cost(
    catalogue: &InstanceCatalogue,
    own: &[Measurement],
    peers: &[Measurement],
    need: &Need,
) -> Result<EnvironmentChoice, EnvironmentError> {
    need.validate()?;
    let best = |list: &[Measurement]| list.iter().max_by_key(|m| m.fit.observations).cloned();
    let own_best = best(own);
    // What a type nobody ran on is sized from: the workload's own line, else the peers' median.
    let reference = match (&own_best, peers) {
        (Some(r), _) => (
            r.fit.clone(),
            format!("{}'s CPU per unit in {}", r.workload, r.environment),
        ),
        (None, []) => {
            return Err(EnvironmentError::NothingMeasured {
                what: "the workload or any similar one".into(),
            })
        }
        (None, peers) => {
            let all: Vec<&Measurement> = peers.iter().collect();
            (
                median_fit(&all),
                format!(
                    "the median CPU per unit of similar workloads ({})",
                    names(&all)
                ),
            )
        }
    };
    let mut candidates = Vec::new();
    let mut unfit = Vec::new();
    for t in &catalogue.instances {
        let on_t = |list: &[Measurement]| -> Vec<Measurement> {
            list.iter()
                .filter(|m| {
                    m.environment
                        .catalogue_type(catalogue)
                        .is_some_and(|c| c.name == t.name)
                })
                .cloned()
                .collect()
        };
        let (own_t, peers_t) = (on_t(own), on_t(peers));
        let (fit, source, basis, observations, relative_error) = if let Some(m) = best(&own_t) {
            let basis = format!("{} measured on {}", m.workload, t.name);
            (
                m.fit.clone(),
                CapacitySource::Measured,
                basis,
                m.fit.observations,
                Some(m.fit.relative_error),
            )
        } else if !peers_t.is_empty() {
            borrowed(t, own_best.as_ref(), &peers_t, peers)
        } else {
            let (fit, from) = &reference;
            let basis = format!(
                "no measurement on {}: {from} carried to its {} vCPU",
                t.name, t.vcpu
            );
            (
                fit.clone(),
                CapacitySource::Catalogue,
                basis,
                fit.observations,
                None,
            )
        };
        let Some(capacity) = fit.per_replica(t.vcpu, need.utilization) else {
            unfit.push(Unfit {
                instance: t.name.clone(),
                reason: format!(
                    "one replica's idle CPU ({:.3} cores, {}) takes all of {} vCPU × {}",
                    fit.base_cores,
                    source.as_str(),
                    t.vcpu,
                    need.utilization
                ),
            });
            continue;
        };
        let by_demand = (need.demand / capacity).ceil();
        let by_memory = need
            .memory_bytes
            .map_or(0.0, |m| (m / (t.memory_gib * GIB)).ceil());
        let replicas = by_demand.max(by_memory).max(f64::from(need.min_replicas));
        if replicas > f64::from(u32::MAX) {
            unfit.push(Unfit {
                instance: t.name.clone(),
                reason: format!("would need {replicas:.0} replicas"),
            });
            continue;
        }
        let replicas = replicas as u32;
        candidates.push(InstanceCost {
            instance: t.clone(),
            source,
            basis: if by_memory > by_demand.max(f64::from(need.min_replicas)) {
                format!("{basis}; memory takes {replicas} replicas")
            } else {
                basis
            },
            demand_per_core: fit.demand_per_core(),
            capacity_per_replica: capacity,
            replicas,
            hourly_cost: f64::from(replicas) * t.hourly_price,
            cost_per_unit: t.hourly_price / capacity,
            observations,
            relative_error,
        });
    }
    candidates.sort_by(|a, b| {
        a.hourly_cost
            .total_cmp(&b.hourly_cost)
            .then(a.cost_per_unit.total_cmp(&b.cost_per_unit))
            .then(a.instance.name.cmp(&b.instance.name))
    });
    Ok(EnvironmentChoice {
        need: need.clone(),
        chosen: candidates.first().cloned(),
        candidates,
        unfit,
    })
}

impl EnvironmentChoice {
    /// Each costed type's work per core over `own`'s (the workload where it runs now): what the
    /// control step's instance choice scales a measured CPU request by.
    pub fn speeds_over(&self, own: &Measurement) -> Vec<TypeSpeed> {
        let here = own.fit.demand_per_core();
        self.candidates
            .iter()
            .map(|c| TypeSpeed {
                instance: c.instance.name.clone(),
                speed: c.demand_per_core / here,
                source: c.source,
                basis: c.basis.clone(),
            })
            .collect()
    }
}

/// The capacity on `t` from similar workloads measured there (`peers_t`): the workload's own
/// best measurement times the speed of `t` over its environment (the median units per core of the
/// peers on `t` over that of the peers in the workload's environment), when some peer ran there;
/// else the peers' median line on `t`.
fn borrowed(
    t: &InstanceType,
    own_best: Option<&Measurement>,
    peers_t: &[Measurement],
    peers: &[Measurement],
) -> (CapacityFit, CapacitySource, String, usize, Option<f64>) {
    let per_core = |list: &[&Measurement]| {
        median(
            &list
                .iter()
                .map(|m| m.fit.demand_per_core())
                .collect::<Vec<_>>(),
        )
    };
    let on_t: Vec<&Measurement> = peers_t.iter().collect();
    let t_observations: usize = on_t.iter().map(|m| m.fit.observations).sum();
    if let Some(r) = own_best {
        let there: Vec<&Measurement> = peers
            .iter()
            .filter(|p| p.environment == r.environment)
            .collect();
        if let (Some(a), Some(b)) = (per_core(&on_t), per_core(&there)) {
            let speed = a / b;
            let basis = format!(
                "{} in {} × {speed:.2}: similar workloads serve {a:.2} per core on {} ({}) and {b:.2} there ({})",
                r.workload,
                r.environment,
                t.name,
                names(&on_t),
                names(&there)
            );
            let observations = r.fit.observations
                + t_observations
                + there.iter().map(|m| m.fit.observations).sum::<usize>();
            return (
                r.fit.scaled(speed),
                CapacitySource::Borrowed,
                basis,
                observations,
                None,
            );
        }
    }
    let fit = median_fit(&on_t);
    let basis = format!(
        "median of similar workloads measured on {}: {}",
        t.name,
        names(&on_t)
    );
    (fit, CapacitySource::Borrowed, basis, t_observations, None)
}

/// The workloads' names, comma-separated.
fn names(list: &[&Measurement]) -> String {
    list.iter()
        .map(|m| m.workload.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The median line of several measurements (each coefficient's median), their observations summed.
fn median_fit(list: &[&Measurement]) -> CapacityFit {
    let med = |f: fn(&CapacityFit) -> f64| {
        median(&list.iter().map(|m| f(&m.fit)).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    CapacityFit {
        base_cores: med(|f| f.base_cores),
        cores_per_unit: med(|f| f.cores_per_unit),
        observations: list.iter().map(|m| m.fit.observations).sum(),
        r_squared: med(|f| f.r_squared),
        relative_error: med(|f| f.relative_error),
    }
}

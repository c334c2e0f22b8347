//! Initial resources for a workload not yet started (or any workload): replicas, CPU and memory
//! requests and an instance type, from the p95 levels of the workloads it is like.
//!
//! Requests are for the whole workload: the members' p95 of p95s times `1 + headroom`, CPU rounded
//! up to millicores and memory to MiB. With a capacity per replica, replicas are
//! `ceil(p95 of p95s of demand × (1 + headroom) / capacity)` (at least `min_replicas`) and the
//! requests are also split per replica; the instance type is the cheapest that fits one replica
//! (or the whole workload without replicas).
//!
//! With a catalogue, the capacities the workload and its group's members were measured at in
//! their environments also cost every catalogue type by measured cost per unit of work
//! ([`crate::environment`]): `environment.choice` is the cheapest type for the p95 of p95s of
//! demand × (1 + headroom), each figure marked measured, borrowed or catalogue-only.

use crate::environment::{
    choose_by_cost, measure_environments, EnvironmentChoice, MeasureOptions, Measurement, Need,
    Skipped,
};
use crate::group::{nearest_group, Basis};
use crate::levels::{LevelStats, MemberLevel};
use crate::like::Like;
use crate::resources::{ResourceMetric, ResourceMetrics};
use crate::LearnError;
use prescale_core::{ClusterId, SeriesKey, WorkloadId};
use prescale_policy::instances::{InstanceCatalogue, InstanceType};
use prescale_store::{SeriesInfo, Store};
use serde::{Deserialize, Serialize};

const MIB: f64 = 1024.0 * 1024.0;

/// How to recommend.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendOptions {
    /// Clustering to use (`kmeans` or `dbscan`).
    pub algorithm: String,
    /// Share added on top of the p95 levels (0.2 = 20 %).
    pub headroom: f64,
    /// Demand one replica serves (in the demand metric's unit); no replica count without it.
    pub capacity_per_replica: Option<f64>,
    pub min_replicas: u32,
    pub resources: ResourceMetrics,
    /// Instance types to choose from; `None`: no instance suggestion.
    pub catalogue: Option<InstanceCatalogue>,
    /// Share of a replica's vCPU it may use when types are costed by measured capacity (0 < u ≤ 1).
    pub utilization: f64,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        RecommendOptions {
            algorithm: crate::clustering::KMEANS.to_string(),
            headroom: 0.2,
            capacity_per_replica: None,
            min_replicas: 1,
            resources: ResourceMetrics::default(),
            catalogue: None,
            utilization: 0.7,
        }
    }
}

/// One resource's request and the levels it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceAdvice {
    /// Whole-workload request: p95 of p95s × (1 + headroom), rounded up.
    pub request: f64,
    /// `request / replicas`, rounded up, when replicas are known.
    pub per_replica: Option<f64>,
    pub levels: LevelStats,
}

/// Replica count from demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaAdvice {
    pub replicas: u32,
    pub capacity_per_replica: f64,
    /// The demand level the count covers: p95 of the members' demand p95s.
    pub demand_p95: f64,
}

/// The suggested instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceAdvice {
    pub instance: InstanceType,
    /// One per replica (1 without replicas).
    pub count: u32,
    pub hourly_cost: f64,
}

/// Capacities learned per environment and the instance type by measured cost per unit of work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentAdvice {
    /// The workload's (with `--like WORKLOAD`) and its group's measured capacities.
    pub measurements: Vec<Measurement>,
    /// Workloads with some but not all of what a measurement needs, and why.
    pub skipped: Vec<Skipped>,
    /// `None` when nothing was measured or no member has a demand level (see `notes`).
    pub choice: Option<EnvironmentChoice>,
}

/// A recommendation with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub like: Like,
    pub algorithm: String,
    pub clustering_run: i64,
    /// `None` when the whole fleet stood in.
    pub cluster: Option<ClusterId>,
    pub basis: Basis,
    /// Members of the group (those with a usable metric appear in the levels).
    pub members: Vec<WorkloadId>,
    pub headroom: f64,
    /// CPU in cores.
    pub cpu: Option<ResourceAdvice>,
    /// Memory in bytes.
    pub memory: Option<ResourceAdvice>,
    /// Members' demand levels (whether or not a replica count was asked for).
    pub demand: Option<LevelStats>,
    pub replicas: Option<ReplicaAdvice>,
    /// The cheapest type one replica fits by catalogue size alone.
    pub instance: Option<InstanceAdvice>,
    /// Measured capacities and the type by cost per unit (with a catalogue).
    pub environment: Option<EnvironmentAdvice>,
    /// What could not be recommended and why.
    pub notes: Vec<String>,
}

/// Recommends initial resources for a workload like `like`.
pub fn recommend(
    store: &Store,
    like: &Like,
    opts: &RecommendOptions,
) -> Result<Recommendation, LearnError> {
    if !(opts.headroom.is_finite() && opts.headroom >= 0.0) {
        return Err(crate::error::invalid(
            "headroom",
            opts.headroom,
            "must be finite and >= 0",
        ));
    }
    if let Some(c) = opts.capacity_per_replica {
        if !(c.is_finite() && c > 0.0) {
            return Err(crate::error::invalid(
                "capacity per replica",
                c,
                "must be finite and > 0",
            ));
        }
    }
    if let Some(cat) = &opts.catalogue {
        cat.validate()?;
    }
    if !(opts.utilization.is_finite() && opts.utilization > 0.0 && opts.utilization <= 1.0) {
        return Err(crate::error::invalid(
            "utilization target",
            opts.utilization,
            "must lie in (0, 1]",
        ));
    }
    let group = nearest_group(store, like, &opts.algorithm)?;
    let infos = store.list_series()?;
    let stats = |list: &[ResourceMetric]| level_stats(store, &infos, &group.members, list);
    let (cpu, memory, demand) = (
        stats(&opts.resources.cpu)?,
        stats(&opts.resources.memory)?,
        stats(&opts.resources.demand)?,
    );
    let mut notes = Vec::new();
    let names = |list: &[ResourceMetric]| {
        list.iter()
            .map(|r| r.metric.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let grow = 1.0 + opts.headroom;
    let replicas = match (opts.capacity_per_replica, &demand) {
        (Some(cap), Some(d)) => Some(ReplicaAdvice {
            replicas: ((d.p95_of_p95s * grow / cap).ceil() as u32).max(opts.min_replicas),
            capacity_per_replica: cap,
            demand_p95: d.p95_of_p95s,
        }),
        (Some(_), None) => {
            notes.push(format!(
                "no replica count: no member has a demand metric ({})",
                names(&opts.resources.demand)
            ));
            None
        }
        (None, _) => None,
    };
    let n = replicas.as_ref().map(|r| r.replicas);
    let advice = |stats: Option<LevelStats>,
                  unit: f64,
                  what: &str,
                  list: &[ResourceMetric],
                  notes: &mut Vec<String>| {
        let Some(levels) = stats else {
            notes.push(format!("no {what} request: no member has {}", names(list)));
            return None;
        };
        let round = |x: f64| (x / unit).ceil() * unit;
        Some(ResourceAdvice {
            request: round(levels.p95_of_p95s * grow),
            per_replica: n.map(|n| round(levels.p95_of_p95s * grow / f64::from(n.max(1)))),
            levels,
        })
    };
    let cpu = advice(cpu, 0.001, "CPU", &opts.resources.cpu, &mut notes);
    let memory = advice(memory, MIB, "memory", &opts.resources.memory, &mut notes);
    let instance = match (&opts.catalogue, &cpu, &memory) {
        (Some(cat), Some(c), Some(m)) => {
            let (cores, bytes) = (
                c.per_replica.unwrap_or(c.request),
                m.per_replica.unwrap_or(m.request),
            );
            match cat.cheapest_fit(cores, bytes) {
                Some(i) => {
                    let count = n.unwrap_or(1);
                    Some(InstanceAdvice {
                        hourly_cost: i.hourly_price * f64::from(count),
                        instance: i.clone(),
                        count,
                    })
                }
                None => {
                    notes.push(format!(
                        "no instance type fits {cores:.3} cores and {:.0} MiB{}",
                        bytes / MIB,
                        if n.is_some() {
                            " per replica"
                        } else {
                            " (give a capacity per replica to split the workload)"
                        }
                    ));
                    None
                }
            }
        }
        (Some(_), _, _) => {
            notes.push("no instance type: needs both a CPU and a memory request".to_string());
            None
        }
        (None, _, _) => None,
    };
    let environment = match &opts.catalogue {
        Some(cat) => Some(environment_advice(
            store,
            like,
            &group.members,
            cat,
            opts,
            Need {
                demand: demand.as_ref().map_or(0.0, |d| d.p95_of_p95s * grow),
                memory_bytes: memory.as_ref().map(|m| m.request),
                utilization: opts.utilization,
                min_replicas: opts.min_replicas.max(1),
            },
            demand.is_some(),
            &mut notes,
        )?),
        None => None,
    };
    Ok(Recommendation {
        like: like.clone(),
        algorithm: group.algorithm,
        clustering_run: group.clustering_run,
        cluster: group.cluster,
        basis: group.basis,
        members: group.members,
        headroom: opts.headroom,
        cpu,
        memory,
        demand,
        replicas,
        instance,
        environment,
        notes,
    })
}

/// Measures the workload (with `--like WORKLOAD`) and the group's members and, with a demand
/// level, costs the catalogue's types for `need`.
#[allow(clippy::too_many_arguments)]
fn environment_advice(
    store: &Store,
    like: &Like,
    members: &[WorkloadId],
    catalogue: &InstanceCatalogue,
    opts: &RecommendOptions,
    need: Need,
    has_demand: bool,
    notes: &mut Vec<String>,
) -> Result<EnvironmentAdvice, LearnError> {
    let own_id = match like {
        Like::Workload(w) => Some(w),
        Like::Labels(_) => None,
    };
    let ids: Vec<WorkloadId> = own_id.into_iter().chain(members).cloned().collect();
    let measure = MeasureOptions {
        resources: opts.resources.clone(),
        ..MeasureOptions::default()
    };
    let report = measure_environments(store, &ids, &measure)?;
    let (own, peers): (Vec<Measurement>, Vec<Measurement>) = report
        .measurements
        .iter()
        .cloned()
        .partition(|m| Some(&m.workload) == own_id);
    let choice =
        if report.measurements.is_empty() {
            notes.push(format!(
            "no instance type by measured cost per unit: no member has demand and CPU series with \
             environment labels{}",
            if report.skipped.is_empty() {
                String::new()
            } else {
                format!(" ({} skipped, see environment.skipped)", report.skipped.len())
            }
        ));
            None
        } else if !has_demand {
            notes.push(
                "no instance type by measured cost per unit: no member has a demand level".into(),
            );
            None
        } else {
            Some(choose_by_cost(catalogue, &own, &peers, &need)?)
        };
    Ok(EnvironmentAdvice {
        measurements: report.measurements,
        skipped: report.skipped,
        choice,
    })
}

/// Levels of each member's first available metric of `list`, scaled; `None` when no member has one.
fn level_stats(
    store: &Store,
    infos: &[SeriesInfo],
    members: &[WorkloadId],
    list: &[ResourceMetric],
) -> Result<Option<LevelStats>, LearnError> {
    let mut levels = Vec::new();
    for w in members {
        let found = list.iter().find(|r| {
            infos
                .iter()
                .any(|i| &i.key.workload == w && i.key.metric == r.metric && i.samples > 0)
        });
        let Some(r) = found else { continue };
        let key = SeriesKey::new(w.clone(), r.metric.clone());
        if let Some(s) = store.load_series(&key)? {
            if let Some(l) = MemberLevel::of(w.clone(), r.metric.clone(), &s.values(), r.scale) {
                levels.push(l);
            }
        }
    }
    Ok(LevelStats::of(levels))
}

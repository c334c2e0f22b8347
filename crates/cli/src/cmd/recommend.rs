//! `prescale recommend`: initial replicas, CPU, memory and instance type for a workload like an
//! existing one (or like the workloads with some labels), from its cluster's levels; and the
//! instance type by measured cost per unit of work, from the capacities the workload and its
//! cluster were measured at in their environments.

use crate::output::{num, table};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use prescale_core::WorkloadId;
use prescale_learn::{
    parse_matchers, recommend, Basis, EnvironmentAdvice, InstanceCatalogue, LevelStats, Like,
    RecommendOptions, Recommendation, ResourceMetrics, DBSCAN, KMEANS,
};
use prescale_store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusteringArg {
    Kmeans,
    Dbscan,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("like_what").required(true).args(["like", "like_labels"])))]
pub struct RecommendArgs {
    /// An existing workload the new one will behave like (its cluster, or its nearest one).
    #[arg(long, value_name = "WORKLOAD")]
    pub like: Option<String>,
    /// Labels the new workload shares with existing ones (k=v,k2=v2): the cluster most of them are in.
    #[arg(long, value_name = "K=V,...")]
    pub like_labels: Option<String>,
    /// Demand one replica serves (demand metric's unit, e.g. req/s); gives a replica count.
    #[arg(long)]
    pub capacity_per_replica: Option<f64>,
    /// Headroom over the members' p95 levels (0.2 = 20 %).
    #[arg(long, default_value_t = 0.2)]
    pub headroom: f64,
    /// Fewest replicas to recommend.
    #[arg(long, default_value_t = 1)]
    pub min_replicas: u32,
    /// TOML instance catalogue (`[[instance]]` name, vcpu, memory_gib, hourly_price); default: a
    /// small built-in list with illustrative AWS prices.
    #[arg(long, value_name = "FILE.toml")]
    pub instance_types: Option<PathBuf>,
    /// Share of a replica's vCPU it may use when instance types are costed by measured capacity.
    #[arg(long, default_value_t = 0.7)]
    pub target_utilization: f64,
    /// Which clustering to use.
    #[arg(long, value_enum, default_value = "kmeans")]
    pub algorithm: ClusteringArg,
    /// Metric mapping overrides, e.g. `cpu=cpu_cores,memory=rss_bytes,demand=requests,replicas=pods`
    /// (`metric*scale` converts to cores / bytes). Default: cpu_cores or cpu; cgroup_memory_bytes,
    /// rss_bytes or memory (MiB); requests; replicas (else one replica is assumed).
    #[arg(long, value_name = "RES=METRIC,...")]
    pub metrics: Option<String>,
    /// Print the result as JSON on stdout instead of a table, nothing else there (times in Unix ms,
    /// each with an RFC 3339 `<field>_rfc3339` beside it).
    #[arg(long)]
    pub json: bool,
}

pub fn run(store: &Store, args: &RecommendArgs) -> Result<()> {
    let like = match (&args.like, &args.like_labels) {
        (Some(w), _) => Like::Workload(WorkloadId::new(w.as_str()).context("--like")?),
        (None, Some(l)) => Like::Labels(parse_matchers(l).context("--like-labels")?),
        (None, None) => anyhow::bail!("give --like WORKLOAD or --like-labels k=v,..."),
    };
    let catalogue = match &args.instance_types {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let cat: InstanceCatalogue =
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            cat.validate()
                .with_context(|| format!("checking {}", path.display()))?;
            cat
        }
        None => InstanceCatalogue::builtin(),
    };
    let resources = match &args.metrics {
        Some(spec) => ResourceMetrics::default()
            .with_overrides(spec)
            .context("--metrics")?,
        None => ResourceMetrics::default(),
    };
    let opts = RecommendOptions {
        algorithm: match args.algorithm {
            ClusteringArg::Kmeans => KMEANS,
            ClusteringArg::Dbscan => DBSCAN,
        }
        .to_string(),
        headroom: args.headroom,
        capacity_per_replica: args.capacity_per_replica,
        min_replicas: args.min_replicas,
        resources,
        catalogue: Some(catalogue),
        utilization: args.target_utilization,
    };
    let rec = recommend(store, &like, &opts)?;
    usable(store, &rec, &opts.resources)?;
    if args.json {
        return super::print_json(&crate::output::json_result(&rec)?);
    }
    print_text(&rec, args.instance_types.is_none());
    Ok(())
}

/// Fails when no member of the group has any of the metrics looked for: a recommendation without
/// CPU, memory and demand would be empty. The error names what was looked for and what the members
/// have, so `--metrics` can map one.
fn usable(store: &Store, rec: &Recommendation, wanted: &ResourceMetrics) -> Result<()> {
    if rec.cpu.is_some() || rec.memory.is_some() || rec.demand.is_some() {
        return Ok(());
    }
    let names = |list: &[prescale_learn::ResourceMetric]| {
        list.iter()
            .map(|r| r.metric.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut have: Vec<String> = store
        .list_series()?
        .into_iter()
        .filter(|i| i.samples > 0 && rec.members.contains(&i.key.workload))
        .map(|i| i.key.metric.to_string())
        .collect();
    have.sort();
    have.dedup();
    let group = match rec.cluster {
        Some(c) => format!("cluster {c}"),
        None => "the fleet".to_string(),
    };
    let example = have.first().map_or(String::new(), |m| {
        format!(" (map one with --metrics, e.g. --metrics cpu={m})")
    });
    anyhow::bail!(
        "no usable metrics: none of the {} members of {group} has a CPU metric ({}), a memory metric ({}) \
         or a demand metric ({}); they have {}{example}",
        rec.members.len(),
        names(&wanted.cpu),
        names(&wanted.memory),
        names(&wanted.demand),
        if have.is_empty() {
            "no samples at all".to_string()
        } else {
            have.join(", ")
        },
    )
}

fn print_text(rec: &Recommendation, builtin_catalogue: bool) {
    let group = match rec.cluster {
        Some(c) => format!(
            "cluster {c} of {} run {}",
            rec.algorithm, rec.clustering_run
        ),
        None => "the whole fleet".to_string(),
    };
    let why = match &rec.basis {
        Basis::Member => "a member".to_string(),
        Basis::NearestCentroid { distance, .. } => {
            format!("nearest centroid at distance {distance:.3}")
        }
        Basis::LabelMajority { matched, votes } => {
            format!("{votes} of {} matching workloads are in it", matched.len())
        }
        Basis::WholeFleet { matched } => {
            format!("{} workloads match but none is clustered", matched.len())
        }
    };
    println!(
        "like {} → {group} ({why}); {} members: {}",
        rec.like,
        rec.members.len(),
        rec.members
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Evidence: each member's p95 per resource.
    let mut per: BTreeMap<WorkloadId, [Option<f64>; 3]> = BTreeMap::new();
    let mut add = |s: Option<&LevelStats>, i: usize, unit: f64| {
        for m in s.map(|s| s.members.as_slice()).unwrap_or_default() {
            per.entry(m.workload.clone()).or_default()[i] = Some(m.p95 / unit);
        }
    };
    add(rec.cpu.as_ref().map(|a| &a.levels), 0, 1.0);
    add(rec.memory.as_ref().map(|a| &a.levels), 1, MIB);
    add(rec.demand.as_ref(), 2, 1.0);
    let rows: Vec<Vec<String>> = per
        .iter()
        .map(|(w, v)| vec![w.to_string(), num(v[0], 3), num(v[1], 0), num(v[2], 1)])
        .collect();
    print!(
        "{}",
        table(
            &[
                "member",
                "cpu p95 (cores)",
                "memory p95 (MiB)",
                "demand p95"
            ],
            &rows
        )
    );
    let mut rows = Vec::new();
    if let Some(r) = &rec.replicas {
        rows.push(vec![
            "replicas".to_string(),
            r.replicas.to_string(),
            "-".to_string(),
            format!(
                "demand p95 {} / {} per replica",
                num(Some(r.demand_p95), 1),
                r.capacity_per_replica
            ),
        ]);
    }
    if let Some(c) = &rec.cpu {
        rows.push(vec![
            "cpu (cores)".to_string(),
            num(Some(c.request), 3),
            num(c.per_replica, 3),
            format!(
                "p95 of p95s {} (members {}..{})",
                num(Some(c.levels.p95_of_p95s), 3),
                num(Some(c.levels.min_p95), 3),
                num(Some(c.levels.max_p95), 3)
            ),
        ]);
    }
    if let Some(m) = &rec.memory {
        rows.push(vec![
            "memory (MiB)".to_string(),
            num(Some(m.request / MIB), 0),
            num(m.per_replica.map(|b| b / MIB), 0),
            format!(
                "p95 of p95s {} MiB (members {}..{})",
                num(Some(m.levels.p95_of_p95s / MIB), 0),
                num(Some(m.levels.min_p95 / MIB), 0),
                num(Some(m.levels.max_p95 / MIB), 0)
            ),
        ]);
    }
    println!(
        "recommendation (headroom {:.0}% over p95 levels):",
        rec.headroom * 100.0
    );
    print!(
        "{}",
        table(&["resource", "request", "per replica", "from"], &rows)
    );
    let by_cost = rec
        .environment
        .as_ref()
        .and_then(|e| e.choice.as_ref())
        .and_then(|c| c.chosen.as_ref());
    if let Some(i) = &rec.instance {
        println!(
            "instance type{}: {} × {} ({} vCPU, {} GiB, {:.4}/h each, {:.4}/h in all){}",
            if by_cost.is_some() {
                " by catalogue size alone"
            } else {
                ""
            },
            i.count,
            i.instance.name,
            i.instance.vcpu,
            i.instance.memory_gib,
            i.instance.hourly_price,
            i.hourly_cost,
            if builtin_catalogue {
                " [built-in catalogue, illustrative prices]"
            } else {
                ""
            }
        );
    }
    if let Some(e) = &rec.environment {
        print_environment(e);
    }
    for n in &rec.notes {
        println!("note: {n}");
    }
}

/// The learned capacities per environment and the types costed by measured cost per unit.
fn print_environment(e: &EnvironmentAdvice) {
    if !e.measurements.is_empty() {
        let rows: Vec<Vec<String>> = e
            .measurements
            .iter()
            .map(|m| {
                vec![
                    m.workload.to_string(),
                    m.environment.to_string(),
                    num(Some(m.fit.demand_per_core()), 2),
                    num(Some(m.fit.base_cores), 3),
                    m.fit.observations.to_string(),
                    format!("±{:.1}%", m.fit.relative_error * 100.0),
                ]
            })
            .collect();
        println!(
            "capacity learned per environment ({} against {}):",
            e.measurements[0].cpu_metric, e.measurements[0].demand_metric
        );
        print!(
            "{}",
            table(
                &[
                    "workload",
                    "environment",
                    "demand per core",
                    "idle cores",
                    "steps",
                    "error"
                ],
                &rows
            )
        );
    }
    if !e.skipped.is_empty() {
        println!(
            "not measured: {} workloads (see --json environment.skipped), e.g. {}: {}",
            e.skipped.len(),
            e.skipped[0].workload,
            e.skipped[0].reason
        );
    }
    let Some(c) = &e.choice else { return };
    println!(
        "instance types by measured cost per unit (demand {} with headroom, {:.0}% of each replica's vCPU, one replica per instance):",
        num(Some(c.need.demand), 1),
        c.need.utilization * 100.0
    );
    let rows: Vec<Vec<String>> = c
        .candidates
        .iter()
        .map(|x| {
            vec![
                x.instance.name.clone(),
                x.source.as_str().to_string(),
                num(Some(x.capacity_per_replica), 1),
                x.replicas.to_string(),
                format!("{:.4}", x.hourly_cost),
                format!("{:.6}", x.cost_per_unit),
                x.basis.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "type",
                "source",
                "per replica",
                "replicas",
                "cost/h",
                "cost/h per unit",
                "from"
            ],
            &rows
        )
    );
    for u in &c.unfit {
        println!("unfit: {}: {}", u.instance, u.reason);
    }
    if let Some(x) = &c.chosen {
        println!(
            "instance type by measured cost per unit: {} × {} ({} capacity, {} per replica, {:.4}/h in all, {:.6}/h per unit)",
            x.replicas,
            x.instance.name,
            x.source.as_str(),
            num(Some(x.capacity_per_replica), 1),
            x.hourly_cost,
            x.cost_per_unit
        );
    }
}

//! Known-answer tests of environment matching: measured, borrowed and catalogue-only capacities
//! in the cost-per-unit choice, and measurements learned from a store.

use super::*;
use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_math::SplitMix64;
use prescale_policy::instances::{InstanceCatalogue, InstanceType};
use prescale_store::Store;

fn catalogue() -> InstanceCatalogue {
    let t = |name: &str, vcpu: f64, memory_gib: f64, hourly_price: f64| InstanceType {
        name: name.into(),
        vcpu,
        memory_gib,
        hourly_price,
        burstable: false,
        baseline_cpu_share: None,
    };
    InstanceCatalogue {
        instances: vec![
            t("slow.large", 2.0, 8.0, 0.10),
            t("fast.large", 2.0, 8.0, 0.14),
            t("slow.xlarge", 4.0, 16.0, 0.20),
            t("other.large", 2.0, 8.0, 0.09),
        ],
    }
}

fn measured(workload: &str, instance: &str, cores_per_unit: f64) -> Measurement {
    Measurement {
        workload: WorkloadId::new(workload).unwrap(),
        environment: EnvironmentKey::InstanceType {
            name: instance.into(),
        },
        demand_metric: MetricName::new("requests").unwrap(),
        cpu_metric: MetricName::new("cpu_cores").unwrap(),
        replicas_metric: None,
        step_ms: 300_000,
        fit: CapacityFit {
            base_cores: 0.0,
            cores_per_unit,
            observations: 100,
            r_squared: 0.95,
            relative_error: 0.02,
        },
    }
}

fn need(demand: f64) -> Need {
    Need {
        demand,
        memory_bytes: None,
        utilization: 0.7,
        min_replicas: 1,
    }
}

fn cost<'a>(c: &'a EnvironmentChoice, name: &str) -> &'a InstanceCost {
    c.candidates
        .iter()
        .find(|x| x.instance.name == name)
        .unwrap()
}

#[test]
fn measured_cost_per_unit_beats_catalogue_sizes() {
    // The workload serves 100/core on slow.large; similar workloads serve 50/core on slow.large and
    // 80/core on fast.large: fast.large is 1.6× faster, so the workload serves 160/core there.
    let own = [measured("w", "slow.large", 0.01)];
    let peers = [
        measured("p1", "slow.large", 0.02),
        measured("p2", "fast.large", 0.0125),
    ];
    let c = choose_by_cost(&catalogue(), &own, &peers, &need(1000.0)).unwrap();
    let slow = cost(&c, "slow.large");
    assert_eq!(slow.source, CapacitySource::Measured);
    assert!((slow.capacity_per_replica - 140.0).abs() < 1e-9);
    assert_eq!((slow.replicas, slow.relative_error), (8, Some(0.02)));
    let fast = cost(&c, "fast.large");
    assert_eq!(fast.source, CapacitySource::Borrowed);
    assert!((fast.demand_per_core - 160.0).abs() < 1e-9, "{fast:?}");
    assert!((fast.capacity_per_replica - 224.0).abs() < 1e-9);
    assert_eq!(fast.replicas, 5);
    assert!(fast.basis.contains("× 1.60"), "{}", fast.basis);
    let xl = cost(&c, "slow.xlarge");
    assert_eq!(xl.source, CapacitySource::Catalogue);
    assert!((xl.capacity_per_replica - 280.0).abs() < 1e-9);
    let other = cost(&c, "other.large");
    assert_eq!(
        (other.source, other.replicas),
        (CapacitySource::Catalogue, 8)
    );
    // 5 × 0.14 = 0.70/h beats 8 × 0.09 = 0.72/h, the cheapest type by catalogue size alone.
    let chosen = c.chosen.as_ref().unwrap();
    assert_eq!(chosen.instance.name, "fast.large");
    assert!((chosen.hourly_cost - 0.70).abs() < 1e-9);
    assert!((chosen.cost_per_unit - 0.14 / 224.0).abs() < 1e-12);
    assert_eq!(
        catalogue().cheapest_fit(1.0, 0.0).unwrap().name,
        "other.large"
    );
    // Per core over where the workload runs now, for the control step's choice.
    let speeds = c.speeds_over(&own[0]);
    let speed = |n: &str| speeds.iter().find(|s| s.instance == n).unwrap();
    assert!((speed("fast.large").speed - 1.6).abs() < 1e-9);
    assert_eq!(speed("fast.large").source, CapacitySource::Borrowed);
    assert_eq!(speed("slow.large").speed, 1.0);
    assert_eq!(speed("slow.xlarge").source, CapacitySource::Catalogue);
    // Costs come cheapest first.
    assert!(c
        .candidates
        .windows(2)
        .all(|p| p[0].hourly_cost <= p[1].hourly_cost));
}

#[test]
fn a_new_workload_borrows_the_peers_median_and_memory_can_bind() {
    let peers = [
        measured("p1", "fast.large", 0.01),
        measured("p2", "fast.large", 0.02),
        measured("p3", "fast.large", 0.03),
    ];
    let mut n = need(700.0);
    n.memory_bytes = Some(20.0 * 1024.0 * 1024.0 * 1024.0);
    let c = choose_by_cost(&catalogue(), &[], &peers, &n).unwrap();
    let fast = cost(&c, "fast.large");
    assert_eq!(fast.source, CapacitySource::Borrowed);
    // Median 0.02 cores per unit: 1.4 / 0.02 = 70 per replica, 10 replicas.
    assert!((fast.capacity_per_replica - 70.0).abs() < 1e-9);
    assert_eq!((fast.replicas, fast.observations), (10, 300));
    // slow.xlarge from catalogue size: 140 per replica, 5 replicas, and 20 GiB fits 2 of 16 GiB.
    let xl = cost(&c, "slow.xlarge");
    assert_eq!((xl.source, xl.replicas), (CapacitySource::Catalogue, 5));
    // A small need on 8 GiB types is bound by memory: 3 replicas.
    let mut small = need(10.0);
    small.memory_bytes = n.memory_bytes;
    let c = choose_by_cost(&catalogue(), &[], &peers, &small).unwrap();
    let other = cost(&c, "other.large");
    assert_eq!(other.replicas, 3);
    assert!(
        other.basis.contains("memory takes 3 replicas"),
        "{}",
        other.basis
    );
}

#[test]
fn bad_needs_and_no_measurement_are_refused() {
    let own = [measured("w", "slow.large", 0.01)];
    let cat = catalogue();
    for (n, what) in [
        (need(f64::NAN), "demand"),
        (
            Need {
                utilization: 0.0,
                ..need(1.0)
            },
            "utilization target",
        ),
        (
            Need {
                min_replicas: 0,
                ..need(1.0)
            },
            "min replicas",
        ),
        (
            Need {
                memory_bytes: Some(-1.0),
                ..need(1.0)
            },
            "memory",
        ),
    ] {
        let e = choose_by_cost(&cat, &own, &[], &n).unwrap_err();
        assert!(
            matches!(e, EnvironmentError::BadInput { what: w, .. } if w == what),
            "{e}"
        );
    }
    assert!(matches!(
        choose_by_cost(&cat, &[], &[], &need(1.0)).unwrap_err(),
        EnvironmentError::NothingMeasured { .. }
    ));
    // A type whose idle CPU takes the whole target is unfit, with the reason.
    let mut idle = measured("w", "slow.large", 0.01);
    idle.fit.base_cores = 1.5;
    let c = choose_by_cost(&cat, &[idle], &[], &need(100.0)).unwrap();
    assert_eq!(c.unfit.len(), 3, "{:?}", c.unfit);
    assert_eq!(c.chosen.unwrap().instance.name, "slow.xlarge");
}

/// A day of five-minute steps of one workload: `requests`, `cpu_cores` (CPU per request
/// `per_unit`, 0.05 idle cores per replica, 3 % noise) and `replicas`, each series carrying `labels`.
fn store_day(store: &mut Store, workload: &str, labels: &Labels, per_unit: f64, seed: u64) {
    let mut rng = SplitMix64(seed);
    let (mut d, mut c, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..288i64 {
        let ts = Timestamp(1_700_000_000_000 + i * 300_000);
        let phase = i as f64 / 288.0 * std::f64::consts::TAU;
        let demand = 500.0 + 350.0 * phase.sin();
        let replicas = (demand / 100.0).ceil();
        let cpu = (replicas * 0.05 + demand * per_unit) * (1.0 + 0.03 * rng.normal());
        d.push(Sample { ts, value: demand });
        c.push(Sample { ts, value: cpu });
        r.push(Sample {
            ts,
            value: replicas,
        });
    }
    for (metric, samples) in [("requests", d), ("cpu_cores", c), ("replicas", r)] {
        let key = SeriesKey::new(
            WorkloadId::new(workload).unwrap(),
            MetricName::new(metric).unwrap(),
        );
        store
            .upsert_series(&Series::new(key, labels.clone(), samples).unwrap())
            .unwrap();
    }
}

#[test]
fn capacities_are_learned_per_environment_from_the_store() {
    let mut store = Store::open_in_memory().unwrap();
    let label = |k: &str, v: &str| Labels::from([(k.to_string(), v.to_string())]);
    store_day(
        &mut store,
        "api-a",
        &label("instance_type", "slow.large"),
        0.01,
        1,
    );
    // The same service on a node pool whose cores do 1.6× the work.
    store_day(
        &mut store,
        "api-b",
        &label("node_pool", "fast"),
        0.01 / 1.6,
        2,
    );
    // Demand and CPU but no environment; an environment but no CPU.
    store_day(&mut store, "bare", &Labels::new(), 0.01, 3);
    let only_demand = SeriesKey::new(
        WorkloadId::new("lonely").unwrap(),
        MetricName::new("requests").unwrap(),
    );
    let samples = (0..20)
        .map(|i| Sample {
            ts: Timestamp(i * 1000),
            value: 1.0,
        })
        .collect();
    store
        .upsert_series(
            &Series::new(only_demand, label("instance_type", "slow.large"), samples).unwrap(),
        )
        .unwrap();
    let ids: Vec<WorkloadId> = ["api-a", "api-b", "bare", "lonely", "nobody"]
        .iter()
        .map(|w| WorkloadId::new(*w).unwrap())
        .collect();
    let report = measure_environments(&store, &ids, &MeasureOptions::default()).unwrap();
    assert_eq!(report.measurements.len(), 2, "{:?}", report.skipped);
    let (a, b) = (&report.measurements[0], &report.measurements[1]);
    assert_eq!(
        a.environment,
        EnvironmentKey::InstanceType {
            name: "slow.large".into()
        }
    );
    assert_eq!(
        b.environment,
        EnvironmentKey::NodeClass {
            name: "fast".into()
        }
    );
    assert_eq!(a.replicas_metric.as_ref().unwrap().as_str(), "replicas");
    assert_eq!((a.step_ms, a.fit.observations), (300_000, 288));
    let ratio = b.fit.demand_per_core() / a.fit.demand_per_core();
    assert!((ratio - 1.6).abs() < 0.05 * 1.6, "ratio {ratio}");
    assert!((a.fit.base_cores - 0.05).abs() < 0.02, "{:?}", a.fit);
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.workload.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "bare");
    assert!(
        skipped[0].1.starts_with("no environment labels"),
        "{skipped:?}"
    );
    assert_eq!(skipped[1].0, "lonely");
    assert!(
        skipped[1].1.starts_with("no CPU series (cpu_cores, cpu)"),
        "{skipped:?}"
    );
    // Too few steps: the fit's error, with the workload's environment.
    let short = MeasureOptions {
        window_ms: Some(3_000_000),
        ..MeasureOptions::default()
    };
    let r = measure_environments(&store, &ids[..1], &short).unwrap();
    assert!(r.measurements.is_empty());
    assert!(
        r.skipped[0]
            .reason
            .contains("10 observations, need at least 12"),
        "{:?}",
        r.skipped
    );
    assert!(measure_environments(
        &store,
        &ids,
        &MeasureOptions {
            window_ms: Some(0),
            ..MeasureOptions::default()
        }
    )
    .is_err());
}

#[test]
fn the_control_steps_speeds_come_from_the_workload_and_its_cluster() {
    use crate::{cluster_latest, fingerprint_store, Algorithm, ClusterOptions, FingerprintOptions};
    let mut store = Store::open_in_memory().unwrap();
    let label = |v: &str| Labels::from([("instance_type".to_string(), v.to_string())]);
    store_day(&mut store, "api", &label("slow.large"), 0.01, 1);
    let cat = catalogue();
    let opts = MeasureOptions::default();
    let id = WorkloadId::new("api").unwrap();
    // No clustering yet: its own measurement alone, every other type at catalogue size.
    let speeds = instance_speeds(&store, &id, &cat, crate::KMEANS, &opts)
        .unwrap()
        .unwrap();
    assert!(speeds.iter().all(|s| s.speed == 1.0), "{speeds:?}");
    // Similar workloads: one more on slow.large at 0.02, two on fast.large at 0.0125 (1.6×).
    store_day(&mut store, "p1", &label("slow.large"), 0.02, 2);
    store_day(&mut store, "p2", &label("fast.large"), 0.0125, 3);
    store_day(&mut store, "p3", &label("fast.large"), 0.0125, 4);
    fingerprint_store(&mut store, &FingerprintOptions::default()).unwrap();
    let k1 = ClusterOptions {
        algorithm: Algorithm::Kmeans,
        k: Some(1),
        ..ClusterOptions::default()
    };
    cluster_latest(&mut store, &k1).unwrap();
    let speeds = instance_speeds(&store, &id, &cat, crate::KMEANS, &opts)
        .unwrap()
        .unwrap();
    let fast = speeds.iter().find(|s| s.instance == "fast.large").unwrap();
    assert_eq!(fast.source, CapacitySource::Borrowed);
    assert!((fast.speed - 1.6).abs() < 0.05 * 1.6, "{fast:?}");
    // A workload that is not measured has no speeds.
    assert_eq!(
        instance_speeds(
            &store,
            &WorkloadId::new("ghost").unwrap(),
            &cat,
            crate::KMEANS,
            &opts
        )
        .unwrap(),
        None
    );
}

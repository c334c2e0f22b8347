//! Learned instance-type speeds for a workload whose resources choose an instance type: every
//! [`REFRESH_MS`] its and its cluster's capacities per environment are measured from the store
//! (prescale_learn::instance_speeds, with the workload's demand metric and CPU use series) and
//! handed to its controller, so each decision's instance choice goes by measured work per core
//! (recorded as the choice's speed and capacity source). A workload not measured yet keeps
//! choosing by catalogue size; a failed measurement is logged and the previous speeds kept.

use prescale_control::Controller;
use prescale_core::Timestamp;
use prescale_learn::{MeasureOptions, ResourceMetric, ResourceMetrics, KMEANS};
use prescale_store::Store;

/// How often a workload's speeds are measured again (they move with days of telemetry, not steps).
pub const REFRESH_MS: i64 = 600_000;

/// Measures and hands over `controller`'s speeds when it chooses an instance type and the last
/// measurement (`last`) is [`REFRESH_MS`] old or none was made.
pub fn refresh(
    controller: &mut Controller,
    last: &mut Option<Timestamp>,
    store: &Store,
    now: Timestamp,
) {
    if last.is_some_and(|t| now.0 - t.0 < REFRESH_MS) {
        return;
    }
    let spec = controller.spec();
    let Some(resources) = &spec.resources else {
        return;
    };
    let (Some(catalogue), Some(cpu)) = (&resources.instance_types, &resources.cpu) else {
        return;
    };
    *last = Some(now);
    let opts = MeasureOptions {
        resources: ResourceMetrics {
            cpu: vec![ResourceMetric {
                metric: cpu.metric.clone(),
                scale: cpu.scale,
            }],
            demand: vec![ResourceMetric {
                metric: spec.metric.clone(),
                scale: 1.0,
            }],
            ..ResourceMetrics::default()
        },
        ..MeasureOptions::default()
    };
    let workload = spec.workload.clone();
    match prescale_learn::instance_speeds(store, &workload, catalogue, KMEANS, &opts) {
        Ok(Some(speeds)) => {
            if let Err(e) = controller.set_instance_speeds(speeds) {
                tracing::warn!(workload = %workload, error = %e, "instance speeds refused");
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(workload = %workload, error = %e, "measuring instance speeds")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_control::{
        Current, ResourceKind, ResourceSpec, ResourceTarget, Usage, WorkloadSpec,
    };
    use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, WorkloadId};
    use prescale_learn::{
        cluster_latest, fingerprint_store, Algorithm, CapacitySource, ClusterOptions,
        FingerprintOptions, InstanceCatalogue,
    };
    use std::time::Duration;

    const STEP_MS: i64 = 60_000;
    const MIB: f64 = 1024.0 * 1024.0;

    /// A day of `rps` and `cpu_cores` (0.05 idle cores a replica, `per_unit` cores a request,
    /// replicas following demand) labelled with `instance_type`.
    fn store_day(store: &mut Store, workload: &str, instance: &str, per_unit: f64) {
        let labels = Labels::from([("instance_type".to_string(), instance.to_string())]);
        let (mut d, mut c, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..288i64 {
            let ts = Timestamp(1_700_000_000_000 + i * 300_000);
            let demand = 500.0 + 350.0 * (i as f64 / 288.0 * std::f64::consts::TAU).sin();
            let replicas = (demand / 100.0).ceil();
            d.push(Sample { ts, value: demand });
            c.push(Sample {
                ts,
                value: replicas * 0.05 + demand * per_unit,
            });
            r.push(Sample {
                ts,
                value: replicas,
            });
        }
        for (metric, samples) in [("rps", d), ("cpu_cores", c), ("replicas", r)] {
            let key = SeriesKey::new(
                WorkloadId::new(workload).unwrap(),
                MetricName::new(metric).unwrap(),
            );
            store
                .upsert_series(&Series::new(key, labels.clone(), samples).unwrap())
                .unwrap();
        }
    }

    /// `api` on m6i.large, two replicas, CPU and memory sized, the built-in catalogue.
    fn controller() -> Controller {
        let mut s = WorkloadSpec::new(
            WorkloadId::new("api").unwrap(),
            MetricName::new("rps").unwrap(),
            100.0,
        );
        s.policy = "hpa".parse().unwrap();
        s.step = Duration::from_millis(STEP_MS as u64);
        s.min = 2;
        s.max = 2;
        s.resources = Some(ResourceSpec {
            cpu: Some(ResourceTarget::new(
                MetricName::new("cpu_cores").unwrap(),
                0.05,
                32.0,
            )),
            memory: Some(ResourceTarget::new(
                MetricName::new("rss_bytes").unwrap(),
                64.0 * MIB,
                65536.0 * MIB,
            )),
            headroom: 0.0,
            instance_types: Some(InstanceCatalogue::builtin()),
            ..ResourceSpec::default()
        });
        Controller::new(s).unwrap()
    }

    /// 3.1 cores and 3 GiB a replica: a 4-vCPU type by catalogue size.
    fn instance_after(c: &mut Controller, k: i64) -> prescale_control::InstanceChoice {
        let at = |i: i64, v: f64| Sample {
            ts: Timestamp(i * STEP_MS + 30_000),
            value: v,
        };
        let demand: Vec<Sample> = (0..k).map(|i| at(i, 150.0)).collect();
        let cpu: Vec<Sample> = (0..k).map(|i| at(i, 6.2)).collect();
        let rss: Vec<Sample> = (0..k).map(|i| at(i, 6144.0 * MIB)).collect();
        let usage = [
            Usage {
                kind: ResourceKind::Cpu,
                window: &cpu,
            },
            Usage {
                kind: ResourceKind::Memory,
                window: &rss,
            },
        ];
        let current = Current {
            replicas: Some(2),
            ..Current::default()
        };
        c.tick_acting(&demand, &usage, Timestamp(k * STEP_MS + 1_000), &current)
            .record
            .resources
            .unwrap()
            .instance
            .unwrap()
    }

    #[test]
    fn the_clusters_measurements_reach_the_instance_choice() {
        let mut store = Store::open_in_memory().unwrap();
        // api and a peer on m6i.large; two peers on c6i.large whose cores do 1.6x the work.
        store_day(&mut store, "api", "m6i.large", 0.01);
        store_day(&mut store, "peer-m", "m6i.large", 0.02);
        store_day(&mut store, "peer-c1", "c6i.large", 0.0125);
        store_day(&mut store, "peer-c2", "C6I.LARGE", 0.0125);
        fingerprint_store(&mut store, &FingerprintOptions::default()).unwrap();
        let k1 = ClusterOptions {
            algorithm: Algorithm::Kmeans,
            k: Some(1),
            ..ClusterOptions::default()
        };
        cluster_latest(&mut store, &k1).unwrap();

        let mut c = controller();
        assert_eq!(
            instance_after(&mut c, 20).after.as_deref(),
            Some("c6i.xlarge")
        );
        let mut last = None;
        refresh(&mut c, &mut last, &store, Timestamp(21 * STEP_MS));
        assert_eq!(last, Some(Timestamp(21 * STEP_MS)));
        let i = instance_after(&mut c, 21);
        assert_eq!(i.after.as_deref(), Some("c6i.large"), "{}", i.reason);
        assert_eq!(i.capacity, Some(CapacitySource::Borrowed));
        assert!((i.speed.unwrap() - 1.6).abs() < 0.05 * 1.6, "{i:?}");
        // Not again before REFRESH_MS.
        refresh(&mut c, &mut last, &store, Timestamp(22 * STEP_MS));
        assert_eq!(last, Some(Timestamp(21 * STEP_MS)));
    }

    #[test]
    fn a_workload_without_measurements_keeps_the_catalogue_size() {
        let store = Store::open_in_memory().unwrap();
        let mut c = controller();
        let mut last = None;
        refresh(&mut c, &mut last, &store, Timestamp(20 * STEP_MS));
        let i = instance_after(&mut c, 20);
        assert_eq!(i.after.as_deref(), Some("c6i.xlarge"));
        assert_eq!((i.speed, i.capacity), (None, None));
    }
}

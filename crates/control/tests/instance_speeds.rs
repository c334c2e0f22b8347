//! The instance choice with learned speeds: a type whose cores do 1.6× the work for this workload
//! fits a replica's CPU that only a type twice the size fits by catalogue size, and the decision
//! records the speed and where it came from; a bad speed is refused with the type named.

use prescale_control::{
    Controller, Current, InstanceChoice, ResourceKind, ResourceSpec, ResourceTarget, Usage,
    WorkloadSpec,
};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use prescale_policy::instances::{CapacitySource, InstanceCatalogue, TypeSpeed};
use std::time::Duration;

const STEP_MS: i64 = 60_000;
const MIB: f64 = 1024.0 * 1024.0;

/// Two replicas (fixed), hpa, CPU and memory sized with no headroom, the built-in catalogue.
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

/// Demand 150, 6.2 cores and 6 GiB in all (3.1 cores and 3 GiB a replica) every step before `k`.
fn tick(c: &mut Controller, k: i64) -> InstanceChoice {
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
    let r = c
        .tick_acting(&demand, &usage, Timestamp(k * STEP_MS + 1_000), &current)
        .record;
    r.resources.unwrap().instance.unwrap()
}

#[test]
fn a_learned_speed_picks_a_smaller_type_and_is_recorded() {
    let mut c = controller();
    let i = tick(&mut c, 20);
    assert_eq!(i.after.as_deref(), Some("c6i.xlarge"), "{}", i.reason);
    assert_eq!((i.speed, i.capacity), (None, None));
    assert!(i.reason.contains("by catalogue size"), "{}", i.reason);

    c.set_instance_speeds(vec![TypeSpeed {
        instance: "c6i.large".into(),
        speed: 1.6,
        source: CapacitySource::Borrowed,
        basis: "api in instance type m6i.large × 1.60".into(),
    }])
    .unwrap();
    let i = tick(&mut c, 21);
    // 3.1 cores measured are 1.94 cores of c6i.large: it fits at half the price.
    assert_eq!(i.after.as_deref(), Some("c6i.large"), "{}", i.reason);
    assert_eq!(i.speed, Some(1.6));
    assert_eq!(i.capacity, Some(CapacitySource::Borrowed));
    assert!((i.hourly_cost.unwrap() - 2.0 * 0.085).abs() < 1e-12);
    assert!(
        i.reason.contains("borrowed × 1.60") && i.reason.contains("1.938 cores there"),
        "{}",
        i.reason
    );
    let json = serde_json::to_value(&i).unwrap();
    assert_eq!(json["capacity"], "borrowed");

    // A NaN speed refuses the set, naming the type; the speeds before it stay.
    let e = c
        .set_instance_speeds(vec![TypeSpeed {
            instance: "m6i.large".into(),
            speed: f64::NAN,
            source: CapacitySource::Measured,
            basis: String::new(),
        }])
        .unwrap_err();
    assert!(e.to_string().contains("m6i.large"), "{e}");
    assert_eq!(tick(&mut c, 22).after.as_deref(), Some("c6i.large"));
}

//! GC-aware memory through the controller: a Go and a JVM heap estimate size memory by the
//! runtime's rule instead of RSS, an OOM kill raises memory at once (inside a decided step) and
//! the raise is held, and bad signals are refused with the field named.

use prescale_actuate::Resources;
use prescale_control::{
    Controller, Current, DecisionRecord, Hold, ResourceChoice, ResourceKind, ResourceSpec,
    ResourceTarget, Usage, WorkloadSpec,
};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use prescale_ingest::gc::{GcRuntime, HeapEstimate, LiveHeapBasis};
use std::time::Duration;

const STEP_MS: i64 = 60_000;
const MIB: f64 = 1024.0 * 1024.0;

/// Two replicas (fixed), hpa (no forecast: sized for the last step's demand), memory from
/// `rss_bytes` with no headroom.
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
        memory: Some(ResourceTarget::new(
            MetricName::new("rss_bytes").unwrap(),
            64.0 * MIB,
            8192.0 * MIB,
        )),
        headroom: 0.0,
        stabilization: Duration::from_secs(300),
        ..ResourceSpec::default()
    });
    Controller::new(s).unwrap()
}

/// Demand 150 and RSS 900 MiB in all (garbage included) every step before `k`.
fn windows(k: i64, rss_total: f64) -> (Vec<Sample>, Vec<Sample>) {
    let at = |i: i64, v: f64| Sample {
        ts: Timestamp(i * STEP_MS + 30_000),
        value: v,
    };
    let demand = (0..k).map(|i| at(i, 150.0)).collect();
    let rss = (0..k).map(|i| at(i, rss_total)).collect();
    (demand, rss)
}

fn tick(
    c: &mut Controller,
    k: i64,
    offset_ms: i64,
    current: &Current,
) -> prescale_control::Decided {
    let (d, m) = windows(k, 900.0 * MIB);
    let usage = [Usage {
        kind: ResourceKind::Memory,
        window: &m,
    }];
    c.tick_acting(&d, &usage, Timestamp(k * STEP_MS + offset_ms), current)
}

fn memory(r: &DecisionRecord) -> ResourceChoice {
    r.resources.as_ref().unwrap().memory.clone().unwrap()
}

fn estimate(runtime: GcRuntime, live: f64) -> HeapEstimate {
    HeapEstimate {
        runtime,
        live_heap_bytes: live,
        basis: LiveHeapBasis::AfterGc,
        heap_limit_bytes: None,
        heap_goal_bytes: None,
        gogc_percent: None,
        gc_cycles_total: None,
        gc_pause_seconds_total: None,
    }
}

fn two_replicas() -> Current {
    Current {
        replicas: Some(2),
        ..Current::default()
    }
}

#[test]
fn without_a_heap_estimate_memory_follows_rss() {
    let mut c = controller();
    let m = memory(&tick(&mut c, 20, 1_000, &two_replicas()).record);
    assert_eq!(m.after, Some(450.0 * MIB), "{}", m.reason);
    assert!(m.heap.is_none());
}

#[test]
fn a_go_heap_sizes_memory_by_gogc_not_rss() {
    let mut c = controller();
    let mut e = estimate(GcRuntime::Go, 100.0 * MIB);
    e.gogc_percent = Some(100.0);
    c.observe_heap(Timestamp(20 * STEP_MS), e).unwrap();
    let r = tick(&mut c, 20, 1_000, &two_replicas()).record;
    let m = memory(&r);
    let h = m.heap.clone().expect("sized from the heap");
    assert_eq!(h.runtime, "go");
    assert_eq!(h.load_factor, 1.0);
    // 100 MiB live × (1 + 100/100) + 32 MiB non-heap, against 450 MiB of RSS per replica.
    assert_eq!(m.after, Some(232.0 * MIB), "{}", m.reason);
    assert!(m.reason.contains("GOGC 100"), "{}", m.reason);
    assert!(m.reason.contains("would ask 450 MiB"), "{}", m.reason);
    // GOMEMLIMIT caps the heap goal.
    let mut e = estimate(GcRuntime::Go, 100.0 * MIB);
    e.heap_limit_bytes = Some(150.0 * MIB);
    c.observe_heap(Timestamp(21 * STEP_MS), e).unwrap();
    let m = memory(&tick(&mut c, 21, 1_000, &two_replicas()).record);
    assert_eq!(m.heap.unwrap().heap_bytes, 150.0 * MIB);
}

#[test]
fn a_jvm_heap_uses_occupancy_and_its_max_heap() {
    let mut c = controller();
    let mut e = estimate(GcRuntime::Jvm, 350.0 * MIB);
    c.observe_heap(Timestamp(20 * STEP_MS), e.clone()).unwrap();
    let m = memory(&tick(&mut c, 20, 1_000, &two_replicas()).record);
    // 350 / 0.7 = 500 MiB heap + 256 MiB non-heap.
    assert_eq!(m.after, Some(756.0 * MIB), "{}", m.reason);
    // With -Xmx 1 GiB reported the heap may grow there: 1024 + 256.
    e.heap_limit_bytes = Some(1024.0 * MIB);
    c.observe_heap(Timestamp(21 * STEP_MS), e).unwrap();
    let m = memory(&tick(&mut c, 21, 1_000, &two_replicas()).record);
    assert_eq!(m.after, Some(1280.0 * MIB), "{}", m.reason);
    assert!(m.reason.contains("max 1024 MiB"), "{}", m.reason);
}

#[test]
fn a_stale_heap_estimate_falls_back_to_rss() {
    let mut c = controller();
    c.observe_heap(Timestamp(0), estimate(GcRuntime::Go, 100.0 * MIB))
        .unwrap();
    // The estimate is 20 minutes old, stale_after is 5.
    let m = memory(&tick(&mut c, 20, 1_000, &two_replicas()).record);
    assert!(m.heap.is_none());
    assert_eq!(m.after, Some(450.0 * MIB));
}

#[test]
fn an_oom_kill_raises_memory_at_once_and_the_raise_is_held() {
    let mut c = controller();
    let running = |mib: f64| Current {
        replicas: Some(2),
        resources: Some(Resources {
            cpu_millis: None,
            memory_bytes: Some((mib * MIB) as u64),
        }),
        ..Current::default()
    };
    c.observe_oom_total(4.0).unwrap();
    let first = tick(&mut c, 20, 1_000, &running(450.0)).record;
    assert!(
        memory(&first).oom.is_none(),
        "the first reading is the base"
    );
    // Inside the decided step: nothing new.
    assert_eq!(
        tick(&mut c, 20, 20_000, &running(450.0)).hold,
        Some(Hold::Waiting)
    );
    // The counter rises: memory is raised within the same step, replicas kept.
    c.observe_oom_total(5.0).unwrap();
    let d = tick(&mut c, 20, 30_000, &running(450.0));
    assert_eq!(d.hold, None, "an OOM raise is a decision of its own");
    let r = d.record;
    assert_eq!(r.replicas_after, Some(2));
    let m = memory(&r);
    // max(450 × 1.5, 450 peak per replica × 1.2) = 675 MiB.
    assert_eq!(m.after, Some(675.0 * MIB), "{}", m.reason);
    let oom = m.oom.clone().unwrap();
    assert_eq!((oom.kills, oom.kills_total), (1, 5.0));
    assert!(m.reason.contains("OOM kill"), "{}", m.reason);
    assert!(r.reason.contains("OOM kill"), "{}", r.reason);
    assert!(r.is_resize());
    // The next step sizes 450 MiB from RSS again, but the raise is held by the stabilization.
    let next = memory(&tick(&mut c, 21, 1_000, &running(675.0)).record);
    assert_eq!(next.after, Some(675.0 * MIB), "{}", next.reason);
    assert!(next.oom.is_none());
    assert!(
        next.bound_by
            .as_deref()
            .unwrap_or("")
            .contains("stabilization"),
        "{next:?}"
    );
    // A lower counter (the cgroup recreated) is no kill.
    c.observe_oom_total(0.0).unwrap();
    assert_eq!(
        tick(&mut c, 21, 30_000, &running(675.0)).hold,
        Some(Hold::Waiting)
    );
}

#[test]
fn bad_signals_are_refused_naming_the_field() {
    let mut c = controller();
    let e = c
        .observe_heap(Timestamp(20 * STEP_MS), estimate(GcRuntime::Go, f64::NAN))
        .unwrap_err();
    assert!(e.to_string().contains("live_heap_bytes"), "{e}");
    assert!(e.to_string().contains("api"), "{e}");
    let mut limit = estimate(GcRuntime::Jvm, 10.0 * MIB);
    limit.heap_limit_bytes = Some(-1.0);
    assert!(c
        .observe_heap(Timestamp(20 * STEP_MS), limit)
        .unwrap_err()
        .to_string()
        .contains("heap_limit_bytes"));
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        let e = c.observe_oom_total(bad).unwrap_err();
        assert!(e.to_string().contains("oom_kills_total"), "{e}");
    }
    // Nothing bad was taken: memory follows RSS.
    let m = memory(&tick(&mut c, 20, 1_000, &two_replicas()).record);
    assert!(m.heap.is_none() && m.oom.is_none());
    assert_eq!(m.after, Some(450.0 * MIB));
    // A bad rule is refused when the spec is validated.
    let mut spec = c.spec().clone();
    spec.resources
        .as_mut()
        .unwrap()
        .memory_runtime
        .jvm_occupancy = 0.0;
    let e = Controller::new(spec).err().unwrap();
    assert!(e.to_string().contains("jvm_occupancy"), "{e}");
}

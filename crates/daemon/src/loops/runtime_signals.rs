//! The signals a workload's controller reads before each tick besides its demand and use: the
//! newest reading of its stages' health gate series, and for a memory-sizing workload the agent's
//! OOM kill counter (`oom_kills_total`) and the Go and JVM collector gauges scraped under the
//! workload's id, read as one heap estimate (prescale_ingest::gc). A read that fails or a value
//! the controller refuses is logged and skipped: memory then follows its use series, and a stage
//! without a fresh gate reading pauses.

use prescale_control::Controller;
use prescale_core::{MetricName, Sample, SeriesKey, Timestamp};
use prescale_ingest::gc::HeapEstimate;
use prescale_ingest::RawSample;

/// The label-free collector gauges a heap estimate is read from (labelled ones, such as
/// `jvm_memory_used_bytes{area="heap"}`, are not told apart once stored).
pub const GC_GAUGES: [&str; 6] = [
    "go_gc_heap_live_bytes",
    "go_memstats_next_gc_bytes",
    "go_gc_gogc_percent",
    "go_memstats_heap_inuse_bytes",
    "go_gc_gomemlimit_bytes",
    "jvm_gc_live_data_size_bytes",
];

/// Feeds `controller` the newest OOM counter and heap estimate found by `load` (the samples of a
/// series over the recent span, any order; `None` when the read failed). Nothing is read for a
/// workload that does not size memory.
pub fn feed(controller: &mut Controller, load: impl Fn(&SeriesKey) -> Option<Vec<Sample>>) {
    if let Some(gate) = controller.gate_key() {
        if let Some(s) = load(&gate).as_deref().and_then(newest) {
            if let Err(e) = controller.observe_gate(s.ts, s.value) {
                tracing::warn!(workload = %gate.workload, error = %e, "health gate reading skipped");
            }
        }
    }
    let Some(oom) = controller.oom_key() else {
        return;
    };
    let workload = oom.workload.clone();
    if let Some(s) = load(&oom).as_deref().and_then(newest) {
        if let Err(e) = controller.observe_oom_total(s.value) {
            tracing::warn!(workload = %workload, error = %e, "OOM counter skipped");
        }
    }
    let mut raw = Vec::new();
    let mut at = None;
    for name in GC_GAUGES {
        let Ok(metric) = MetricName::new(name) else {
            continue;
        };
        let key = SeriesKey::new(workload.clone(), metric);
        if let Some(s) = load(&key).as_deref().and_then(newest) {
            at = at.max(Some(s.ts));
            raw.push(RawSample {
                name: name.to_string(),
                labels: Vec::new(),
                value: s.value,
                timestamp_ms: Some(s.ts.0),
            });
        }
    }
    if let (Some(estimate), Some(at)) = (HeapEstimate::from_samples(&raw), at) {
        if let Err(e) = controller.observe_heap(at, estimate) {
            tracing::warn!(workload = %workload, error = %e, "heap estimate skipped");
        }
    }
}

/// The newest sample of a window.
fn newest(window: &[Sample]) -> Option<Sample> {
    window.iter().copied().max_by_key(|s| s.ts)
}

/// The span read: the staleness limit back from `now`.
pub fn span(controller: &Controller, now: Timestamp) -> (Timestamp, Timestamp) {
    let stale = i64::try_from(controller.spec().stale_after.as_millis()).unwrap_or(i64::MAX);
    (Timestamp(now.0.saturating_sub(stale)), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_control::{
        Current, ResourceKind, ResourceSpec, ResourceTarget, Usage, WorkloadSpec,
    };
    use prescale_core::WorkloadId;
    use std::collections::BTreeMap;
    use std::time::Duration;

    const MIB: f64 = 1024.0 * 1024.0;

    #[test]
    fn stored_go_gauges_and_the_oom_counter_reach_the_memory_decision() {
        let mut spec = WorkloadSpec::new(
            WorkloadId::new("api").unwrap(),
            MetricName::new("rps").unwrap(),
            100.0,
        );
        spec.policy = "hpa".parse().unwrap();
        spec.step = Duration::from_secs(60);
        spec.resources = Some(ResourceSpec {
            memory: Some(ResourceTarget::new(
                MetricName::new("rss_bytes").unwrap(),
                64.0 * MIB,
                8192.0 * MIB,
            )),
            headroom: 0.0,
            ..ResourceSpec::default()
        });
        let mut c = Controller::new(spec).unwrap();
        let at = |ms: i64, v: f64| Sample {
            ts: Timestamp(ms),
            value: v,
        };
        let mut stored: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
        stored.insert("oom_kills_total", vec![at(1_000, 2.0)]);
        // GOGC 100 with a 200 MiB goal: 100 MiB live.
        stored.insert("go_memstats_next_gc_bytes", vec![at(1_000, 200.0 * MIB)]);
        stored.insert("go_gc_gogc_percent", vec![at(1_000, 100.0)]);
        let load = |stored: &BTreeMap<&str, Vec<Sample>>, k: &SeriesKey| {
            stored.get(k.metric.as_str()).cloned()
        };
        feed(&mut c, |k| load(&stored, k));
        let now = Timestamp(20 * 60_000 + 1_000);
        let demand: Vec<Sample> = (0..20).map(|i| at(i * 60_000 + 30_000, 100.0)).collect();
        let rss: Vec<Sample> = (0..20)
            .map(|i| at(i * 60_000 + 30_000, 900.0 * MIB))
            .collect();
        stored.insert(
            "go_memstats_next_gc_bytes",
            vec![at(now.0 - 500, 200.0 * MIB)],
        );
        feed(&mut c, |k| load(&stored, k));
        let usage = [Usage {
            kind: ResourceKind::Memory,
            window: &rss,
        }];
        let current = Current {
            replicas: Some(1),
            ..Current::default()
        };
        let r = c.tick_full(&demand, &usage, now, &current);
        let m = r.resources.unwrap().memory.unwrap();
        assert_eq!(m.heap.unwrap().runtime, "go", "{}", m.reason);
        assert_eq!(m.after, Some(232.0 * MIB), "{}", m.reason);
        // The counter rises: the next tick (inside the step) raises memory.
        stored.insert("oom_kills_total", vec![at(now.0, 3.0)]);
        feed(&mut c, |k| load(&stored, k));
        let r = c.tick_full(&demand, &usage, Timestamp(now.0 + 5_000), &current);
        let m = r.resources.unwrap().memory.unwrap();
        assert_eq!(m.oom.unwrap().kills, 1, "{}", m.reason);
        // A NaN counter is skipped, not a kill.
        stored.insert("oom_kills_total", vec![at(now.0, f64::NAN)]);
        feed(&mut c, |k| load(&stored, k));
    }

    #[test]
    fn the_gate_series_is_read_when_changes_are_staged() {
        use prescale_control::stages::{HealthGate, StageSpec};
        let mut spec = WorkloadSpec::new(
            WorkloadId::new("api").unwrap(),
            MetricName::new("rps").unwrap(),
            100.0,
        );
        spec.stages = Some(StageSpec {
            max_step: 2,
            interval: Duration::from_secs(60),
            gate: HealthGate {
                metric: MetricName::new("latency_p99").unwrap(),
                max: 0.3,
            },
            pause_limit: 2,
        });
        let mut c = Controller::new(spec).unwrap();
        let asked = std::cell::RefCell::new(Vec::new());
        feed(&mut c, |k| {
            asked.borrow_mut().push(k.metric.to_string());
            Some(vec![Sample {
                ts: Timestamp(5),
                value: f64::NAN,
            }])
        });
        // No memory sized: only the gate is read; its NaN reading is skipped, not taken.
        assert_eq!(asked.into_inner(), vec!["latency_p99".to_string()]);
    }
}

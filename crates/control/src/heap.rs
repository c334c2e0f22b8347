//! GC-aware memory sizing and the OOM bump: a replica's memory from its runtime's live heap after
//! garbage collection and the runtime's own headroom rule (rather than RSS, which counts garbage
//! not yet collected), and an immediate raise after an out-of-memory kill.
//!
//! Per replica, with `L` the live heap after GC (one scrape target is one process, so the
//! estimate is one replica's) scaled by the rise in per-replica demand to the lead time
//! (never below 1):
//!
//! - Go: heap = `L × (1 + GOGC/100)` (GOGC from the runtime, else the rule's, default 100),
//!   capped at GOMEMLIMIT when the runtime reports one (never below `L`); memory = heap + non-heap
//!   (default [`GO_NON_HEAP_BYTES`]).
//! - JVM: heap = `L / occupancy` (default 0.7: live data at most 70 % of the heap after a
//!   collection); with `jvm_max_ram_fraction` (the JVM's `-XX:MaxRAMPercentage`/100, so its max
//!   heap follows the container) memory = `max(heap / fraction, heap + non-heap)`; without it the
//!   heap may grow to the reported max heap (`-Xmx`), so memory = `max(heap, max heap) + non-heap`
//!   (default non-heap [`JVM_NON_HEAP_BYTES`]).
//!
//! The runtime's rule is the headroom: the resource spec's `headroom` is not added on top.
//!
//! An OOM kill (the agent's `oom_kills_total` rising) raises memory at once to
//! `max(last request × 1.5, peak use per replica × 1.2)` — higher than that when the usual sizing
//! asks for more — within the bounds; the raise enters the scale-down stabilization window (which
//! then holds it) and skips the change tolerance.

pub use crate::error::SignalError;
use crate::resources::MIB;
use prescale_core::Timestamp;
use prescale_ingest::gc::{GcRuntime, HeapEstimate, LiveHeapBasis};
use serde::{Deserialize, Serialize};

/// Default non-heap memory of a Go process (goroutine stacks, runtime structures, binary text).
pub const GO_NON_HEAP_BYTES: f64 = 32.0 * MIB;
/// Default non-heap memory of a JVM (metaspace, code cache, thread stacks, direct buffers).
pub const JVM_NON_HEAP_BYTES: f64 = 256.0 * MIB;
/// An OOM kill raises memory to at least this multiple of the last request...
pub const OOM_LIMIT_FACTOR: f64 = 1.5;
/// ... and at least this multiple of the peak use per replica.
pub const OOM_PEAK_FACTOR: f64 = 1.2;

/// How a runtime's heap turns into a memory request (`[workload.resources.memory_runtime]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeapRule {
    /// GOGC when the runtime does not export it (default 100).
    pub go_gogc_percent: f64,
    /// JVM: live data's target share of the heap after a collection (default 0.7).
    pub jvm_occupancy: f64,
    /// JVM: `MaxRAMPercentage`/100 when the JVM sizes its heap from the container's memory
    /// (default none: a fixed `-Xmx`).
    pub jvm_max_ram_fraction: Option<f64>,
    /// Memory beyond the heap per replica (default by runtime: [`GO_NON_HEAP_BYTES`],
    /// [`JVM_NON_HEAP_BYTES`]).
    pub non_heap_bytes: Option<f64>,
}

impl Default for HeapRule {
    fn default() -> Self {
        HeapRule {
            go_gogc_percent: 100.0,
            jvm_occupancy: 0.7,
            jvm_max_ram_fraction: None,
            non_heap_bytes: None,
        }
    }
}

impl HeapRule {
    /// The first invalid field, with why.
    pub fn problem(&self) -> Option<(&'static str, String, &'static str)> {
        if !(self.go_gogc_percent.is_finite() && self.go_gogc_percent > 0.0) {
            return Some((
                "resources.memory_runtime.go_gogc_percent",
                self.go_gogc_percent.to_string(),
                "must be positive and finite",
            ));
        }
        if !(self.jvm_occupancy > 0.0 && self.jvm_occupancy <= 1.0) {
            return Some((
                "resources.memory_runtime.jvm_occupancy",
                self.jvm_occupancy.to_string(),
                "must lie in (0, 1]",
            ));
        }
        if let Some(f) = self.jvm_max_ram_fraction {
            if !(f > 0.0 && f <= 1.0) {
                return Some((
                    "resources.memory_runtime.jvm_max_ram_fraction",
                    f.to_string(),
                    "must lie in (0, 1]",
                ));
            }
        }
        if let Some(n) = self.non_heap_bytes {
            if !(n.is_finite() && n >= 0.0) {
                return Some((
                    "resources.memory_runtime.non_heap",
                    n.to_string(),
                    "must be finite and non-negative",
                ));
            }
        }
        None
    }
}

/// What the heap rule gave for one replica, as recorded with the memory decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeapSizing {
    /// `go` or `jvm`.
    pub runtime: String,
    /// Live heap after GC as reported, and how direct the figure is.
    pub live_heap_bytes: f64,
    pub basis: String,
    /// Per-replica demand rise to the lead time the live heap was scaled by (≥ 1).
    pub load_factor: f64,
    /// The heap the rule asks for.
    pub heap_bytes: f64,
    pub non_heap_bytes: f64,
    /// Per-replica memory: heap and non-heap by the runtime's rule.
    pub memory_bytes: f64,
    pub rule: String,
}

/// Checks an estimate's numbers; `Err` names the first bad field.
pub fn check_estimate(workload: &str, e: &HeapEstimate) -> Result<(), SignalError> {
    let bad = |field: &'static str, value: f64| SignalError::Heap {
        workload: workload.to_string(),
        field,
        value,
    };
    if !(e.live_heap_bytes.is_finite() && e.live_heap_bytes > 0.0) {
        return Err(bad("live_heap_bytes", e.live_heap_bytes));
    }
    let optional = [
        ("heap_limit_bytes", e.heap_limit_bytes),
        ("gogc_percent", e.gogc_percent),
    ];
    for (field, v) in optional {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(field, v));
            }
        }
    }
    Ok(())
}

/// Per-replica memory for a checked estimate under `rule`, the live heap scaled by `load_factor`
/// (taken as at least 1).
pub fn size_from_heap(e: &HeapEstimate, rule: &HeapRule, load_factor: f64) -> HeapSizing {
    let load = if load_factor.is_finite() {
        load_factor.max(1.0)
    } else {
        1.0
    };
    let live = e.live_heap_bytes * load;
    let basis = match e.basis {
        LiveHeapBasis::AfterGc => "after GC",
        LiveHeapBasis::FromGcGoal => "from the GC goal",
        LiveHeapBasis::InUseUpperBound => "in use (upper bound)",
    };
    let mib = |b: f64| b / MIB;
    match e.runtime {
        GcRuntime::Go => {
            let gogc = e.gogc_percent.unwrap_or(rule.go_gogc_percent);
            let goal = live * (1.0 + gogc / 100.0);
            let heap = match e.heap_limit_bytes {
                Some(limit) => goal.min(limit).max(live),
                None => goal,
            };
            let non_heap = rule.non_heap_bytes.unwrap_or(GO_NON_HEAP_BYTES);
            let capped = e
                .heap_limit_bytes
                .filter(|l| *l < goal)
                .map(|l| format!(", capped at GOMEMLIMIT {:.0} MiB", mib(l)))
                .unwrap_or_default();
            HeapSizing {
                runtime: "go".into(),
                live_heap_bytes: e.live_heap_bytes,
                basis: basis.into(),
                load_factor: load,
                heap_bytes: heap,
                non_heap_bytes: non_heap,
                memory_bytes: heap + non_heap,
                rule: format!(
                    "Go: live heap {:.0} MiB ({basis}) × load {load:.2} × (1 + GOGC {gogc:.0}/100) \
                     = {:.0} MiB{capped}, + non-heap {:.0} MiB = {:.0} MiB",
                    mib(e.live_heap_bytes),
                    mib(goal),
                    mib(non_heap),
                    mib(heap + non_heap)
                ),
            }
        }
        GcRuntime::Jvm => {
            let heap = live / rule.jvm_occupancy;
            let non_heap = rule.non_heap_bytes.unwrap_or(JVM_NON_HEAP_BYTES);
            let (memory, how) = match (rule.jvm_max_ram_fraction, e.heap_limit_bytes) {
                (Some(f), _) => (
                    (heap / f).max(heap + non_heap),
                    format!(
                        "max(heap / MaxRAMPercentage {:.0}%, heap + non-heap {:.0} MiB)",
                        f * 100.0,
                        mib(non_heap)
                    ),
                ),
                (None, Some(max_heap)) if max_heap > heap => (
                    max_heap + non_heap,
                    format!(
                        "the heap may grow to its max {:.0} MiB: max heap + non-heap {:.0} MiB",
                        mib(max_heap),
                        mib(non_heap)
                    ),
                ),
                (None, _) => (
                    heap + non_heap,
                    format!("+ non-heap {:.0} MiB", mib(non_heap)),
                ),
            };
            HeapSizing {
                runtime: "jvm".into(),
                live_heap_bytes: e.live_heap_bytes,
                basis: basis.into(),
                load_factor: load,
                heap_bytes: heap,
                non_heap_bytes: non_heap,
                memory_bytes: memory,
                rule: format!(
                    "JVM: live heap {:.0} MiB ({basis}) × load {load:.2} / occupancy {:.2} = \
                     {:.0} MiB heap; {how} = {:.0} MiB",
                    mib(e.live_heap_bytes),
                    rule.jvm_occupancy,
                    mib(heap),
                    mib(memory)
                ),
            }
        }
    }
}

/// The newest heap estimate handed to the controller and when.
#[derive(Debug, Clone)]
pub(crate) struct HeapReading {
    pub at: Timestamp,
    pub estimate: HeapEstimate,
}

/// OOM kills waiting for a memory raise: from the agent's counter (`kills`, the counter `total`
/// at the newest) and from pod status (`pod_kills`, `lastState` `OOMKilled`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OomPending {
    pub kills: u64,
    pub total: f64,
    pub pod_kills: u64,
}

/// OOM kills seen through the agent's counter and in pod status.
#[derive(Debug, Clone, Default)]
pub(crate) struct OomWatch {
    /// The counter's last reading.
    last: Option<f64>,
    /// Counter kills not yet answered by a memory raise.
    pending: u64,
    /// The counter at the newest kill.
    total: f64,
    /// Pod-status kills not yet answered.
    pod_pending: u64,
    /// When the newest raise was decided: a pod kill that finished before it was answered by it
    /// (the agent's counter may have reported the same kill first).
    raised_at: Option<Timestamp>,
}

impl OomWatch {
    /// Takes a reading of the cumulative counter: an increase is that many new kills; a decrease
    /// is a reset (the cgroup was recreated), not a kill; the first reading is the base.
    pub fn observe(&mut self, total: f64) {
        if let Some(last) = self.last {
            if total > last {
                self.pending += (total - last).round().max(1.0) as u64;
                self.total = total;
            }
        }
        self.last = Some(total);
    }

    /// Takes a kill seen in pod status, finished at `finished_at` when known; one that finished
    /// before the newest raise was decided is already answered (returns `false`).
    pub fn observe_pod_kill(&mut self, finished_at: Option<Timestamp>) -> bool {
        if let (Some(f), Some(r)) = (finished_at, self.raised_at) {
            if f <= r {
                return false;
            }
        }
        self.pod_pending += 1;
        true
    }

    /// Kills since the last raise.
    pub fn pending(&self) -> Option<OomPending> {
        (self.pending + self.pod_pending > 0).then_some(OomPending {
            kills: self.pending,
            total: self.total,
            pod_kills: self.pod_pending,
        })
    }

    /// The raise was decided at `at`; returns when the one before was (for [`Self::unanswered`]).
    pub fn answered(&mut self, at: Timestamp) -> Option<Timestamp> {
        self.pending = 0;
        self.pod_pending = 0;
        self.raised_at.replace(at)
    }

    /// The raise was not applied: its kills wait again, and the raise before stands.
    pub fn unanswered(&mut self, kills: OomPending, raised_before: Option<Timestamp>) {
        self.pending += kills.kills;
        self.pod_pending += kills.pod_kills;
        self.total = self.total.max(kills.total);
        self.raised_at = raised_before;
    }
}

/// The OOM part of a memory decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OomBump {
    /// Kills since the previous decision, and the counter.
    pub kills: u64,
    pub kills_total: f64,
    /// Kills seen in pod status (`lastState.terminated.reason` `OOMKilled`) since then.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pod_kills: u64,
    /// `max(last request × 1.5, peak use per replica × 1.2)` (`None` when neither is known).
    pub floor_bytes: Option<f64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The floor an OOM kill sets: `max(last request × 1.5, peak per replica × 1.2)`.
pub fn oom_floor(last_request: Option<f64>, peak_per_replica: Option<f64>) -> Option<f64> {
    let a = last_request.map(|r| r * OOM_LIMIT_FACTOR);
    let b = peak_per_replica.map(|p| p * OOM_PEAK_FACTOR);
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
    .filter(|v| v.is_finite() && *v > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(live: f64) -> HeapEstimate {
        HeapEstimate {
            runtime: GcRuntime::Go,
            live_heap_bytes: live,
            basis: LiveHeapBasis::AfterGc,
            heap_limit_bytes: None,
            heap_goal_bytes: None,
            gogc_percent: None,
            gc_cycles_total: None,
            gc_pause_seconds_total: None,
        }
    }

    #[test]
    fn go_doubles_the_live_heap_at_gogc_100_and_caps_at_gomemlimit() {
        let s = size_from_heap(&go(100.0 * MIB), &HeapRule::default(), 1.0);
        assert_eq!(s.heap_bytes, 200.0 * MIB);
        assert_eq!(s.memory_bytes, 232.0 * MIB);
        let mut e = go(100.0 * MIB);
        e.gogc_percent = Some(50.0);
        e.heap_limit_bytes = Some(120.0 * MIB);
        let s = size_from_heap(&e, &HeapRule::default(), 1.0);
        assert_eq!(s.heap_bytes, 120.0 * MIB, "{}", s.rule);
        assert!(s.rule.contains("GOMEMLIMIT"), "{}", s.rule);
        // A limit below the live heap cannot shrink it.
        e.heap_limit_bytes = Some(50.0 * MIB);
        assert_eq!(
            size_from_heap(&e, &HeapRule::default(), 1.0).heap_bytes,
            100.0 * MIB
        );
        // Load below 1 is taken as 1; above scales the live heap.
        assert_eq!(
            size_from_heap(&go(100.0 * MIB), &HeapRule::default(), 0.5).heap_bytes,
            200.0 * MIB
        );
        assert_eq!(
            size_from_heap(&go(100.0 * MIB), &HeapRule::default(), 1.5).heap_bytes,
            300.0 * MIB
        );
    }

    #[test]
    fn jvm_divides_by_occupancy_and_honours_max_heap_or_ram_fraction() {
        let mut e = go(700.0 * MIB);
        e.runtime = GcRuntime::Jvm;
        let s = size_from_heap(&e, &HeapRule::default(), 1.0);
        assert!((s.heap_bytes - 1000.0 * MIB).abs() < 1.0);
        assert!((s.memory_bytes - 1256.0 * MIB).abs() < 1.0);
        e.heap_limit_bytes = Some(2048.0 * MIB);
        let s = size_from_heap(&e, &HeapRule::default(), 1.0);
        assert_eq!(s.memory_bytes, 2304.0 * MIB, "{}", s.rule);
        let rule = HeapRule {
            jvm_max_ram_fraction: Some(0.5),
            ..HeapRule::default()
        };
        let s = size_from_heap(&e, &rule, 1.0);
        assert!((s.memory_bytes - 2000.0 * MIB).abs() < 1.0, "{}", s.rule);
    }

    #[test]
    fn bad_estimates_and_rules_are_named() {
        for (live, field) in [
            (f64::NAN, "live_heap_bytes"),
            (-1.0, "live_heap_bytes"),
            (0.0, "live_heap_bytes"),
        ] {
            let err = check_estimate("web", &go(live)).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
        let mut e = go(1e6);
        e.heap_limit_bytes = Some(f64::INFINITY);
        assert!(check_estimate("web", &e)
            .unwrap_err()
            .to_string()
            .contains("heap_limit_bytes"));
        let rule = HeapRule {
            jvm_occupancy: 1.5,
            ..HeapRule::default()
        };
        assert_eq!(
            rule.problem().unwrap().0,
            "resources.memory_runtime.jvm_occupancy"
        );
        assert!(HeapRule::default().problem().is_none());
    }

    #[test]
    fn oom_counter_increases_are_kills_and_decreases_resets() {
        let mut w = OomWatch::default();
        w.observe(3.0);
        assert_eq!(w.pending(), None, "the first reading is the base");
        w.observe(5.0);
        let p = w.pending().unwrap();
        assert_eq!((p.kills, p.total, p.pod_kills), (2, 5.0, 0));
        w.answered(Timestamp(10_000));
        w.observe(0.0);
        assert_eq!(w.pending(), None, "a reset is not a kill");
        w.observe(1.0);
        assert_eq!(w.pending().map(|p| (p.kills, p.total)), Some((1, 1.0)));
        assert_eq!(oom_floor(Some(100.0), Some(90.0)), Some(150.0));
        assert_eq!(oom_floor(None, Some(200.0)), Some(240.0));
        assert_eq!(oom_floor(None, None), None);
    }

    #[test]
    fn a_pod_kill_before_the_newest_raise_was_answered_by_it() {
        let mut w = OomWatch::default();
        assert!(w.observe_pod_kill(Some(Timestamp(5_000))));
        let p = w.pending().unwrap();
        assert_eq!((p.kills, p.pod_kills), (0, 1));
        assert_eq!(w.answered(Timestamp(10_000)), None);
        // The same kill reported again (or by the other source) finished before the raise.
        assert!(!w.observe_pod_kill(Some(Timestamp(9_000))));
        assert_eq!(w.pending(), None);
        assert!(w.observe_pod_kill(Some(Timestamp(11_000))));
        assert!(w.observe_pod_kill(None), "no finish time: counted");
        // Not applied: the kills wait again and the earlier raise time stands.
        let p = w.pending().unwrap();
        let before = w.answered(Timestamp(20_000));
        w.unanswered(p, before);
        assert_eq!(w.pending().map(|p| p.pod_kills), Some(2));
        assert!(w.observe_pod_kill(Some(Timestamp(15_000))));
    }
}

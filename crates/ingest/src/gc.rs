//! Garbage-collector metrics in scraped samples: a typed live-heap-after-GC estimate for Go and JVM workloads.
//!
//! Memory sized from RSS alone counts garbage the collector has not yet freed; what a runtime needs
//! is its live heap after a collection plus the runtime's own headroom rule. [`HeapEstimate::from_samples`]
//! reads one workload's samples (one scrape target) and recognises, strongest basis first:
//!
//! | runtime | live heap after GC | basis |
//! |---|---|---|
//! | Go | `go_gc_heap_live_bytes` (runtime/metrics `/gc/heap/live:bytes`) | [`LiveHeapBasis::AfterGc`] |
//! | Go | `go_memstats_next_gc_bytes` / (1 + `go_gc_gogc_percent`/100, GOGC 100 when absent) | [`LiveHeapBasis::FromGcGoal`] |
//! | Go | `go_memstats_heap_inuse_bytes` | [`LiveHeapBasis::InUseUpperBound`] |
//! | JVM | `jvm_gc_live_data_size_bytes` (Micrometer: old generation after a collection) | `AfterGc` |
//! | JVM | Σ `jvm_memory_pool_collection_used_bytes` (client_java: each pool after its last collection) | `AfterGc` |
//! | JVM | Σ `jvm_memory_used_bytes{area="heap"}` | `InUseUpperBound` |
//!
//! beside the heap's limit (`go_gc_gomemlimit_bytes` when set, Σ `jvm_memory_max_bytes{area="heap"}`),
//! the Go heap goal (`go_memstats_next_gc_bytes`) and GOGC, and the collector's cycles and pause
//! seconds (`go_gc_duration_seconds_{count,sum}`, `jvm_gc_pause_seconds_{count,sum}`,
//! `jvm_gc_collection_seconds_{count,sum}`). Non-finite and negative values (a JVM pool's max of -1)
//! are ignored.

use crate::RawSample;

/// The runtime whose collector the metrics came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcRuntime {
    Go,
    Jvm,
}

/// How direct the live-heap figure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LiveHeapBasis {
    /// Measured after a collection by the runtime.
    AfterGc,
    /// Derived from the Go heap goal: goal / (1 + GOGC/100).
    FromGcGoal,
    /// Heap in use now, garbage included: an upper bound.
    InUseUpperBound,
}

/// One workload's heap as its runtime reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeapEstimate {
    pub runtime: GcRuntime,
    /// Bytes live after garbage collection (see `basis`).
    pub live_heap_bytes: f64,
    pub basis: LiveHeapBasis,
    /// The heap's limit: GOMEMLIMIT (when not "unlimited") or the JVM's max heap.
    pub heap_limit_bytes: Option<f64>,
    /// Go: the heap size that triggers the next collection.
    pub heap_goal_bytes: Option<f64>,
    /// Go: GOGC in percent, when exported.
    pub gogc_percent: Option<f64>,
    /// Collections so far (a counter).
    pub gc_cycles_total: Option<f64>,
    /// Seconds paused in collections so far (a counter).
    pub gc_pause_seconds_total: Option<f64>,
}

/// GOMEMLIMIT's "no limit" is math.MaxInt64; anything this large is no limit.
const NO_LIMIT: f64 = 9.0e18;

#[derive(Default)]
struct Seen {
    go_live: Option<f64>,
    go_next_gc: Option<f64>,
    go_gogc: Option<f64>,
    go_inuse: Option<f64>,
    go_memlimit: Option<f64>,
    go_gc_count: Option<f64>,
    go_gc_sum: Option<f64>,
    jvm_live: Option<f64>,
    jvm_pool_after_gc: Option<f64>,
    jvm_heap_used: Option<f64>,
    jvm_heap_max: Option<f64>,
    jvm_gc_count: Option<f64>,
    jvm_gc_sum: Option<f64>,
}

fn set(slot: &mut Option<f64>, v: f64) {
    *slot = Some(v);
}
fn add(slot: &mut Option<f64>, v: f64) {
    *slot = Some(slot.unwrap_or(0.0) + v);
}

impl HeapEstimate {
    /// The estimate from one workload's samples, or `None` when no GC metric of a known runtime
    /// is among them.
    pub fn from_samples<'a>(
        samples: impl IntoIterator<Item = &'a RawSample>,
    ) -> Option<HeapEstimate> {
        let mut s = Seen::default();
        for x in samples {
            let v = x.value;
            if !v.is_finite() || v < 0.0 {
                continue;
            }
            let heap = x.label("area") == Some("heap");
            match x.name.as_str() {
                "go_gc_heap_live_bytes" => set(&mut s.go_live, v),
                "go_memstats_next_gc_bytes" => set(&mut s.go_next_gc, v),
                "go_gc_gogc_percent" => set(&mut s.go_gogc, v),
                "go_memstats_heap_inuse_bytes" => set(&mut s.go_inuse, v),
                "go_gc_gomemlimit_bytes" => set(&mut s.go_memlimit, v),
                "go_gc_duration_seconds_count" => set(&mut s.go_gc_count, v),
                "go_gc_duration_seconds_sum" => set(&mut s.go_gc_sum, v),
                "jvm_gc_live_data_size_bytes" => set(&mut s.jvm_live, v),
                "jvm_memory_pool_collection_used_bytes" => add(&mut s.jvm_pool_after_gc, v),
                "jvm_memory_used_bytes" if heap => add(&mut s.jvm_heap_used, v),
                "jvm_memory_max_bytes" if heap => add(&mut s.jvm_heap_max, v),
                // Micrometer (one series per collector and cause) and client_java (per collector).
                "jvm_gc_pause_seconds_count" | "jvm_gc_collection_seconds_count" => {
                    add(&mut s.jvm_gc_count, v)
                }
                "jvm_gc_pause_seconds_sum" | "jvm_gc_collection_seconds_sum" => {
                    add(&mut s.jvm_gc_sum, v)
                }
                _ => {}
            }
        }
        s.go().or_else(|| s.jvm())
    }
}

impl Seen {
    fn go(&self) -> Option<HeapEstimate> {
        let from_goal = self.go_next_gc.filter(|g| *g > 0.0).map(|goal| {
            let gogc = self.go_gogc.filter(|p| *p > 0.0).unwrap_or(100.0);
            goal / (1.0 + gogc / 100.0)
        });
        let (live, basis) = if let Some(l) = self.go_live {
            (l, LiveHeapBasis::AfterGc)
        } else if let Some(l) = from_goal {
            (l, LiveHeapBasis::FromGcGoal)
        } else {
            (self.go_inuse?, LiveHeapBasis::InUseUpperBound)
        };
        Some(HeapEstimate {
            runtime: GcRuntime::Go,
            live_heap_bytes: live,
            basis,
            heap_limit_bytes: self.go_memlimit.filter(|l| *l > 0.0 && *l < NO_LIMIT),
            heap_goal_bytes: self.go_next_gc,
            gogc_percent: self.go_gogc,
            gc_cycles_total: self.go_gc_count,
            gc_pause_seconds_total: self.go_gc_sum,
        })
    }

    fn jvm(&self) -> Option<HeapEstimate> {
        let (live, basis) = if let Some(l) = self.jvm_live {
            (l, LiveHeapBasis::AfterGc)
        } else if let Some(l) = self.jvm_pool_after_gc {
            (l, LiveHeapBasis::AfterGc)
        } else {
            (self.jvm_heap_used?, LiveHeapBasis::InUseUpperBound)
        };
        Some(HeapEstimate {
            runtime: GcRuntime::Jvm,
            live_heap_bytes: live,
            basis,
            heap_limit_bytes: self.jvm_heap_max.filter(|m| *m > 0.0),
            heap_goal_bytes: None,
            gogc_percent: None,
            gc_cycles_total: self.jvm_gc_count,
            gc_pause_seconds_total: self.jvm_gc_sum,
        })
    }
}

#[cfg(test)]
mod tests;

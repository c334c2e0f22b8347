//! Go and JVM exposition fixtures (client_golang, client_java, Micrometer) through the parser into heap estimates.

use super::*;
use crate::exposition::{parse, Format};

fn estimate(text: &str) -> Option<HeapEstimate> {
    let e = parse(text, Format::Text).expect("fixture parses");
    HeapEstimate::from_samples(&e.samples)
}

const GO_OLD: &str =
    "# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile=\"0\"} 2.1e-05
go_gc_duration_seconds{quantile=\"1\"} 0.00041
go_gc_duration_seconds_sum 0.0123
go_gc_duration_seconds_count 57
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 3.2e+07
# TYPE go_memstats_next_gc_bytes gauge
go_memstats_next_gc_bytes 4e+07
";

#[test]
fn go_from_the_gc_goal_with_default_gogc() {
    let h = estimate(GO_OLD).unwrap();
    assert_eq!(h.runtime, GcRuntime::Go);
    assert_eq!(h.basis, LiveHeapBasis::FromGcGoal);
    assert_eq!(h.live_heap_bytes, 2e7, "goal 40 MB at GOGC 100: 20 MB live");
    assert_eq!(h.heap_goal_bytes, Some(4e7));
    assert_eq!(h.gc_cycles_total, Some(57.0));
    assert_eq!(h.gc_pause_seconds_total, Some(0.0123));
    assert_eq!(h.heap_limit_bytes, None);
}

#[test]
fn go_live_bytes_gogc_and_memlimit() {
    let text =
        format!("{GO_OLD}go_gc_gogc_percent 50\ngo_gc_gomemlimit_bytes 9.223372036854776e+18\n");
    let h = estimate(&text).unwrap();
    assert_eq!(
        (h.live_heap_bytes, h.basis),
        (4e7 / 1.5, LiveHeapBasis::FromGcGoal)
    );
    assert_eq!(h.heap_limit_bytes, None, "math.MaxInt64 is no limit");
    let text = format!("{text}go_gc_heap_live_bytes 1.8e+07\ngo_gc_gomemlimit_bytes 5e8\n");
    let h = estimate(&text).unwrap();
    assert_eq!(
        (h.live_heap_bytes, h.basis),
        (1.8e7, LiveHeapBasis::AfterGc)
    );
    assert_eq!(h.heap_limit_bytes, Some(5e8));
    let only_inuse = estimate("go_memstats_heap_inuse_bytes 7e6\n").unwrap();
    assert_eq!(only_inuse.basis, LiveHeapBasis::InUseUpperBound);
}

#[test]
fn jvm_micrometer_client_java_and_in_use_only() {
    let micrometer = "jvm_gc_live_data_size_bytes 1.5e+08
jvm_gc_max_data_size_bytes 1.0e+09
jvm_memory_used_bytes{area=\"heap\",id=\"G1 Eden Space\"} 2e+08
jvm_memory_used_bytes{area=\"heap\",id=\"G1 Old Gen\"} 1.6e+08
jvm_memory_used_bytes{area=\"nonheap\",id=\"Metaspace\"} 9e+07
jvm_memory_max_bytes{area=\"heap\",id=\"G1 Eden Space\"} -1
jvm_memory_max_bytes{area=\"heap\",id=\"G1 Old Gen\"} 1.0e+09
jvm_gc_pause_seconds_count{action=\"end of minor GC\",cause=\"G1 Evacuation Pause\"} 40
jvm_gc_pause_seconds_sum{action=\"end of minor GC\",cause=\"G1 Evacuation Pause\"} 0.8
jvm_gc_pause_seconds_count{action=\"end of major GC\",cause=\"System.gc()\"} 2
jvm_gc_pause_seconds_sum{action=\"end of major GC\",cause=\"System.gc()\"} 0.2
";
    let h = estimate(micrometer).unwrap();
    assert_eq!(h.runtime, GcRuntime::Jvm);
    assert_eq!(
        (h.live_heap_bytes, h.basis),
        (1.5e8, LiveHeapBasis::AfterGc)
    );
    assert_eq!(h.heap_limit_bytes, Some(1e9), "the -1 pool is left out");
    assert_eq!(h.gc_cycles_total, Some(42.0));
    assert!((h.gc_pause_seconds_total.unwrap() - 1.0).abs() < 1e-12);

    let client_java = "jvm_memory_pool_collection_used_bytes{pool=\"G1 Eden Space\"} 0
jvm_memory_pool_collection_used_bytes{pool=\"G1 Old Gen\"} 1.2e+08
jvm_memory_pool_collection_used_bytes{pool=\"G1 Survivor Space\"} 4e+06
jvm_gc_collection_seconds_count{gc=\"G1 Young Generation\"} 12
jvm_gc_collection_seconds_sum{gc=\"G1 Young Generation\"} 0.3
";
    let h = estimate(client_java).unwrap();
    assert_eq!(
        (h.live_heap_bytes, h.basis),
        (1.24e8, LiveHeapBasis::AfterGc)
    );
    assert_eq!(h.gc_cycles_total, Some(12.0));

    let used = "jvm_memory_used_bytes{area=\"heap\",id=\"a\"} 1e8\njvm_memory_used_bytes{area=\"heap\",id=\"b\"} 2e8\n";
    let h = estimate(used).unwrap();
    assert_eq!(
        (h.live_heap_bytes, h.basis),
        (3e8, LiveHeapBasis::InUseUpperBound)
    );
}

#[test]
fn other_workloads_and_bad_values_give_nothing() {
    assert_eq!(
        estimate("http_requests_total 5\nprocess_resident_memory_bytes 1e9\n"),
        None
    );
    assert_eq!(estimate("go_memstats_heap_inuse_bytes NaN\n"), None);
    assert_eq!(
        estimate("jvm_memory_used_bytes{area=\"nonheap\"} 5\n"),
        None
    );
    assert_eq!(HeapEstimate::from_samples(&[]), None);
}

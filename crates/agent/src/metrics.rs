//! Names of the metrics the agent reports, one series per workload each.

/// CPU used, in cores (user + system seconds per second).
pub const CPU_CORES: &str = "cpu_cores";
/// Resident set size summed over the workload's processes (shared pages counted per process).
pub const RSS_BYTES: &str = "rss_bytes";
/// Bytes fetched from the block layer per second (`/proc/<pid>/io` read_bytes).
pub const READ_BYTES_PER_S: &str = "read_bytes_per_s";
/// Bytes sent to the block layer per second (write_bytes; counted at write-back).
pub const WRITE_BYTES_PER_S: &str = "write_bytes_per_s";
/// Bytes passed to read-like system calls per second (rchar, page-cache hits and pipes included).
pub const READ_CHARS_PER_S: &str = "read_chars_per_s";
/// Bytes passed to write-like system calls per second (wchar).
pub const WRITE_CHARS_PER_S: &str = "write_chars_per_s";
/// Read-like system calls per second.
pub const SYSCR_PER_S: &str = "syscr_per_s";
/// Write-like system calls per second.
pub const SYSCW_PER_S: &str = "syscw_per_s";
/// Threads.
pub const THREADS: &str = "threads";
/// Voluntary context switches per second (main threads only unless `thread_ctx_switches`).
pub const CTX_VOLUNTARY_PER_S: &str = "ctx_switches_voluntary_per_s";
/// Involuntary context switches per second (main threads only unless `thread_ctx_switches`).
pub const CTX_INVOLUNTARY_PER_S: &str = "ctx_switches_involuntary_per_s";
/// Open file descriptors.
pub const OPEN_FDS: &str = "open_fds";
/// Processes in the workload.
pub const PROCESSES: &str = "processes";
/// Network bytes received per second by the workload's network namespace (loopback excluded).
pub const NET_RX_BYTES_PER_S: &str = "net_rx_bytes_per_s";
/// Network bytes sent per second by the workload's network namespace (loopback excluded).
pub const NET_TX_BYTES_PER_S: &str = "net_tx_bytes_per_s";
/// Memory charged to the workload's cgroups (v2 `memory.current`, v1 `memory.usage_in_bytes`).
pub const CGROUP_MEMORY_BYTES: &str = "cgroup_memory_bytes";

/// Processes the OOM killer took in the workload's cgroups, a counter (v2 `memory.events`, v1
/// `memory.oom_control` `oom_kill`); its increases also come as [`crate::oom::OomKill`]s.
pub const OOM_KILLS_TOTAL: &str = "oom_kills_total";

/// Every metric, in the order points are emitted for a workload.
pub const ALL: [&str; 17] = [
    CPU_CORES,
    RSS_BYTES,
    READ_BYTES_PER_S,
    WRITE_BYTES_PER_S,
    READ_CHARS_PER_S,
    WRITE_CHARS_PER_S,
    SYSCR_PER_S,
    SYSCW_PER_S,
    THREADS,
    CTX_VOLUNTARY_PER_S,
    CTX_INVOLUNTARY_PER_S,
    OPEN_FDS,
    PROCESSES,
    NET_RX_BYTES_PER_S,
    NET_TX_BYTES_PER_S,
    CGROUP_MEMORY_BYTES,
    OOM_KILLS_TOTAL,
];

/// One point per workload, value 1, every `INFO_EVERY` and when first seen: the host's hardware and
/// software and the workload's language runtime as labels (a Prometheus info metric's shape).
pub const ENVIRONMENT_INFO: &str = "environment_info";

//! The built-in agent: per-process and per-cgroup resource sampling from /proc and /sys.
//!
//! [`Agent::sample`] lists processes under `proc_root`, reads `stat`, `status`, `io` and the size
//! of `fd` for each, groups them into workloads by ordered [`GroupRule`]s (the command name by
//! default), turns counters into per-second rates between consecutive readings of the same
//! `(pid, starttime)`, and sums them per workload into [`prescale_core::Point`]s labelled
//! `source=agent` and `host=<hostname>`.
//!
//! Network bytes exist per network namespace, not per process: the agent reads
//! `/proc/<pid>/net/dev` once per namespace (loopback excluded) and gives the namespace's rates to
//! the workload that owns it alone (a container or pod); workloads that share a namespace with
//! others, such as everything in the host's namespace, get no network series unless
//! [`NetAttribution::Shared`] is chosen (then each gets the whole namespace's bytes).
//!
//! Limits of the sources: `cpu_cores` comes from `utime + stime` in clock ticks (10 ms at the usual
//! 100 Hz), so a 10 ms sample reads 0, 1 or 2 ticks and only averages over several samples are
//! precise. Context switches in `/proc/<pid>/status` are the main thread's; set
//! `thread_ctx_switches` to sum every thread's (one more file per thread). `write_bytes_per_s`
//! counts bytes reaching the block layer, at write-back and not at all on tmpfs;
//! `write_chars_per_s` counts what the process passed to write calls. Run as root (or with
//! CAP_SYS_PTRACE) to read other users' `io`, `fd` and `environ`.
//!
//! Cost: between listings (every `rescan`, 1 s) only tracked processes are read, through files kept
//! open (`keep_open`); excluded processes are not re-read at listings once settled. The
//! `overhead` example measures the CPU per sample against prometheus-node-exporter.
//!
//! Below 10 ms, `[agent.watch]` names a few processes that a [`Watcher`] reads down to every
//! millisecond with nanosecond CPU time, stored per step as mean and peak (see [`watch`]). The
//! agent runs it on its own thread and hands the finished steps' points on with every sample.
//!
//! Processes that exit between two samples lose the counters of their last interval; processes
//! that start between two samples count from zero. Processes that vanish mid-read, unreadable
//! files (another user's `io`) and malformed files are skipped and counted in [`SampleStats`].

pub mod agent;
mod aggregate;
pub mod config;
pub mod env;
pub mod error;
pub mod metrics;
pub mod oom;
pub mod overhead;
pub mod parse;
mod reader;
pub mod rules;
pub mod watch;

pub use agent::{Agent, AgentSample, SampleStats};
pub use config::{check_interval, AgentConfig, NetAttribution, Pattern, Unmatched};
pub use error::AgentError;
pub use overhead::Overhead;
pub use rules::{GroupRule, Matcher};
pub use watch::{WatchConfig, WatchStep, Watcher};

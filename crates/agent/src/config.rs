//! Agent configuration: interval, grouping rules, filters and where /proc and /sys live (serde, validated once).

use crate::error::AgentError;
use crate::rules::GroupRule;
use crate::watch::WatchConfig;
use regex::Regex;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Shortest sampling interval the agent accepts.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// Longest sampling interval the agent accepts.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// What the agent samples and how it groups processes into workloads.
///
/// ```toml
/// interval = "1s"
/// include = ["^(nginx|postgres)"]
/// [[rules]]
/// cgroup = "/kubepods/.*/pod(?P<pod>[^/]+)"
/// workload = "pod-$pod"
/// [[rules]]
/// env = "PRESCALE_WORKLOAD"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Time between samples, 10 ms to 1 h (`"10ms"`, `"1s"`, `"5m"`, or a number of seconds).
    #[serde(deserialize_with = "de_duration")]
    pub interval: Duration,
    /// How often the whole process table is listed to find new processes (1 s by default); between
    /// listings only the processes already tracked are read. Every sample lists when `interval >= rescan`.
    #[serde(deserialize_with = "de_duration")]
    pub rescan: Duration,
    /// How often a tracked process is classified again (it may have changed cgroup); a changed
    /// command name always reclassifies at once.
    #[serde(deserialize_with = "de_duration")]
    pub reclassify: Duration,
    /// Ordered grouping rules; the first that matches names the workload.
    pub rules: Vec<GroupRule>,
    /// What happens to a process no rule matches.
    pub unmatched: Unmatched,
    /// Keep only workloads whose name matches one of these (all when empty).
    pub include: Vec<Pattern>,
    /// Drop workloads whose name matches one of these.
    pub exclude: Vec<Pattern>,
    /// Also sample kernel threads (off: they have no user-space workload).
    pub kernel_threads: bool,
    /// Omit a workload from a sample when its CPU use is below this many cores (0 keeps all).
    pub min_cpu_cores: f64,
    /// Root of the proc file system (a fake tree in tests).
    pub proc_root: PathBuf,
    /// Root of the sys file system (cgroup controller files live under `fs/cgroup`).
    pub sys_root: PathBuf,
    /// Value of the `host` label; the kernel host name when absent.
    pub hostname: Option<String>,
    /// How network bytes, which Linux counts per network namespace, are given to workloads.
    pub net: NetAttribution,
    /// Report `cgroup_memory_bytes` for workloads grouped by a cgroup, systemd-unit or container rule.
    pub cgroup_memory: bool,
    /// Sum context switches over every thread (reads `task/*/status`, costs one file per thread);
    /// off: the main thread's counts only.
    pub thread_ctx_switches: bool,
    /// Keep the `stat`, `status` and `io` files of up to this many tracked processes open between
    /// samples (three descriptors each) and re-read them in place: half the system calls, which
    /// matters at 10 ms intervals. 0 opens every file every time.
    pub keep_open: usize,
    /// `[agent.watch]`: a few processes read as often as every millisecond, stored as the mean
    /// and peak per step (see [`crate::watch`]); none by default.
    pub watch: Option<WatchConfig>,
    /// Record the host's hardware and software and each workload's language runtime, reported
    /// as an `environment_info` point per workload (see [`crate::env`]).
    pub environment: bool,
    /// Root of the host's file system, where container markers (`/.dockerenv`,
    /// `/run/.containerenv`) are looked for.
    pub root_fs: PathBuf,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            interval: Duration::from_secs(1),
            rescan: Duration::from_secs(1),
            reclassify: Duration::from_secs(30),
            rules: Vec::new(),
            unmatched: Unmatched::Command,
            include: Vec::new(),
            exclude: Vec::new(),
            kernel_threads: false,
            min_cpu_cores: 0.0,
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
            hostname: None,
            net: NetAttribution::Exclusive,
            cgroup_memory: true,
            thread_ctx_switches: false,
            keep_open: 64,
            watch: None,
            environment: true,
            root_fs: PathBuf::from("/"),
        }
    }
}

impl AgentConfig {
    /// The one validation pass: interval range, rescan and threshold sanity.
    pub fn validate(&self) -> Result<(), AgentError> {
        check_interval(self.interval)?;
        if let Some(w) = &self.watch {
            w.validate()?;
        }
        if self.rescan.is_zero() {
            return Err(AgentError::Config {
                field: "rescan".into(),
                reason: "must be positive".into(),
            });
        }
        if !self.min_cpu_cores.is_finite() || self.min_cpu_cores < 0.0 {
            return Err(AgentError::Config {
                field: "min_cpu_cores".into(),
                reason: format!("{} is not a finite non-negative number", self.min_cpu_cores),
            });
        }
        if let Some(h) = &self.hostname {
            if h.trim().is_empty() || h.chars().any(char::is_control) {
                return Err(AgentError::Config {
                    field: "hostname".into(),
                    reason: format!("{h:?} is empty or has control characters"),
                });
            }
        }
        Ok(())
    }
}

/// Check that a sampling interval lies within 10 ms ..= 1 h.
pub fn check_interval(got: Duration) -> Result<(), AgentError> {
    if (MIN_INTERVAL..=MAX_INTERVAL).contains(&got) {
        Ok(())
    } else {
        Err(AgentError::Interval {
            got,
            min: MIN_INTERVAL,
            max: MAX_INTERVAL,
        })
    }
}

/// Grouping of processes that match no rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// One workload per command name (`comm`), the default.
    Command,
    /// Not sampled.
    Drop,
}

/// How per-namespace network counters reach workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetAttribution {
    /// A workload gets its namespace's bytes only when it is alone in that namespace (containers,
    /// pods); workloads that share a namespace (usually the host's) get no network series.
    Exclusive,
    /// Every workload in a namespace gets the whole namespace's bytes (double counts when shared).
    Shared,
    /// No network series.
    Off,
}

/// A compiled regular expression read from configuration.
#[derive(Clone)]
pub struct Pattern(Regex);

impl Pattern {
    pub fn new(pattern: &str) -> Result<Self, AgentError> {
        Regex::new(pattern)
            .map(Pattern)
            .map_err(|e| AgentError::Regex {
                field: "pattern".into(),
                pattern: pattern.into(),
                source: Box::new(e),
            })
    }
    pub fn regex(&self) -> &Regex {
        &self.0
    }
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
    pub fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.as_str())
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Pattern::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A duration given as text (`"10ms"`, `"1s"`, `"5m"`) or as a number of seconds.
pub fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) if s.is_finite() && s > 0.0 && s < 1e12 => Ok(Duration::from_secs_f64(s)),
        Raw::Secs(s) => Err(serde::de::Error::custom(format!(
            "duration {s} is not a positive number of seconds"
        ))),
        Raw::Text(t) => prescale_core::time::parse_duration(&t)
            .and_then(|i| u64::try_from(i.millis()).ok())
            .map(Duration::from_millis)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "duration {t:?} is not understood (examples: 10ms, 1s, 5m)"
                ))
            }),
    }
}

//! OOM kills per workload from the memory cgroup's event counters: v2 `memory.events`, v1 `memory.oom_control`.
//!
//! Both files hold `key value` lines; `oom_kill` counts the processes the kernel's OOM killer took
//! in the cgroup (v2: and below it, unless mounted with `memory_localevents`). The agent sums it over
//! a workload's outermost cgroups into the stored counter `oom_kills_total` and reports every
//! increase as an [`OomKill`], so the control loop can raise memory at once instead of waiting for
//! the usage series to say so. A counter that goes down (the cgroup was recreated, a pod restarted)
//! is a reset: the new value is the base and no kill is reported.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// A cgroup file that does not have the kernel's shape.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{file}:{line}: {reason}")]
pub struct CgroupFileError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is the whole file (a missing line).
    pub line: usize,
    pub reason: String,
}

/// The counters of one `memory.events` (v2) or `memory.oom_control` (v1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryEvents {
    /// Processes killed by the OOM killer.
    pub oom_kill: u64,
    /// Times the cgroup hit its limit and the OOM killer was invoked (v2 `oom`).
    pub oom: Option<u64>,
    /// Times usage hit `memory.max` (v2 `max`).
    pub max: Option<u64>,
    /// Whole-group kills (v2 `oom_group_kill`, Linux 5.17+).
    pub oom_group_kill: Option<u64>,
}

/// Parse a `memory.events` or `memory.oom_control` file. Unknown keys are skipped (newer kernels
/// add some); a line that is not `key number`, or no `oom_kill` line, is an error naming the line.
pub fn parse_memory_events(text: &str, file: &Path) -> Result<MemoryEvents, CgroupFileError> {
    let err = |line: usize, reason: String| CgroupFileError {
        file: file.to_path_buf(),
        line,
        reason,
    };
    let mut ev = MemoryEvents::default();
    let mut kill = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err(i + 1, format!("{line:?} is not `key value`")));
        };
        let value: u64 = value
            .parse()
            .map_err(|_| err(i + 1, format!("{key}: {value:?} is not a count")))?;
        match key {
            "oom_kill" => kill = Some(value),
            "oom" => ev.oom = Some(value),
            "max" => ev.max = Some(value),
            "oom_group_kill" => ev.oom_group_kill = Some(value),
            _ => {}
        }
    }
    ev.oom_kill = kill.ok_or_else(|| err(0, "no oom_kill line".into()))?;
    Ok(ev)
}

/// The event file beside a memory usage file: `memory.current` → `memory.events` (v2),
/// `memory.usage_in_bytes` → `memory.oom_control` (v1).
pub fn events_file(usage_file: &str) -> Option<String> {
    if let Some(dir) = usage_file.strip_suffix("memory.current") {
        Some(format!("{dir}memory.events"))
    } else {
        usage_file
            .strip_suffix("memory.usage_in_bytes")
            .map(|dir| format!("{dir}memory.oom_control"))
    }
}

/// OOM kills seen in a workload's cgroups since the previous sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomKill {
    pub workload: prescale_core::WorkloadId,
    /// Processes killed since the previous sample.
    pub kills: u64,
    /// The workload's counter now (the stored `oom_kills_total`).
    pub total: u64,
}

/// A workload's OOM-kill counter between samples: an increase is kills, a decrease a reset.
pub(crate) fn increase(before: Option<u64>, now: u64) -> u64 {
    match before {
        Some(b) if now > b => now - b,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> PathBuf {
        PathBuf::from("/sys/fs/cgroup/kubepods/pod1/memory.events")
    }

    #[test]
    fn v2_and_v1_files() {
        let v2 = "low 0\nhigh 12\nmax 40\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(
            parse_memory_events(v2, &f()),
            Ok(MemoryEvents {
                oom_kill: 2,
                oom: Some(3),
                max: Some(40),
                oom_group_kill: Some(0)
            })
        );
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n";
        assert_eq!(parse_memory_events(v1, &f()).unwrap().oom_kill, 7);
        let newer = "low 0\nsock_throttled 5\noom_kill 1\n";
        assert_eq!(parse_memory_events(newer, &f()).unwrap().oom_kill, 1);
    }

    #[test]
    fn malformed_files_name_the_file_and_line() {
        let e = parse_memory_events("low 0\nhigh\noom_kill 1\n", &f()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/sys/fs/cgroup/kubepods/pod1/memory.events:2: \"high\" is not `key value`"
        );
        let e = parse_memory_events("oom_kill -1\n", &f()).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.reason.contains("\"-1\" is not a count"));
        let e = parse_memory_events("low 0\nmax 1 2\n", &f()).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_memory_events("low 0\n", &f()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/sys/fs/cgroup/kubepods/pod1/memory.events:0: no oom_kill line"
        );
        assert!(parse_memory_events("", &f()).is_err());
        assert!(parse_memory_events("\u{0}\u{1} garbage 99999999999999999999999\n", &f()).is_err());
    }

    #[test]
    fn event_files_and_resets() {
        assert_eq!(
            events_file("/sys/fs/cgroup/a/memory.current").as_deref(),
            Some("/sys/fs/cgroup/a/memory.events")
        );
        assert_eq!(
            events_file("/sys/fs/cgroup/memory/a/memory.usage_in_bytes").as_deref(),
            Some("/sys/fs/cgroup/memory/a/memory.oom_control")
        );
        assert_eq!(events_file("/x/memory.stat"), None);
        assert_eq!(increase(None, 5), 0, "the first reading is the base");
        assert_eq!(increase(Some(5), 7), 2);
        assert_eq!(increase(Some(7), 1), 0, "a reset");
    }
}

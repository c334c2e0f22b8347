//! `[agent.watch]`: the short list of processes sampled down to every millisecond, validated once.

use crate::config::{de_duration, Pattern};
use crate::error::AgentError;
use prescale_core::WorkloadId;
use serde::Deserialize;
use std::time::Duration;

/// Shortest watch interval: one millisecond.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_millis(1);
/// Longest watch interval (the grouped agent covers slower sampling).
pub const MAX_WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest and longest aggregation step.
pub const MIN_STEP: Duration = Duration::from_millis(100);
pub const MAX_STEP: Duration = Duration::from_secs(3600);
/// Most processes one watcher reads every interval (a short list is the point of it).
pub const MAX_WATCHED: usize = 64;

/// Fine-grained sampling of a few named processes.
///
/// ```toml
/// [agent.watch]
/// interval = "1ms"       # 1 ms ..= 1 s
/// step = "1s"            # one stored point per metric and workload per step (mean and max)
/// io_interval = "10ms"   # optional: read /proc/<pid>/io less often than every reading
/// processes = [{ name = "^nginx$" }, { cmdline = "java .*Main", workload = "api" }, { pid = 4242 }]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Time between readings, 1 ms to 1 s.
    #[serde(deserialize_with = "de_duration")]
    pub interval: Duration,
    /// The stored resolution: every step each workload gets its metrics' mean and peak over the
    /// readings in the step (100 ms to 1 h, at least `interval`).
    #[serde(deserialize_with = "de_duration")]
    pub step: Duration,
    /// How often name and command-line patterns are matched against the process table again
    /// (new processes join, exited ones leave); 100 ms to 1 h.
    #[serde(deserialize_with = "de_duration")]
    pub rescan: Duration,
    /// What to watch; at least one entry.
    pub processes: Vec<WatchTarget>,
    /// At most this many processes are read every interval (1 ..= 64); extra matches are counted
    /// in `WatchStats::over_limit` and left out.
    pub max_processes: usize,
    /// Also read `/proc/<pid>/status` every interval for voluntary and involuntary context
    /// switches (main thread; about as costly as the other two files together). Off: the
    /// scheduler's timeslice count from `schedstat` stands for context switches.
    pub status: bool,
    /// Read `/proc/<pid>/io` only this often (`interval` ..= `step`); absent: at every reading.
    /// Its counters move at every system call, so they are exact at 1 ms too; a longer
    /// `io_interval` saves the costliest of the per-reading files. The io means stay exact (the
    /// counter increase over the time covered); their `_max` becomes the peak over one
    /// `io_interval` instead of one `interval`.
    #[serde(deserialize_with = "de_opt_duration")]
    pub io_interval: Option<Duration>,
}

fn de_opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            interval: Duration::from_millis(1),
            step: Duration::from_secs(1),
            rescan: Duration::from_secs(1),
            processes: Vec::new(),
            max_processes: 16,
            status: false,
            io_interval: None,
        }
    }
}

/// One entry of `processes`: exactly one of `pid`, `name` (matched against the command name,
/// `comm`, 15 characters at most) or `cmdline` (matched against the whole command line, spaces
/// between arguments); `workload` names the series (default: the command name).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WatchTarget {
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub name: Option<Pattern>,
    #[serde(default)]
    pub cmdline: Option<Pattern>,
    #[serde(default)]
    pub workload: Option<String>,
}

/// A target reduced to what it matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    Pid(u32),
    Name(Pattern),
    Cmdline(Pattern),
}

impl WatchTarget {
    /// What the target matches; `Err` with the reason when it names none or more than one.
    pub(crate) fn selector(&self) -> Result<Selector, String> {
        match (&self.pid, &self.name, &self.cmdline) {
            (Some(0), None, None) => Err("pid 0 is not a process".into()),
            (Some(p), None, None) => Ok(Selector::Pid(*p)),
            (None, Some(n), None) => Ok(Selector::Name(n.clone())),
            (None, None, Some(c)) => Ok(Selector::Cmdline(c.clone())),
            (None, None, None) => Err("names no process: give one of pid, name or cmdline".into()),
            _ => Err("give only one of pid, name or cmdline".into()),
        }
    }
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> AgentError {
    AgentError::Config {
        field: field.into(),
        reason: reason.into(),
    }
}

fn show(d: Duration) -> String {
    format!("{d:?}")
}

impl WatchConfig {
    /// The one validation pass; errors name the key (`watch.interval`, `watch.processes[2]`).
    pub fn validate(&self) -> Result<(), AgentError> {
        if self.interval < MIN_WATCH_INTERVAL {
            return Err(bad(
                "watch.interval",
                format!(
                    "{} is below the 1 ms floor (/proc counters and the scheduler's clocks are not worth reading faster)",
                    show(self.interval)
                ),
            ));
        }
        if self.interval > MAX_WATCH_INTERVAL {
            return Err(bad(
                "watch.interval",
                format!(
                    "{} is over 1 s: sample slower with the agent's own `interval`",
                    show(self.interval)
                ),
            ));
        }
        if !(MIN_STEP..=MAX_STEP).contains(&self.step) {
            return Err(bad(
                "watch.step",
                format!("{} is outside 100ms ..= 1h", show(self.step)),
            ));
        }
        if self.step < self.interval {
            return Err(bad(
                "watch.step",
                format!(
                    "{} is shorter than watch.interval {}",
                    show(self.step),
                    show(self.interval)
                ),
            ));
        }
        if let Some(io) = self.io_interval {
            if io < self.interval {
                return Err(bad(
                    "watch.io_interval",
                    format!(
                        "{} is shorter than watch.interval {}",
                        show(io),
                        show(self.interval)
                    ),
                ));
            }
            if io > self.step {
                return Err(bad(
                    "watch.io_interval",
                    format!(
                        "{} is longer than watch.step {} (a step needs at least one io reading)",
                        show(io),
                        show(self.step)
                    ),
                ));
            }
        }
        if !(MIN_STEP..=MAX_STEP).contains(&self.rescan) {
            return Err(bad(
                "watch.rescan",
                format!("{} is outside 100ms ..= 1h", show(self.rescan)),
            ));
        }
        if self.processes.is_empty() {
            return Err(bad(
                "watch.processes",
                "is empty: name at least one process by pid, name or cmdline",
            ));
        }
        if !(1..=MAX_WATCHED).contains(&self.max_processes) {
            return Err(bad(
                "watch.max_processes",
                format!(
                    "{} is outside 1 ..= {MAX_WATCHED} (millisecond sampling is for a short list)",
                    self.max_processes
                ),
            ));
        }
        for (i, t) in self.processes.iter().enumerate() {
            let field = format!("watch.processes[{i}]");
            t.selector().map_err(|r| bad(field.clone(), r))?;
            if let Some(w) = &t.workload {
                WorkloadId::new(w.clone()).map_err(|e| {
                    bad(
                        format!("{field}.workload"),
                        format!("{w:?} is not a workload name: {e}"),
                    )
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WatchConfig, String> {
        toml::from_str::<WatchConfig>(text).map_err(|e| e.to_string())
    }

    fn invalid(text: &str) -> String {
        let cfg = parse(text).expect("parses");
        cfg.validate().expect_err("must be refused").to_string()
    }

    #[test]
    fn a_full_entry_parses_and_validates() {
        let cfg = parse(
            r#"interval = "1ms"
step = "1s"
status = true
io_interval = "10ms"
processes = [{ name = "^nginx$" }, { cmdline = "java .*Main", workload = "api" }, { pid = 42 }]"#,
        )
        .unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.interval, Duration::from_millis(1));
        assert_eq!(cfg.io_interval, Some(Duration::from_millis(10)));
        assert_eq!(
            parse("processes = [{ pid = 1 }]").unwrap().io_interval,
            None
        );
        assert_eq!(cfg.processes[2].selector(), Ok(Selector::Pid(42)));
        assert!(cfg.status);
    }

    #[test]
    fn bad_values_are_named() {
        let sub_ms = invalid("interval = 0.0005\nprocesses = [{ pid = 1 }]");
        assert!(
            sub_ms.starts_with("watch.interval: 500µs is below the 1 ms floor"),
            "{sub_ms}"
        );
        let empty = invalid("interval = \"1ms\"");
        assert!(empty.starts_with("watch.processes: is empty"), "{empty}");
        let both = invalid("processes = [{ pid = 1 }, { pid = 2, name = \"x\" }]");
        assert_eq!(
            both,
            "watch.processes[1]: give only one of pid, name or cmdline"
        );
        let none = invalid("processes = [{ workload = \"w\" }]");
        assert!(
            none.contains("watch.processes[0]: names no process"),
            "{none}"
        );
        let zero = invalid("processes = [{ pid = 0 }]");
        assert!(zero.contains("pid 0"), "{zero}");
        let step = invalid("interval = \"500ms\"\nstep = \"200ms\"\nprocesses = [{ pid = 1 }]");
        assert!(step.starts_with("watch.step: 200ms is shorter"), "{step}");
        let many = invalid("max_processes = 1000\nprocesses = [{ pid = 1 }]");
        assert!(many.starts_with("watch.max_processes: 1000"), "{many}");
        let slow = invalid("interval = \"2s\"\nprocesses = [{ pid = 1 }]");
        assert!(slow.starts_with("watch.interval: 2s is over 1 s"), "{slow}");
        let io_short =
            invalid("interval = \"5ms\"\nio_interval = \"1ms\"\nprocesses = [{ pid = 1 }]");
        assert_eq!(
            io_short,
            "watch.io_interval: 1ms is shorter than watch.interval 5ms"
        );
        let io_long = invalid("step = \"1s\"\nio_interval = \"2s\"\nprocesses = [{ pid = 1 }]");
        assert!(
            io_long.starts_with("watch.io_interval: 2s is longer than watch.step 1s"),
            "{io_long}"
        );
        let name = invalid("processes = [{ pid = 1, workload = \"\" }]");
        assert!(name.starts_with("watch.processes[0].workload"), "{name}");
    }

    #[test]
    fn unknown_keys_and_bad_patterns_fail_to_parse() {
        assert!(parse("intervall = \"1ms\"")
            .unwrap_err()
            .contains("intervall"));
        assert!(parse("processes = [{ name = \"(\" }]")
            .unwrap_err()
            .contains("regular expression"));
    }
}

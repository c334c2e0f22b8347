//! Millisecond sampling of a short list of watched processes (`[agent.watch]`), folded into steps.
//!
//! The grouped [`crate::Agent`] lists every process and reads clock-tick CPU (10 ms ticks), so its
//! floor is 10 ms and a 10 ms reading says 0, 1 or 2 ticks. A [`Watcher`] reads a few processes
//! named by pid, command name or command line as often as every millisecond, through files kept
//! open and the kernel's per-process CPU clock:
//!
//! - CPU in nanoseconds (every thread) from the process CPU clock, or `schedstat`'s run time
//!   (main thread) where the clock cannot be used (see [`CpuSource`]);
//! - run-queue wait and timeslices (switches onto a CPU) from `/proc/<pid>/schedstat`;
//! - read/write system calls and bytes from `/proc/<pid>/io` (every reading, or every
//!   `io_interval`);
//! - voluntary/involuntary context switches from `/proc/<pid>/status` when `status = true`.
//!
//! Storing a point per millisecond would be a thousand points per series per second; instead
//! every `step` (1 s by default) each workload gets every rate's mean over the step and its peak
//! over one interval (`<metric>_max`), see [`step`]. [`run::spawn`] drives a watcher on its own
//! thread to absolute deadlines and measures its CPU, sleeps included.

pub mod config;
pub mod reading;
pub mod run;
pub mod step;
mod targets;

pub use config::{WatchConfig, WatchTarget};
pub use reading::CpuSource;
pub use run::{spawn, Stop, WatchThread};

use crate::reader::ProcReader;
use config::Selector;
use prescale_core::{Labels, Point, Timestamp, WorkloadId};
use reading::{rates, ReadFailure, Watched};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use step::{Names, WorkloadStep, RATES};

/// One finished step: its points and what happened while it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchStep {
    pub points: Vec<Point>,
    pub stats: WatchStats,
}

/// Counts over one step; failures are counted here, never errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchStats {
    /// Readings (intervals) taken in the step.
    pub readings: u64,
    /// Processes watched at the step's end.
    pub processes: usize,
    /// Watched processes that exited.
    pub vanished: u64,
    /// Processes that matched but whose files could not be opened or read.
    pub unreadable: u64,
    /// Readings of a file with an unexpected shape.
    pub malformed: u64,
    /// Matching processes left out at the last rescan because `max_processes` were watched.
    pub over_limit: u64,
    /// Matching processes whose workload name is not a valid id.
    pub invalid_workload: u64,
    /// Rescans that could not list the process table (the watched processes were still read).
    pub rescan_failures: u64,
    /// CPU seconds of the sampling thread over the step, sleeping included (set by [`run`]).
    pub cpu_seconds: f64,
    /// Readings that started more than one interval late (set by [`run`]).
    pub late: u64,
    /// Finished steps dropped because nobody collected them (the agent was not sampled).
    pub dropped_steps: u64,
}

/// Reads the watched processes; build with [`Watcher::new`], call [`Watcher::tick`] every interval.
pub struct Watcher {
    cfg: WatchConfig,
    selectors: Vec<(Selector, Option<String>)>,
    proc_root: PathBuf,
    reader: ProcReader,
    source: CpuSource,
    labels: Labels,
    names: Names,
    clk_tck: f64,
    watched: Vec<Watched>,
    slots: Vec<WorkloadId>,
    by_name: HashMap<String, u32>,
    steps: Vec<WorkloadStep>,
    /// Per workload, this reading's summed rates and how many processes gave them.
    sums: Vec<([Option<f64>; RATES.len()], u64, u64)>,
    touched: Vec<u32>,
    /// Processes that matched no target and are old enough not to exec into one.
    settled: HashSet<u32>,
    /// Start times of the processes pid targets first found (a reused pid is not theirs).
    pid_starts: HashMap<u32, u64>,
    settled_at_ns: u64,
    /// `step` in milliseconds and `rescan` in nanoseconds, converted once.
    step_ms: i64,
    rescan_ns: u64,
    /// `io_interval` less half an `interval` (so jitter does not push io a reading later), and
    /// when io was last read.
    io_due_ns: Option<u64>,
    last_io_ns: Option<u64>,
    last_rescan_ns: Option<u64>,
    last_t_ns: Option<u64>,
    step_index: Option<i64>,
    stats: WatchStats,
}

impl Watcher {
    /// Validate `cfg` and prepare to read processes under `proc_root`; every point carries `labels`.
    pub fn new(
        cfg: WatchConfig,
        proc_root: impl Into<PathBuf>,
        labels: Labels,
    ) -> Result<Watcher, crate::AgentError> {
        cfg.validate()?;
        let proc_root = proc_root.into();
        std::fs::read_dir(&proc_root).map_err(|source| crate::AgentError::ProcRoot {
            path: proc_root.clone(),
            source,
        })?;
        let selectors = cfg
            .processes
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.selector()
                    .map(|s| (s, t.workload.clone()))
                    .map_err(|reason| crate::AgentError::Config {
                        field: format!("watch.processes[{i}]"),
                        reason,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let names = Names::new().ok_or_else(|| crate::AgentError::Config {
            field: "watch".into(),
            reason: "a metric name is invalid".into(),
        })?;
        Ok(Watcher {
            source: cpu_source(&proc_root),
            reader: ProcReader::new(&proc_root),
            proc_root,
            selectors,
            labels,
            names,
            clk_tck: crate::overhead::clock_ticks(),
            watched: Vec::new(),
            slots: Vec::new(),
            by_name: HashMap::new(),
            steps: Vec::new(),
            sums: Vec::new(),
            touched: Vec::new(),
            settled: HashSet::new(),
            pid_starts: HashMap::new(),
            settled_at_ns: 0,
            step_ms: i64::try_from(cfg.step.as_millis())
                .unwrap_or(i64::MAX)
                .max(1),
            rescan_ns: u64::try_from(cfg.rescan.as_nanos()).unwrap_or(u64::MAX),
            io_due_ns: cfg.io_interval.map(|io| {
                u64::try_from(io.saturating_sub(cfg.interval / 2).as_nanos()).unwrap_or(u64::MAX)
            }),
            last_io_ns: None,
            last_rescan_ns: None,
            last_t_ns: None,
            step_index: None,
            stats: WatchStats::default(),
            cfg,
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &WatchConfig {
        &self.cfg
    }

    /// Where CPU time comes from for this /proc.
    pub fn cpu_source(&self) -> CpuSource {
        self.source
    }

    /// Pids watched now.
    pub fn pids(&self) -> Vec<u32> {
        self.watched.iter().map(|w| w.pid).collect()
    }

    /// Take one reading at wall time `now` and monotonic `t_ns`; returns the previous step once
    /// `now` has moved into the next one (stamped at the end of the step it covers).
    pub fn tick(&mut self, now: Timestamp, t_ns: u64) -> Option<WatchStep> {
        let step_ms = self.step_ms;
        let index = now.0.div_euclid(step_ms);
        let mut done = None;
        match self.step_index {
            Some(cur) if index > cur => {
                done = Some(self.finish(Timestamp(cur.saturating_add(1).saturating_mul(step_ms))));
                self.step_index = Some(index);
            }
            Some(_) => {}
            None => self.step_index = Some(index),
        }
        let rescan_ns = self.rescan_ns;
        if self
            .last_rescan_ns
            .is_none_or(|r| t_ns.saturating_sub(r) >= rescan_ns)
        {
            self.last_rescan_ns = Some(t_ns);
            self.rescan(t_ns);
        }
        self.read_all(t_ns);
        done
    }

    /// Read every watched process once and fold the readings into the step.
    fn read_all(&mut self, t_ns: u64) {
        let gap = self.last_t_ns.map(|t| t_ns.saturating_sub(t) as f64 * 1e-9);
        self.last_t_ns = Some(t_ns);
        let read_io = match (self.io_due_ns, self.last_io_ns) {
            (Some(due), Some(last)) => t_ns.saturating_sub(last) >= due,
            _ => true,
        };
        let io_gap = if read_io {
            let g = self
                .last_io_ns
                .map(|t| t_ns.saturating_sub(t) as f64 * 1e-9);
            self.last_io_ns = Some(t_ns);
            g
        } else {
            None
        };
        self.stats.readings += 1;
        for &w in &self.touched {
            if let Some(s) = self.sums.get_mut(w as usize) {
                *s = ([None; RATES.len()], 0, 0);
            }
        }
        self.touched.clear();
        let (reader, sums, touched, stats) = (
            &mut self.reader,
            &mut self.sums,
            &mut self.touched,
            &mut self.stats,
        );
        self.watched.retain_mut(|w| {
            let now = match w.read(reader, t_ns, read_io) {
                Ok(r) => r,
                Err(ReadFailure::Gone) => {
                    stats.vanished += 1;
                    return false;
                }
                Err(ReadFailure::Unreadable) => {
                    stats.unreadable += 1;
                    return false;
                }
                Err(ReadFailure::Malformed) => {
                    stats.malformed += 1;
                    return true;
                }
            };
            let i = w.workload as usize;
            if i >= sums.len() {
                sums.resize(i + 1, ([None; RATES.len()], 0, 0));
            }
            let sum = &mut sums[i];
            if sum.2 == 0 {
                touched.push(w.workload);
            }
            sum.2 += 1;
            if let Some(r) = w.prev.as_ref().and_then(|p| rates(p, &now, w.io_prev)) {
                sum.1 += 1;
                for (acc, v) in sum.0.iter_mut().zip(r) {
                    if let Some(v) = v {
                        *acc = Some(acc.unwrap_or(0.0) + v);
                    }
                }
            }
            if read_io {
                w.io_prev = now.io.map(|io| (now.t_ns, io));
            }
            w.prev = Some(now);
            true
        });
        if self.steps.len() < self.slots.len() {
            self.steps
                .resize_with(self.slots.len(), WorkloadStep::default);
        }
        for &w in &self.touched {
            let (Some(sum), Some(step)) =
                (self.sums.get(w as usize), self.steps.get_mut(w as usize))
            else {
                continue;
            };
            match gap {
                Some(seconds) if sum.1 > 0 && seconds > 0.0 => {
                    step.add(&sum.0, seconds, io_gap, sum.2)
                }
                _ => step.present(sum.2),
            }
        }
    }

    /// Points of the finished step, stamped `at`, and its counts; clears both.
    fn finish(&mut self, at: Timestamp) -> WatchStep {
        let mut points = Vec::new();
        for (id, step) in self.slots.iter().zip(self.steps.iter_mut()) {
            step::emit(&mut points, id, step, &self.names, &self.labels, at);
        }
        let mut stats = std::mem::take(&mut self.stats);
        stats.processes = self.watched.len();
        WatchStep { points, stats }
    }

    fn intern(&mut self, name: String) -> Option<u32> {
        if let Some(&w) = self.by_name.get(&name) {
            return Some(w);
        }
        let id = WorkloadId::new(name.clone()).ok()?;
        let w = u32::try_from(self.slots.len()).ok()?;
        self.slots.push(id);
        self.by_name.insert(name, w);
        Some(w)
    }
}

/// The process clock measures the right process only when `proc_root` shows this process's own
/// pid namespace: its `self` link must name our pid.
fn cpu_source(proc_root: &std::path::Path) -> CpuSource {
    let ours = std::fs::read_link(proc_root.join("self"))
        .ok()
        .and_then(|l| l.to_str().and_then(|s| s.parse::<u32>().ok()))
        .is_some_and(|pid| pid == std::process::id());
    if ours {
        CpuSource::ProcessClock
    } else {
        CpuSource::Schedstat
    }
}

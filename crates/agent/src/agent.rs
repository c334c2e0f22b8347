//! The sampler: lists processes, reads their counters, turns counters into rates and sums them per
//! workload.

mod cgroup;
mod environment;
mod net;
mod watch_link;

use crate::aggregate::{add, metric_names, outermost, push_points, Agg};
use crate::config::{AgentConfig, NetAttribution, Unmatched};
use crate::error::AgentError;
use crate::overhead::{boot_seconds, clock_ticks, is_procfs, page_size, Meter, Overhead};
use crate::parse::{self, Io};
use crate::reader::{ProcReader, ReadError};
use crate::rules::{self, Facts, Needs};
use prescale_core::{Labels, MetricName, Point, Timestamp, WorkloadId};
use regex::Regex;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Processes younger than this are re-read at every listing even when excluded (see
/// `skip_settled`).
const YOUNG_SECONDS: f64 = 5.0;

/// One sample: points for every workload seen, what it cost, and what was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSample {
    /// The grouped workloads' points, then the watcher's finished steps (`watch_*` series).
    pub points: Vec<Point>,
    /// The sample's cost; `cpu_seconds` includes the watcher thread's CPU over the steps handed on.
    pub overhead: Overhead,
    pub stats: SampleStats,
    /// The watcher's counts over the steps handed on with this sample (`None`: none finished).
    pub watch: Option<crate::watch::WatchStats>,
    /// Workloads whose cgroups had OOM kills since the previous sample.
    pub oom: Vec<crate::oom::OomKill>,
    /// Cgroup event files with an unexpected shape (also counted in `stats.malformed`).
    pub problems: Vec<crate::oom::CgroupFileError>,
}

/// Counts of what happened in one sample; skipped processes are counted here, never errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SampleStats {
    /// Whether the whole process table was listed (otherwise only tracked processes were read).
    pub full_scan: bool,
    /// Process directories looked at.
    pub processes_seen: usize,
    /// Processes whose counters were read and summed into a workload.
    pub processes_sampled: usize,
    /// Workloads reported.
    pub workloads: usize,
    /// Processes that exited while being read.
    pub vanished: usize,
    /// Files with an unexpected shape (process skipped or field left out).
    pub malformed: usize,
    /// Processes whose `stat` could not be read for another reason.
    pub unreadable: usize,
    /// Processes whose `io` was not readable (another user's process): I/O fields left out.
    pub io_denied: usize,
    /// Processes whose `fd` directory was not readable: open_fds left out for them.
    pub fd_denied: usize,
    /// Kernel threads skipped.
    pub kernel_threads: usize,
    /// Processes excluded by the rules and filters.
    pub excluded: usize,
    /// Processes whose workload name was not a valid id (empty, too long, control characters).
    pub invalid_workload: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CgroupLayout {
    /// Pure v2 hierarchy at `<sys>/fs/cgroup`.
    V2,
    /// v1 memory controller at `<sys>/fs/cgroup/memory`.
    V1Memory,
    None,
}

#[derive(Debug, Clone)]
struct Class {
    workload: u32,
    mem_file: Option<Arc<str>>,
}

#[derive(Debug, Clone, Copy)]
struct Prev {
    t: f64,
    cpu_ticks: u64,
    ctx: Option<(u64, u64)>,
    io: Option<Io>,
}

/// Files of a tracked process kept open between samples.
#[derive(Debug)]
struct Handles {
    stat: std::fs::File,
    status: std::fs::File,
    io: Option<std::fs::File>,
}

#[derive(Debug)]
struct ProcState {
    files: Option<Box<Handles>>,
    kernel: bool,
    starttime: u64,
    comm: Box<[u8]>,
    class: Option<Class>,
    netns: Option<u64>,
    classified_at: f64,
    prev: Option<Prev>,
    generation: u64,
    /// Whether this process's language runtime was looked for (once per exec).
    runtime_checked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsOwner {
    One(u32),
    Many,
}

#[derive(Debug, Clone, Copy)]
struct NetPrev {
    t: f64,
    rx: u64,
    tx: u64,
}

struct Slot {
    id: WorkloadId,
    cgroup_based: bool,
    /// The language runtime of the first of its processes where one was recognised.
    runtime: Option<crate::env::RuntimeInfo>,
    /// When its `environment_info` point was last emitted (boot-clock seconds).
    info_at: Option<f64>,
    /// Its OOM-kill counter at the last sample.
    oom_kills: Option<u64>,
}

/// The built-in agent. Build it once with [`Agent::new`], then call [`Agent::sample`] every
/// `interval`.
pub struct Agent {
    cfg: AgentConfig,
    reader: ProcReader,
    container_re: Regex,
    needs: Needs,
    labels: Labels,
    names: Vec<MetricName>,
    clk_tck: f64,
    page: u64,
    fd_size_is_count: bool,
    layout: CgroupLayout,
    procs: HashMap<u32, ProcState>,
    pids: Vec<u32>,
    tracked: Vec<u32>,
    slots: Vec<Slot>,
    by_name: HashMap<String, u32>,
    aggs: Vec<Agg>,
    touched: Vec<u32>,
    ns_owner: HashMap<u64, NsOwner>,
    ns_rep: HashMap<u64, u32>,
    net_prev: HashMap<u64, NetPrev>,
    net_files: HashMap<u64, std::fs::File>,
    held: usize,
    generation: u64,
    last_scan: Option<f64>,
    last_sample: Option<f64>,
    epoch: Instant,
    watch: Option<watch_link::WatchLink>,
    /// The host's metadata (`environment = true`) and the labels of its `environment_info` points.
    host_env: Option<crate::env::HostEnvironment>,
    info_labels: Labels,
}

impl Agent {
    /// Validate the configuration and prepare the sampler; fails when /proc cannot be listed.
    pub fn new(cfg: AgentConfig) -> Result<Agent, AgentError> {
        cfg.validate()?;
        std::fs::read_dir(&cfg.proc_root).map_err(|source| AgentError::ProcRoot {
            path: cfg.proc_root.clone(),
            source,
        })?;
        let mut needs = Needs::default();
        for r in &cfg.rules {
            let n = r.needs();
            needs.cmdline |= n.cmdline;
            needs.cgroup |= n.cgroup;
            needs.environ |= n.environ;
        }
        let mut reader = ProcReader::new(&cfg.proc_root);
        let host = match &cfg.hostname {
            Some(h) => h.clone(),
            None => reader
                .read_root_file("sys/kernel/hostname")
                .ok()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .filter(|h| !h.is_empty() && !h.chars().any(char::is_control))
                .unwrap_or_else(|| "localhost".to_string()),
        };
        let mut labels = Labels::new();
        labels.insert("source".into(), "agent".into());
        labels.insert("host".into(), host);
        let cg_root = cfg.sys_root.join("fs/cgroup");
        let layout = if cg_root.join("cgroup.controllers").is_file() {
            CgroupLayout::V2
        } else if cg_root.join("memory").is_dir() {
            CgroupLayout::V1Memory
        } else {
            CgroupLayout::None
        };
        let watch = match &cfg.watch {
            Some(w) => Some(watch_link::WatchLink::start(crate::Watcher::new(
                w.clone(),
                cfg.proc_root.clone(),
                labels.clone(),
            )?)?),
            None => None,
        };
        let host_env = cfg.environment.then(|| {
            crate::env::HostEnvironment::detect(&crate::env::Roots {
                proc: cfg.proc_root.clone(),
                sys: cfg.sys_root.clone(),
                fs: cfg.root_fs.clone(),
            })
        });
        let mut info_labels = labels.clone();
        for (k, v) in host_env.iter().flat_map(|h| h.labels()) {
            info_labels.insert(k.to_string(), v);
        }
        Ok(Agent {
            watch,
            host_env,
            info_labels,
            container_re: rules::container_regex()?,
            fd_size_is_count: is_procfs(&cfg.proc_root),
            needs,
            labels,
            names: metric_names(),
            clk_tck: clock_ticks(),
            page: page_size(),
            layout,
            reader,
            procs: HashMap::new(),
            pids: Vec::new(),
            tracked: Vec::new(),
            slots: Vec::new(),
            by_name: HashMap::new(),
            aggs: Vec::new(),
            touched: Vec::new(),
            ns_owner: HashMap::new(),
            ns_rep: HashMap::new(),
            net_prev: HashMap::new(),
            net_files: HashMap::new(),
            held: 0,
            generation: 0,
            last_scan: None,
            last_sample: None,
            epoch: Instant::now(),
            cfg,
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.cfg
    }

    /// A second, separate millisecond watcher of `[agent.watch]` (the agent already runs one and
    /// hands its steps on with every sample), reading the same /proc with the same labels; `None`
    /// when no watch list is configured. Run it with [`crate::watch::spawn`] or tick it yourself.
    pub fn watcher(&self) -> Option<Result<crate::Watcher, AgentError>> {
        let w = self.cfg.watch.clone()?;
        Some(crate::Watcher::new(
            w,
            self.cfg.proc_root.clone(),
            self.labels.clone(),
        ))
    }

    /// The labels every point carries (`source=agent`, `host=<hostname>`).
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Take one sample stamped `now`. Rates use the boot-time clock, as process start times do.
    pub fn sample(&mut self, now: Timestamp) -> Result<AgentSample, AgentError> {
        let clock = boot_seconds().unwrap_or_else(|| self.epoch.elapsed().as_secs_f64());
        self.sample_at(now, clock)
    }

    /// Take one sample with an explicit clock: `clock` is seconds since boot (the clock of
    /// `starttime` in `/proc/<pid>/stat`); rates are counter differences over its differences.
    pub fn sample_at(&mut self, now: Timestamp, clock: f64) -> Result<AgentSample, AgentError> {
        let meter = Meter::start();
        let mut stats = SampleStats::default();
        let full = self.cfg.interval >= self.cfg.rescan
            || self
                .last_scan
                .is_none_or(|t| clock - t >= self.cfg.rescan.as_secs_f64() * 0.95);
        let mut pids = std::mem::take(&mut self.pids);
        pids.clear();
        if full {
            self.generation += 1;
            self.last_scan = Some(clock);
            stats.full_scan = true;
            let dir =
                std::fs::read_dir(&self.cfg.proc_root).map_err(|source| AgentError::ProcRoot {
                    path: self.cfg.proc_root.clone(),
                    source,
                })?;
            for entry in dir.flatten() {
                if let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok())
                {
                    pids.push(pid);
                }
            }
            pids.sort_unstable();
            self.ns_owner.clear();
        } else {
            pids.extend_from_slice(&self.tracked);
        }
        self.tracked.clear();
        self.ns_rep.clear();
        for &w in &self.touched {
            if let Some(a) = self.aggs.get_mut(w as usize) {
                a.clear();
            }
        }
        self.touched.clear();
        for &pid in &pids {
            stats.processes_seen += 1;
            self.observe(pid, clock, full, &mut stats);
        }
        self.pids = pids;
        if full {
            let gen = self.generation;
            self.procs.retain(|_, p| p.generation == gen);
            self.held = self.procs.values().filter(|p| p.files.is_some()).count();
        }
        self.attribute_net(clock, &mut stats);
        let (mut oom, mut problems) = (Vec::new(), Vec::new());
        self.cgroup_memory(&mut stats, &mut oom, &mut problems);
        self.last_sample = Some(clock);

        let mut points = Vec::with_capacity(self.touched.len() * self.names.len());
        self.touched.sort_unstable();
        for &w in &self.touched {
            let (Some(agg), Some(slot)) = (self.aggs.get(w as usize), self.slots.get(w as usize))
            else {
                continue;
            };
            if agg.processes == 0 {
                continue;
            }
            if self.cfg.min_cpu_cores > 0.0 && agg.cpu_cores.unwrap_or(0.0) < self.cfg.min_cpu_cores
            {
                continue;
            }
            stats.workloads += 1;
            push_points(&mut points, &slot.id, agg, &self.names, &self.labels, now);
        }
        if full {
            self.environment_points(&mut points, now, clock);
        }
        let mut overhead = meter.finish(stats.processes_seen);
        let watch = self.watch.as_mut().and_then(|w| w.drain(&mut points));
        if let Some(w) = &watch {
            overhead.cpu_seconds += w.cpu_seconds;
        }
        Ok(AgentSample {
            points,
            overhead,
            stats,
            watch,
            oom,
            problems,
        })
    }

    /// Read one process and add it to its workload.
    fn observe(&mut self, pid: u32, clock: f64, full: bool, stats: &mut SampleStats) {
        if full && self.skip_settled(pid, clock, stats) {
            return;
        }
        let (comm_same, st_num, kthread, comm_owned) = {
            let read = match self.procs.get(&pid).and_then(|p| p.files.as_deref()) {
                Some(h) => self.reader.pread(&h.stat),
                None => self.reader.read(pid, "stat"),
            };
            let buf = match read {
                Ok(b) => b,
                Err(e) => {
                    self.gone_or_unreadable(pid, e, stats);
                    return;
                }
            };
            let st = match parse::parse_stat(buf) {
                Ok(s) => s,
                Err(_) => {
                    stats.malformed += 1;
                    self.forget(pid);
                    return;
                }
            };
            let known = self.procs.get(&pid);
            let same_proc = known.is_some_and(|p| p.starttime == st.starttime);
            let same_comm = same_proc && known.is_some_and(|p| *p.comm == *st.comm);
            let comm_owned: Option<Box<[u8]>> = (!same_comm).then(|| st.comm.into());
            (
                (same_proc, same_comm),
                (
                    st.utime.saturating_add(st.stime),
                    st.num_threads,
                    st.starttime,
                    st.rss_pages,
                ),
                st.is_kernel_thread(),
                comm_owned,
            )
        };
        let (same_proc, same_comm) = comm_same;
        let (cpu_ticks, threads, starttime, rss_pages) = st_num;
        if kthread && !self.cfg.kernel_threads {
            stats.kernel_threads += 1;
            self.mark_host_ns(pid, same_proc, full);
            let gen = self.generation;
            let p = self.procs.entry(pid).or_insert_with(|| ProcState {
                files: None,
                kernel: true,
                starttime,
                comm: Box::default(),
                class: None,
                netns: None,
                classified_at: clock,
                prev: None,
                generation: gen,
                runtime_checked: false,
            });
            p.generation = gen;
            return;
        }

        // (Re)classify a new process, one that exec'd, or one due for a periodic check.
        let due = self
            .procs
            .get(&pid)
            .is_some_and(|p| clock - p.classified_at >= self.cfg.reclassify.as_secs_f64());
        if !same_comm || due {
            let comm_bytes: Box<[u8]> = match comm_owned {
                Some(c) => c,
                None => self
                    .procs
                    .get(&pid)
                    .map(|p| p.comm.clone())
                    .unwrap_or_default(),
            };
            let class = self.classify(pid, &comm_bytes, stats);
            let netns = if self.cfg.net == NetAttribution::Off {
                None
            } else if same_proc && !due {
                self.procs.get(&pid).and_then(|p| p.netns)
            } else {
                self.reader
                    .read_link(pid, "ns/net")
                    .ok()
                    .and_then(|l| parse::parse_ns_link(l.as_encoded_bytes()))
            };
            let (prev, files, runtime_checked) = match self.procs.remove(&pid) {
                Some(old) if same_proc => (old.prev, old.files, old.runtime_checked && same_comm),
                Some(old) => {
                    if old.files.is_some() {
                        self.held = self.held.saturating_sub(1);
                    }
                    (None, None, false)
                }
                None => (None, None, false),
            };
            let files = if class.is_some() {
                files
            } else {
                if files.is_some() {
                    self.held = self.held.saturating_sub(1);
                }
                None
            };
            self.procs.insert(
                pid,
                ProcState {
                    files,
                    kernel: false,
                    starttime,
                    comm: comm_bytes,
                    class,
                    netns,
                    classified_at: clock,
                    prev,
                    generation: self.generation,
                    runtime_checked,
                },
            );
        }
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        p.generation = self.generation;
        let netns = p.netns;
        let Some(class) = p.class.clone() else {
            stats.excluded += 1;
            if full {
                if let Some(ns) = netns {
                    self.ns_owner.insert(ns, NsOwner::Many);
                }
            }
            return;
        };
        let prev = p.prev;
        let runtime_checked = p.runtime_checked;
        if self.host_env.is_some() && !runtime_checked {
            self.detect_runtime(pid, class.workload);
        }

        // Counters.
        let ctx = match self.read_ctx(pid, threads) {
            Ok(c) => c,
            Err(ReadError::Gone) => {
                self.vanish(pid, stats);
                return;
            }
            Err(_) => {
                stats.malformed += 1;
                None
            }
        };
        let io_read = match self.procs.get(&pid).and_then(|p| p.files.as_deref()) {
            Some(Handles { io: Some(f), .. }) => self.reader.pread(f),
            _ => self.reader.read(pid, "io"),
        };
        let io = match io_read {
            Ok(b) => match parse::parse_io(b) {
                Ok(io) => Some(io),
                Err(_) => {
                    stats.malformed += 1;
                    None
                }
            },
            Err(ReadError::Gone) => {
                self.vanish(pid, stats);
                return;
            }
            Err(_) => {
                stats.io_denied += 1;
                None
            }
        };
        let fds = match self.reader.fd_count(pid, self.fd_size_is_count) {
            Ok(n) => Some(n),
            Err(ReadError::Gone) => {
                self.vanish(pid, stats);
                return;
            }
            Err(_) => {
                stats.fd_denied += 1;
                None
            }
        };

        // Rates: against the previous reading of this (pid, starttime), or from zero for a process
        // that started after the previous sample.
        let base = match prev {
            Some(p) => Some(p),
            None => self.last_sample.and_then(|last| {
                let started = starttime as f64 / self.clk_tck;
                (started >= last).then_some(Prev {
                    t: last,
                    cpu_ticks: 0,
                    ctx: Some((0, 0)),
                    io: Some(Io::default()),
                })
            }),
        };
        let w = class.workload as usize;
        if w >= self.aggs.len() {
            self.aggs.resize_with(w + 1, Agg::default);
        }
        let agg = &mut self.aggs[w];
        if agg.processes == 0 {
            self.touched.push(class.workload);
        }
        agg.processes += 1;
        agg.threads += threads;
        agg.rss_bytes = agg
            .rss_bytes
            .saturating_add(rss_pages.saturating_mul(self.page));
        if let Some(n) = fds {
            agg.open_fds = Some(agg.open_fds.unwrap_or(0) + n);
        }
        if let Some(b) = base {
            let dt = clock - b.t;
            if dt > 0.0 {
                let rate = |now: u64, before: u64| -> Option<f64> {
                    now.checked_sub(before).map(|d| d as f64 / dt)
                };
                if let Some(r) = rate(cpu_ticks, b.cpu_ticks) {
                    add(&mut agg.cpu_cores, r / self.clk_tck);
                }
                if let (Some((v, i)), Some((pv, pi))) = (ctx, b.ctx) {
                    if let (Some(rv), Some(ri)) = (rate(v, pv), rate(i, pi)) {
                        add(&mut agg.ctx_vol, rv);
                        add(&mut agg.ctx_invol, ri);
                    }
                }
                if let (Some(n), Some(o)) = (io, b.io) {
                    let pairs = [
                        (&mut agg.read_bytes, n.read_bytes, o.read_bytes),
                        (&mut agg.write_bytes, n.write_bytes, o.write_bytes),
                        (&mut agg.rchar, n.rchar, o.rchar),
                        (&mut agg.wchar, n.wchar, o.wchar),
                        (&mut agg.syscr, n.syscr, o.syscr),
                        (&mut agg.syscw, n.syscw, o.syscw),
                    ];
                    for (slot, now, before) in pairs {
                        if let Some(r) = rate(now, before) {
                            add(slot, r);
                        }
                    }
                }
            }
        }
        if let Some(f) = &class.mem_file {
            agg.mem_files.push(f.clone());
        }
        stats.processes_sampled += 1;
        self.tracked.push(pid);
        if let Some(ns) = netns {
            self.ns_rep.entry(ns).or_insert(pid);
            if full {
                let owner = self
                    .ns_owner
                    .entry(ns)
                    .or_insert(NsOwner::One(class.workload));
                if *owner != NsOwner::One(class.workload) {
                    *owner = NsOwner::Many;
                }
            }
        }
        let keep = self.held < self.cfg.keep_open
            && self.procs.get(&pid).is_some_and(|p| p.files.is_none());
        let opened = if keep { self.open_handles(pid) } else { None };
        if let Some(p) = self.procs.get_mut(&pid) {
            if opened.is_some() {
                p.files = opened;
                self.held += 1;
            }
            p.prev = Some(Prev {
                t: clock,
                cpu_ticks,
                // Keep the older reading when a file was momentarily unreadable.
                ctx: ctx.or(prev.and_then(|p| p.ctx)),
                io: io.or(prev.and_then(|p| p.io)),
            });
        }
    }

    /// An excluded process (or kernel thread) seen before, older than [`YOUNG_SECONDS`] and not due
    /// for reclassification, is not read again at a listing. A young one is, since fork-then-exec
    /// changes its command name just after it starts. (A pid that dies and is reused between two
    /// listings by a new process goes unseen until the next reclassification.)
    fn skip_settled(&mut self, pid: u32, clock: f64, stats: &mut SampleStats) -> bool {
        let reclassify = self.cfg.reclassify.as_secs_f64();
        let Some(p) = self.procs.get_mut(&pid) else {
            return false;
        };
        let age = clock - p.starttime as f64 / self.clk_tck;
        if p.class.is_some() || clock - p.classified_at >= reclassify || age < YOUNG_SECONDS {
            return false;
        }
        p.generation = self.generation;
        if p.kernel {
            stats.kernel_threads += 1;
        } else {
            stats.excluded += 1;
        }
        if let Some(ns) = p.netns {
            self.ns_owner.insert(ns, NsOwner::Many);
        }
        true
    }

    fn gone_or_unreadable(&mut self, pid: u32, e: ReadError, stats: &mut SampleStats) {
        match e {
            ReadError::Gone => self.vanish(pid, stats),
            ReadError::Denied | ReadError::Other => {
                stats.unreadable += 1;
                self.forget(pid);
            }
        }
    }

    fn vanish(&mut self, pid: u32, stats: &mut SampleStats) {
        stats.vanished += 1;
        self.forget(pid);
    }

    fn forget(&mut self, pid: u32) {
        if let Some(p) = self.procs.remove(&pid) {
            if p.files.is_some() {
                self.held = self.held.saturating_sub(1);
            }
        }
    }

    fn open_handles(&mut self, pid: u32) -> Option<Box<Handles>> {
        let stat = self.reader.open(pid, "stat").ok()?;
        let status = self.reader.open(pid, "status").ok()?;
        let io = self.reader.open(pid, "io").ok();
        Some(Box::new(Handles { stat, status, io }))
    }

    /// Context switches: the main thread's, or summed over all threads when configured.
    fn read_ctx(&mut self, pid: u32, threads: u64) -> Result<Option<(u64, u64)>, ReadError> {
        if self.cfg.thread_ctx_switches && threads > 1 {
            let dir = self.reader.path(pid, "task").to_path_buf();
            let entries = std::fs::read_dir(&dir).map_err(|e| ReadError::from(&e))?;
            let (mut v, mut i) = (0u64, 0u64);
            for e in entries.flatten() {
                let status = e.path().join("status");
                if let Ok(b) = std::fs::read(&status) {
                    if let Ok((a, b)) = parse::parse_status_ctxt(&b) {
                        v = v.saturating_add(a);
                        i = i.saturating_add(b);
                    }
                }
            }
            return Ok(Some((v, i)));
        }
        let b = match self.procs.get(&pid).and_then(|p| p.files.as_deref()) {
            Some(h) => self.reader.pread(&h.status)?,
            None => self.reader.read(pid, "status")?,
        };
        parse::parse_status_ctxt(b)
            .map(Some)
            .map_err(|_| ReadError::Other)
    }

    /// Apply rules and filters: `Some` with the workload, `None` when the process is excluded.
    fn classify(&mut self, pid: u32, comm: &[u8], stats: &mut SampleStats) -> Option<Class> {
        let comm = String::from_utf8_lossy(comm).into_owned();
        let cmdline = if self.needs.cmdline {
            self.reader
                .read(pid, "cmdline")
                .ok()
                .map(parse::cmdline_text)
        } else {
            None
        };
        let want_cgroup = self.needs.cgroup;
        let cgroups = if want_cgroup {
            self.reader
                .read(pid, "cgroup")
                .ok()
                .and_then(|b| parse::parse_cgroup(b).ok())
        } else {
            None
        };
        let environ: Option<Vec<u8>> = if self.needs.environ {
            self.reader.read(pid, "environ").ok().map(<[u8]>::to_vec)
        } else {
            None
        };
        let env = |name: &str| -> Option<String> {
            environ
                .as_deref()
                .and_then(|e| parse::environ_get(e, name))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let unit = cgroups
            .as_ref()
            .and_then(|c| parse::systemd_unit(c.systemd_path()));
        let facts = Facts {
            comm: &comm,
            cmdline: cmdline.as_deref(),
            cgroup: cgroups.as_ref().map(|c| c.path()),
            unit,
            env: &env,
        };
        let matched = rules::classify(&self.cfg.rules, &self.container_re, &facts);
        let (name, rule) = match matched {
            Some((n, i)) => (n, Some(i)),
            None => match self.cfg.unmatched {
                Unmatched::Command => (comm.clone(), None),
                Unmatched::Drop => return None,
            },
        };
        if !self.cfg.include.is_empty() && !self.cfg.include.iter().any(|p| p.is_match(&name)) {
            return None;
        }
        if self.cfg.exclude.iter().any(|p| p.is_match(&name)) {
            return None;
        }
        let cgroup_based = rule
            .and_then(|i| self.cfg.rules.get(i))
            .is_some_and(|r| r.is_cgroup_based());
        let workload = match self.intern(name, cgroup_based) {
            Some(w) => w,
            None => {
                stats.invalid_workload += 1;
                return None;
            }
        };
        let mem_file = if cgroup_based && self.cfg.cgroup_memory {
            let cg_root = self.cfg.sys_root.join("fs/cgroup");
            match (self.layout, cgroups.as_ref()) {
                (CgroupLayout::V2, Some(c)) => c.unified.as_deref().map(|p| {
                    let p = cg_root
                        .join(p.trim_start_matches('/'))
                        .join("memory.current");
                    Arc::from(p.to_string_lossy().as_ref())
                }),
                (CgroupLayout::V1Memory, Some(c)) => c.memory.as_deref().map(|p| {
                    let p = cg_root
                        .join("memory")
                        .join(p.trim_start_matches('/'))
                        .join("memory.usage_in_bytes");
                    Arc::from(p.to_string_lossy().as_ref())
                }),
                _ => None,
            }
        } else {
            None
        };
        Some(Class { workload, mem_file })
    }

    fn intern(&mut self, name: String, cgroup_based: bool) -> Option<u32> {
        if let Some(&w) = self.by_name.get(&name) {
            if let Some(s) = self.slots.get_mut(w as usize) {
                s.cgroup_based |= cgroup_based;
            }
            return Some(w);
        }
        let id = WorkloadId::new(name.clone()).ok()?;
        let w = u32::try_from(self.slots.len()).ok()?;
        self.slots.push(Slot {
            id,
            cgroup_based,
            runtime: None,
            info_at: None,
            oom_kills: None,
        });
        self.by_name.insert(name, w);
        Some(w)
    }
}

//! Matching the process table against the watch list: pids, command names and command lines.

use super::config::Selector;
use super::reading::Watched;
use super::Watcher;
use crate::parse;

/// A process younger than this that matched nothing is looked at again at the next rescan (a
/// fork changes its command name when it execs).
const YOUNG_NS: u64 = 5_000_000_000;
/// Processes that matched nothing are all looked at again this often (a pid may be reused).
const RECHECK_NS: u64 = 30_000_000_000;

impl Watcher {
    /// Drop exited processes and start watching new matches, up to `max_processes`.
    pub(super) fn rescan(&mut self, t_ns: u64) {
        let only_pids = self
            .selectors
            .iter()
            .all(|(s, _)| matches!(s, Selector::Pid(_)));
        let mut pids: Vec<u32> = if only_pids {
            self.selectors
                .iter()
                .filter_map(|(s, _)| match s {
                    Selector::Pid(p) => Some(*p),
                    _ => None,
                })
                .filter(|p| self.reader.path(*p, "").is_dir())
                .collect()
        } else {
            match std::fs::read_dir(&self.proc_root) {
                Ok(dir) => dir
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
                    .collect(),
                Err(_) => {
                    self.stats.rescan_failures += 1;
                    return;
                }
            }
        };
        pids.sort_unstable();
        pids.dedup();
        let before = self.watched.len();
        self.watched.retain(|w| pids.binary_search(&w.pid).is_ok());
        self.stats.vanished += (before - self.watched.len()) as u64;
        if t_ns.saturating_sub(self.settled_at_ns) >= RECHECK_NS {
            self.settled.clear();
            self.settled_at_ns = t_ns;
        }
        self.settled.retain(|p| pids.binary_search(p).is_ok());
        let boot = crate::overhead::boot_seconds();
        let mut over = 0;
        for pid in pids {
            if self.settled.contains(&pid) || self.watched.iter().any(|w| w.pid == pid) {
                continue;
            }
            let Some(workload) = self.classify(pid, boot) else {
                continue;
            };
            if self.watched.len() >= self.cfg.max_processes {
                over += 1;
                continue;
            }
            let Some(slot) = self.intern(workload) else {
                self.stats.invalid_workload += 1;
                self.settled.insert(pid);
                continue;
            };
            match Watched::open(&mut self.reader, pid, slot, self.source, self.cfg.status) {
                Ok(w) => self.watched.push(w),
                Err(_) => self.stats.unreadable += 1,
            }
        }
        self.stats.over_limit = over;
    }

    /// The workload name of `pid` when a target matches it; settles it otherwise.
    fn classify(&mut self, pid: u32, boot: Option<f64>) -> Option<String> {
        let (comm, starttime, kernel) = {
            let buf = self.reader.read(pid, "stat").ok()?;
            let st = parse::parse_stat(buf).ok()?;
            (
                String::from_utf8_lossy(st.comm).into_owned(),
                st.starttime,
                st.is_kernel_thread(),
            )
        };
        if kernel {
            self.settled.insert(pid);
            return None;
        }
        let mut cmdline: Option<String> = None;
        let mut found = None;
        for (sel, workload) in &self.selectors {
            let hit = match sel {
                Selector::Pid(p) => {
                    *p == pid && *self.pid_starts.entry(pid).or_insert(starttime) == starttime
                }
                Selector::Name(re) => re.is_match(&comm),
                Selector::Cmdline(re) => {
                    if cmdline.is_none() {
                        cmdline = Some(
                            self.reader
                                .read(pid, "cmdline")
                                .map(parse::cmdline_text)
                                .unwrap_or_default(),
                        );
                    }
                    cmdline.as_deref().is_some_and(|c| re.is_match(c))
                }
            };
            if hit {
                found = Some(workload.clone().unwrap_or_else(|| comm.clone()));
                break;
            }
        }
        if found.is_none() {
            let age_ns = boot.map(|b| (b - starttime as f64 / self.clk_tck) * 1e9);
            if age_ns.is_some_and(|a| a >= YOUNG_NS as f64) {
                self.settled.insert(pid);
            }
        }
        found
    }
}

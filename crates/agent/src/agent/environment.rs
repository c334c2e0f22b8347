//! Environment metadata in the sampler: each process's language runtime, once, and a workload's `environment_info` point.

use super::*;
use crate::env::runtime::{self, ProcessFacts};
use crate::env::{HostEnvironment, RuntimeInfo};
use prescale_core::{Sample, SeriesKey};

/// A workload's `environment_info` point is repeated this often (boot-clock seconds).
const INFO_EVERY: f64 = 60.0;

impl Agent {
    /// The host's metadata (`None` with `environment = false`).
    pub fn environment(&self) -> Option<&HostEnvironment> {
        self.host_env.as_ref()
    }

    /// The language runtime recognised for `workload`, if any.
    pub fn runtime_of(&self, workload: &str) -> Option<&RuntimeInfo> {
        let w = *self.by_name.get(workload)?;
        self.slots.get(w as usize)?.runtime.as_ref()
    }

    /// Look for `pid`'s runtime (exe link, maps, ELF, environ) and give it to its workload.
    pub(super) fn detect_runtime(&mut self, pid: u32, workload: u32) {
        if let Some(p) = self.procs.get_mut(&pid) {
            p.runtime_checked = true;
        }
        if self
            .slots
            .get(workload as usize)
            .is_none_or(|s| s.runtime.is_some())
        {
            return;
        }
        let exe = self.reader.read_link(pid, "exe").ok().map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_suffix(" (deleted)")
                .map(str::to_string)
                .unwrap_or(l)
        });
        // maps comes a page at a time (a short read is not its end): read it to the end.
        let maps = std::fs::read(self.reader.path(pid, "maps")).ok();
        let environ = std::fs::read(self.reader.path(pid, "environ")).ok();
        let exe_file = self.reader.path(pid, "exe").to_path_buf();
        let found = runtime::detect(&ProcessFacts {
            exe: exe.as_deref(),
            maps: maps.as_deref(),
            environ: environ.as_deref(),
            exe_file: Some(&exe_file),
        });
        if let (Some(found), Some(slot)) = (found, self.slots.get_mut(workload as usize)) {
            slot.runtime = Some(found);
        }
    }

    /// `environment_info` for every workload reported now that is new or due.
    pub(super) fn environment_points(
        &mut self,
        points: &mut Vec<Point>,
        now: Timestamp,
        clock: f64,
    ) {
        if self.host_env.is_none() {
            return;
        }
        let Ok(metric) = MetricName::new(crate::metrics::ENVIRONMENT_INFO) else {
            return;
        };
        let mut reported: Vec<u32> = points
            .iter()
            .filter_map(|p| self.by_name.get(p.key.workload.as_str()).copied())
            .collect();
        reported.dedup();
        for w in reported {
            let Some(slot) = self.slots.get_mut(w as usize) else {
                continue;
            };
            if slot.info_at.is_some_and(|t| clock - t < INFO_EVERY) {
                continue;
            }
            slot.info_at = Some(clock);
            let mut labels = self.info_labels.clone();
            let (name, version, evidence) = match &slot.runtime {
                Some(r) => (
                    r.runtime.as_str(),
                    r.version.clone(),
                    Some(format!("{:?}", r.evidence).to_lowercase()),
                ),
                None => ("unknown", None, None),
            };
            labels.insert("runtime".into(), name.into());
            if let Some(v) = version {
                labels.insert("runtime_version".into(), v);
            }
            if let Some(e) = evidence {
                labels.insert("runtime_evidence".into(), e);
            }
            points.push(Point {
                key: SeriesKey::new(slot.id.clone(), metric.clone()),
                labels,
                sample: Sample {
                    ts: now,
                    value: 1.0,
                },
            });
        }
    }
}

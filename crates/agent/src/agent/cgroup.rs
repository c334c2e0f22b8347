//! Cgroup memory and OOM kills of workloads grouped by cgroup, systemd unit or container.

use super::*;

impl Agent {
    /// Sum the memory and the OOM kills of each cgroup-grouped workload's outermost cgroups;
    /// increases of the kill counter since the last sample go to `kills`, malformed event files
    /// to `problems`.
    pub(super) fn cgroup_memory(
        &mut self,
        stats: &mut SampleStats,
        kills: &mut Vec<crate::oom::OomKill>,
        problems: &mut Vec<crate::oom::CgroupFileError>,
    ) {
        for &w in &self.touched {
            let Some(agg) = self.aggs.get_mut(w as usize) else {
                continue;
            };
            if agg.mem_files.is_empty() {
                continue;
            }
            outermost(&mut agg.mem_files);
            let mut total: Option<u64> = None;
            for f in &agg.mem_files {
                let Ok(text) = std::fs::read_to_string(PathBuf::from(f.as_ref())) else {
                    continue;
                };
                match parse::parse_u64(text.trim().as_bytes()) {
                    Some(v) => total = Some(total.unwrap_or(0).saturating_add(v)),
                    None => stats.malformed += 1,
                }
            }
            agg.cgroup_memory = total;
            let mut oom: Option<u64> = None;
            for f in &agg.mem_files {
                let Some(events) = crate::oom::events_file(f) else {
                    continue;
                };
                let path = PathBuf::from(events);
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                match crate::oom::parse_memory_events(&text, &path) {
                    Ok(ev) => oom = Some(oom.unwrap_or(0).saturating_add(ev.oom_kill)),
                    Err(e) => {
                        stats.malformed += 1;
                        problems.push(e);
                    }
                }
            }
            agg.oom_kills = oom;
            if let (Some(now), Some(slot)) = (oom, self.slots.get_mut(w as usize)) {
                let killed = crate::oom::increase(slot.oom_kills, now);
                slot.oom_kills = Some(now);
                if killed > 0 {
                    kills.push(crate::oom::OomKill {
                        workload: slot.id.clone(),
                        kills: killed,
                        total: now,
                    });
                }
            }
        }
    }
}

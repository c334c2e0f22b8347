//! Cgroup memory of workloads grouped by cgroup, systemd unit or container.

use super::*;

impl Agent {
    /// Sum the memory of each cgroup-grouped workload's outermost cgroups.
    pub(super) fn cgroup_memory(&mut self, stats: &mut SampleStats) {
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
        }
    }
}

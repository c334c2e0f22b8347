//! Per-workload sums of one sample and their conversion into points.

use crate::metrics;
use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};
use std::sync::Arc;

/// Sums over a workload's processes for one sample; rates are `None` until some process has two
/// readings.
#[derive(Debug, Default, Clone)]
pub(crate) struct Agg {
    pub processes: u64,
    pub threads: u64,
    pub rss_bytes: u64,
    pub open_fds: Option<u64>,
    pub cpu_cores: Option<f64>,
    pub read_bytes: Option<f64>,
    pub write_bytes: Option<f64>,
    pub rchar: Option<f64>,
    pub wchar: Option<f64>,
    pub syscr: Option<f64>,
    pub syscw: Option<f64>,
    pub ctx_vol: Option<f64>,
    pub ctx_invol: Option<f64>,
    pub net_rx: Option<f64>,
    pub net_tx: Option<f64>,
    pub cgroup_memory: Option<u64>,
    /// OOM kills counted in the workload's cgroups (cumulative).
    pub oom_kills: Option<u64>,
    /// Memory-cgroup files of the workload's processes (cgroup-grouped workloads only).
    pub mem_files: Vec<Arc<str>>,
}

pub(crate) fn add(slot: &mut Option<f64>, v: f64) {
    *slot = Some(slot.unwrap_or(0.0) + v);
}

impl Agg {
    pub fn clear(&mut self) {
        let mut files = std::mem::take(&mut self.mem_files);
        files.clear();
        *self = Agg {
            mem_files: files,
            ..Agg::default()
        };
    }

    /// Values in the order of [`metrics::ALL`].
    pub fn values(&self) -> [Option<f64>; metrics::ALL.len()] {
        [
            self.cpu_cores,
            Some(self.rss_bytes as f64),
            self.read_bytes,
            self.write_bytes,
            self.rchar,
            self.wchar,
            self.syscr,
            self.syscw,
            Some(self.threads as f64),
            self.ctx_vol,
            self.ctx_invol,
            self.open_fds.map(|v| v as f64),
            Some(self.processes as f64),
            self.net_rx,
            self.net_tx,
            self.cgroup_memory.map(|v| v as f64),
            self.oom_kills.map(|v| v as f64),
        ]
    }
}

/// The metric names, validated once.
pub(crate) fn metric_names() -> Vec<MetricName> {
    metrics::ALL
        .iter()
        .filter_map(|m| MetricName::new(*m).ok())
        .collect()
}

/// Append one point per known value of a workload.
pub(crate) fn push_points(
    out: &mut Vec<Point>,
    workload: &WorkloadId,
    agg: &Agg,
    names: &[MetricName],
    labels: &Labels,
    now: Timestamp,
) {
    for (value, metric) in agg.values().into_iter().zip(names) {
        let Some(value) = value.filter(|v| v.is_finite()) else {
            continue;
        };
        out.push(Point {
            key: SeriesKey::new(workload.clone(), metric.clone()),
            labels: labels.clone(),
            sample: Sample { ts: now, value },
        });
    }
}

/// Drop cgroup files nested below another one in the list (its usage already includes theirs).
pub(crate) fn outermost(files: &mut Vec<Arc<str>>) {
    files.sort_by(|a, b| parent(a).len().cmp(&parent(b).len()).then_with(|| a.cmp(b)));
    files.dedup();
    let mut kept: Vec<Arc<str>> = Vec::with_capacity(files.len());
    for f in files.drain(..) {
        let dir = parent(&f);
        let nested = kept.iter().any(|k| {
            let kd = parent(k);
            dir.len() > kd.len()
                && dir.starts_with(kd)
                && dir.as_bytes().get(kd.len()) == Some(&b'/')
        });
        if !nested {
            kept.push(f);
        }
    }
    *files = kept;
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(d, _)| d)
}

//! Folding millisecond readings into one stored step per workload: the mean and the peak of every rate.
//!
//! A step keeps, per workload and rate, the counter increase (rate × interval summed), the time
//! covered and the largest one-interval rate. At the step's end it emits `<metric>` (the mean over
//! the step: exactly the counter increase over the time covered, so no reading is lost) and
//! `<metric>_max` (the peak over a single interval, so a 3 ms burst inside a quiet second stays
//! visible), plus `watch_processes` (the most processes seen in one reading) and
//! `watch_gap_max_seconds` (the longest time between two readings: shows whether the interval
//! was kept).

use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};

/// CPU used, in cores, from nanosecond CPU time (see [`super::CpuSource`]).
pub const WATCH_CPU_CORES: &str = "watch_cpu_cores";
/// Time spent runnable but waiting for a CPU, in seconds per second (main thread; schedstat).
pub const WATCH_RUNQUEUE_WAIT: &str = "watch_runqueue_wait_seconds_per_s";
/// Times put on a CPU per second: every context switch in (main thread; schedstat).
pub const WATCH_TIMESLICES: &str = "watch_timeslices_per_s";
/// Read-like system calls per second (`/proc/<pid>/io` syscr, all threads).
pub const WATCH_SYSCR: &str = "watch_syscr_per_s";
/// Write-like system calls per second (syscw).
pub const WATCH_SYSCW: &str = "watch_syscw_per_s";
/// Bytes passed to read-like calls per second (rchar).
pub const WATCH_READ_CHARS: &str = "watch_read_chars_per_s";
/// Bytes passed to write-like calls per second (wchar).
pub const WATCH_WRITE_CHARS: &str = "watch_write_chars_per_s";
/// Voluntary context switches per second (main thread; with `status = true`).
pub const WATCH_CTX_VOLUNTARY: &str = "watch_ctx_switches_voluntary_per_s";
/// Involuntary context switches per second (main thread; with `status = true`).
pub const WATCH_CTX_INVOLUNTARY: &str = "watch_ctx_switches_involuntary_per_s";
/// Processes watched for the workload (the most in one reading of the step).
pub const WATCH_PROCESSES: &str = "watch_processes";
/// Longest time between two readings in the step, in seconds.
pub const WATCH_GAP_MAX: &str = "watch_gap_max_seconds";

/// The rates, in the order readings produce them; each is stored as its mean and `<name>_max`.
pub const RATES: [&str; 9] = [
    WATCH_CPU_CORES,
    WATCH_RUNQUEUE_WAIT,
    WATCH_TIMESLICES,
    WATCH_SYSCR,
    WATCH_SYSCW,
    WATCH_READ_CHARS,
    WATCH_WRITE_CHARS,
    WATCH_CTX_VOLUNTARY,
    WATCH_CTX_INVOLUNTARY,
];

/// Where the `/proc/<pid>/io` rates sit in [`RATES`] (read every `io_interval`, see
/// [`super::WatchConfig::io_interval`]).
pub const IO_RATES: std::ops::Range<usize> = 3..7;

/// One rate over a step.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    /// Σ rate × interval seconds: the counter's increase.
    total: f64,
    /// Seconds covered by readings that had this rate.
    seconds: f64,
    max: Option<f64>,
}

/// One workload over a step.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkloadStep {
    rates: [Acc; RATES.len()],
    processes: u64,
    gap_max: f64,
    seen: bool,
}

impl WorkloadStep {
    /// Add one interval of `seconds` in which the workload's processes summed to `rates`; the io
    /// rates, when present, cover the `io_seconds` since the last io reading instead.
    pub fn add(
        &mut self,
        rates: &[Option<f64>; RATES.len()],
        seconds: f64,
        io_seconds: Option<f64>,
        processes: u64,
    ) {
        self.seen = true;
        self.processes = self.processes.max(processes);
        self.gap_max = self.gap_max.max(seconds);
        for (i, (acc, r)) in self.rates.iter_mut().zip(rates).enumerate() {
            let Some(r) = r.filter(|r| r.is_finite()) else {
                continue;
            };
            let seconds = if IO_RATES.contains(&i) {
                match io_seconds {
                    Some(s) if s > 0.0 => s,
                    _ => continue,
                }
            } else {
                seconds
            };
            acc.total += r * seconds;
            acc.seconds += seconds;
            acc.max = Some(acc.max.map_or(r, |m| m.max(r)));
        }
    }

    /// Note processes present without a rate yet (their first reading).
    pub fn present(&mut self, processes: u64) {
        self.seen = true;
        self.processes = self.processes.max(processes);
    }

    fn clear(&mut self) {
        *self = WorkloadStep::default();
    }
}

/// The metric names, validated once: mean and max per rate, then processes and the gap.
pub(crate) struct Names {
    mean: Vec<MetricName>,
    max: Vec<MetricName>,
    processes: MetricName,
    gap: MetricName,
}

impl Names {
    pub fn new() -> Option<Names> {
        let mean = RATES
            .iter()
            .map(|m| MetricName::new(*m).ok())
            .collect::<Option<Vec<_>>>()?;
        let max = RATES
            .iter()
            .map(|m| MetricName::new(format!("{m}_max")).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Names {
            mean,
            max,
            processes: MetricName::new(WATCH_PROCESSES).ok()?,
            gap: MetricName::new(WATCH_GAP_MAX).ok()?,
        })
    }
}

/// Append a workload's points for a finished step stamped `at`, and clear it.
pub(crate) fn emit(
    out: &mut Vec<Point>,
    workload: &WorkloadId,
    step: &mut WorkloadStep,
    names: &Names,
    labels: &Labels,
    at: Timestamp,
) {
    if !step.seen {
        return;
    }
    let mut push = |metric: &MetricName, value: f64| {
        if value.is_finite() {
            out.push(Point {
                key: SeriesKey::new(workload.clone(), metric.clone()),
                labels: labels.clone(),
                sample: Sample { ts: at, value },
            });
        }
    };
    for (i, acc) in step.rates.iter().enumerate() {
        let (Some(max), true) = (acc.max, acc.seconds > 0.0) else {
            continue;
        };
        push(&names.mean[i], acc.total / acc.seconds);
        push(&names.max[i], max);
    }
    push(&names.processes, step.processes as f64);
    if step.gap_max > 0.0 {
        push(&names.gap, step.gap_max);
    }
    step.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_rates_are_the_io_counters() {
        assert_eq!(
            &RATES[IO_RATES],
            &[
                WATCH_SYSCR,
                WATCH_SYSCW,
                WATCH_READ_CHARS,
                WATCH_WRITE_CHARS
            ]
        );
    }

    #[test]
    fn the_mean_is_the_counter_increase_and_the_peak_survives() {
        let names = Names::new().unwrap();
        let mut s = WorkloadStep::default();
        let mut r = [None; RATES.len()];
        // 997 quiet milliseconds at 0.01 cores and a 3 ms burst at one full core.
        for i in 0..1000 {
            r[0] = Some(if (500..503).contains(&i) { 1.0 } else { 0.01 });
            s.add(&r, 0.001, Some(0.001), 2);
        }
        let w = WorkloadId::new("api").unwrap();
        let mut out = Vec::new();
        emit(
            &mut out,
            &w,
            &mut s,
            &names,
            &Labels::new(),
            Timestamp(1000),
        );
        let get = |m: &str| {
            out.iter()
                .find(|p| p.key.metric.as_str() == m)
                .map(|p| p.sample.value)
        };
        let mean = get("watch_cpu_cores").unwrap();
        assert!((mean - (0.997 * 0.01 + 0.003)).abs() < 1e-9, "{mean}");
        assert_eq!(get("watch_cpu_cores_max"), Some(1.0));
        assert_eq!(get("watch_processes"), Some(2.0));
        assert!((get("watch_gap_max_seconds").unwrap() - 0.001).abs() < 1e-12);
        assert_eq!(get("watch_syscr_per_s"), None, "no readings, no point");
        out.clear();
        emit(
            &mut out,
            &w,
            &mut s,
            &names,
            &Labels::new(),
            Timestamp(2000),
        );
        assert!(out.is_empty(), "a cleared step emits nothing");
    }
}

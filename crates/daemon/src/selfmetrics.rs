//! The daemon's own metrics (ingest, rejections, agent overhead, scrapes, store appends) and their
//! Prometheus text exposition.

use prescale_core::point::SeriesPoints;
use prescale_core::{Point, SeriesKey};
pub use prescale_remote::text::{family, line};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the store-append latency histogram.
const APPEND_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Shared, cheap to update from every loop; rendered on `/metrics`.
#[derive(Debug, Default)]
pub struct SelfMetrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    ingested: BTreeMap<String, u64>,
    rejected: BTreeMap<(String, String), u64>,
    requests: BTreeMap<(&'static str, u16), u64>,
    agent_cpu_seconds: f64,
    agent_wall_seconds: f64,
    agent_samples: u64,
    agent_failures: u64,
    agent_processes: usize,
    scrapes: BTreeMap<String, ScrapeStats>,
    append: Histogram,
    append_errors: u64,
    points_written: u64,
    series: HashSet<SeriesKey>,
    exports: BTreeMap<String, (u64, u64)>,
    retention_runs: u64,
    backfill_samples: u64,
    backfill_jobs_done: usize,
}

/// How far the loops have come (for `--once` and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoopProgress {
    pub agent_passes: u64,
    /// Scrape targets that were scraped at least once (successfully or not).
    pub targets_scraped: usize,
    /// Back-fill jobs finished (stored or failed).
    pub backfill_jobs_done: usize,
}

#[derive(Debug, Default, Clone)]
struct ScrapeStats {
    last_duration: f64,
    up: bool,
    scrapes: u64,
    failures: u64,
    samples: usize,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; APPEND_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl SelfMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A poisoned lock only means another thread panicked mid-update; counters stay usable.
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }

    /// Samples accepted from `source` (`agent`, `remote_write`, `scrape:<name>`, `backfill`).
    pub fn ingested(&self, source: &str, n: usize) {
        self.with(|m| *m.ingested.entry(source.to_string()).or_default() += n as u64);
    }

    /// Samples or requests refused from `source` for `reason`.
    pub fn rejected(&self, source: &str, reason: &str, n: u64) {
        if n > 0 {
            self.with(|m| {
                *m.rejected
                    .entry((source.to_string(), reason.to_string()))
                    .or_default() += n
            });
        }
    }

    /// One HTTP answer on `route`.
    pub fn request(&self, route: &'static str, status: u16) {
        self.with(|m| *m.requests.entry((route, status)).or_default() += 1);
    }

    /// One agent pass and its own cost.
    pub fn agent_pass(&self, cpu_seconds: f64, wall_seconds: f64, processes: usize) {
        self.with(|m| {
            m.agent_cpu_seconds += cpu_seconds.max(0.0);
            m.agent_wall_seconds += wall_seconds.max(0.0);
            m.agent_samples += 1;
            m.agent_processes = processes;
        });
    }

    pub fn agent_failure(&self) {
        self.with(|m| m.agent_failures += 1);
    }

    /// One scrape of `target`: how long it took and how many samples it yielded (`None`: failed).
    pub fn scrape(&self, target: &str, took: Duration, samples: Option<usize>) {
        self.with(|m| {
            let s = m.scrapes.entry(target.to_string()).or_default();
            s.last_duration = took.as_secs_f64();
            s.scrapes += 1;
            s.up = samples.is_some();
            match samples {
                Some(n) => s.samples = n,
                None => s.failures += 1,
            }
        });
    }

    /// One store commit of `points` and the samples grouped in `series`, taking `took`.
    pub fn append(&self, took: Duration, points: &[Point], series: &[SeriesPoints]) {
        let secs = took.as_secs_f64();
        self.with(|m| {
            let h = &mut m.append;
            for (i, b) in APPEND_BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
            m.points_written += points.len() as u64;
            m.points_written += series.iter().map(|s| s.samples.len() as u64).sum::<u64>();
            let keys = points
                .iter()
                .map(|p| &p.key)
                .chain(series.iter().map(|s| &*s.key));
            for key in keys {
                if !m.series.contains(key) {
                    m.series.insert(key.clone());
                }
            }
        });
    }

    /// Series already in the store at start-up.
    pub fn known_series(&self, series: impl Iterator<Item = SeriesKey>) {
        self.with(|m| m.series.extend(series));
    }

    pub fn append_error(&self) {
        self.with(|m| m.append_errors += 1);
    }

    pub fn export(&self, url: &str, ok: bool) {
        self.with(|m| {
            let e = m.exports.entry(url.to_string()).or_default();
            if ok {
                e.0 += 1
            } else {
                e.1 += 1
            }
        });
    }

    pub fn retention_run(&self) {
        self.with(|m| m.retention_runs += 1);
    }

    pub fn backfill_job_done(&self) {
        self.with(|m| m.backfill_jobs_done += 1);
    }

    pub fn progress(&self) -> LoopProgress {
        self.with(|m| LoopProgress {
            agent_passes: m.agent_samples + m.agent_failures,
            targets_scraped: m.scrapes.len(),
            backfill_jobs_done: m.backfill_jobs_done,
        })
    }

    pub fn backfilled(&self, n: usize) {
        self.with(|m| m.backfill_samples += n as u64);
    }

    /// Samples ingested from `source` so far (tests, logs).
    pub fn ingested_total(&self, source: &str) -> u64 {
        self.with(|m| m.ingested.get(source).copied().unwrap_or(0))
    }

    /// Rejections counted for `reason` across sources.
    pub fn rejected_total(&self, reason: &str) -> u64 {
        self.with(|m| {
            m.rejected
                .iter()
                .filter(|((_, r), _)| r == reason)
                .map(|(_, n)| n)
                .sum()
        })
    }

    /// Prometheus text exposition (format 0.0.4) of every metric.
    pub fn render(&self) -> String {
        self.with(|m| {
            let mut o = String::new();
            family(
                &mut o,
                "prescale_samples_ingested_total",
                "counter",
                "Samples accepted, by source.",
            );
            for (src, n) in &m.ingested {
                line(
                    &mut o,
                    "prescale_samples_ingested_total",
                    &[("source", src)],
                    *n as f64,
                );
            }
            family(
                &mut o,
                "prescale_samples_rejected_total",
                "counter",
                "Samples or requests refused, by source and reason.",
            );
            for ((src, reason), n) in &m.rejected {
                line(
                    &mut o,
                    "prescale_samples_rejected_total",
                    &[("source", src), ("reason", reason)],
                    *n as f64,
                );
            }
            family(
                &mut o,
                "prescale_http_requests_total",
                "counter",
                "HTTP answers by route and status.",
            );
            for ((route, status), n) in &m.requests {
                line(
                    &mut o,
                    "prescale_http_requests_total",
                    &[("route", route), ("status", &status.to_string())],
                    *n as f64,
                );
            }
            family(
                &mut o,
                "prescale_agent_cpu_seconds_total",
                "counter",
                "CPU time the agent spent sampling.",
            );
            line(
                &mut o,
                "prescale_agent_cpu_seconds_total",
                &[],
                m.agent_cpu_seconds,
            );
            family(
                &mut o,
                "prescale_agent_wall_seconds_total",
                "counter",
                "Wall time the agent spent sampling.",
            );
            line(
                &mut o,
                "prescale_agent_wall_seconds_total",
                &[],
                m.agent_wall_seconds,
            );
            family(
                &mut o,
                "prescale_agent_passes_total",
                "counter",
                "Agent sampling passes.",
            );
            line(
                &mut o,
                "prescale_agent_passes_total",
                &[],
                m.agent_samples as f64,
            );
            family(
                &mut o,
                "prescale_agent_failures_total",
                "counter",
                "Agent passes that failed.",
            );
            line(
                &mut o,
                "prescale_agent_failures_total",
                &[],
                m.agent_failures as f64,
            );
            family(
                &mut o,
                "prescale_agent_processes",
                "gauge",
                "Processes seen by the last agent pass.",
            );
            line(
                &mut o,
                "prescale_agent_processes",
                &[],
                m.agent_processes as f64,
            );
            family(
                &mut o,
                "prescale_scrape_duration_seconds",
                "gauge",
                "Duration of the last scrape, by target.",
            );
            for (t, s) in &m.scrapes {
                line(
                    &mut o,
                    "prescale_scrape_duration_seconds",
                    &[("target", t)],
                    s.last_duration,
                );
            }
            family(
                &mut o,
                "prescale_scrape_up",
                "gauge",
                "1 if the last scrape of the target succeeded.",
            );
            for (t, s) in &m.scrapes {
                line(
                    &mut o,
                    "prescale_scrape_up",
                    &[("target", t)],
                    if s.up { 1.0 } else { 0.0 },
                );
            }
            family(
                &mut o,
                "prescale_scrapes_total",
                "counter",
                "Scrapes attempted, by target.",
            );
            for (t, s) in &m.scrapes {
                line(
                    &mut o,
                    "prescale_scrapes_total",
                    &[("target", t)],
                    s.scrapes as f64,
                );
            }
            family(
                &mut o,
                "prescale_scrape_failures_total",
                "counter",
                "Scrapes that failed, by target.",
            );
            for (t, s) in &m.scrapes {
                line(
                    &mut o,
                    "prescale_scrape_failures_total",
                    &[("target", t)],
                    s.failures as f64,
                );
            }
            family(
                &mut o,
                "prescale_scrape_samples",
                "gauge",
                "Samples in the last successful scrape, by target.",
            );
            for (t, s) in &m.scrapes {
                line(
                    &mut o,
                    "prescale_scrape_samples",
                    &[("target", t)],
                    s.samples as f64,
                );
            }
            family(
                &mut o,
                "prescale_store_append_seconds",
                "histogram",
                "Latency of one store commit.",
            );
            for (i, b) in APPEND_BUCKETS.iter().enumerate() {
                line(
                    &mut o,
                    "prescale_store_append_seconds_bucket",
                    &[("le", &b.to_string())],
                    m.append.counts[i] as f64,
                );
            }
            line(
                &mut o,
                "prescale_store_append_seconds_bucket",
                &[("le", "+Inf")],
                m.append.count as f64,
            );
            line(
                &mut o,
                "prescale_store_append_seconds_sum",
                &[],
                m.append.sum,
            );
            line(
                &mut o,
                "prescale_store_append_seconds_count",
                &[],
                m.append.count as f64,
            );
            family(
                &mut o,
                "prescale_store_append_errors_total",
                "counter",
                "Store commits that failed.",
            );
            line(
                &mut o,
                "prescale_store_append_errors_total",
                &[],
                m.append_errors as f64,
            );
            family(
                &mut o,
                "prescale_store_points_written_total",
                "counter",
                "Points committed to the store.",
            );
            line(
                &mut o,
                "prescale_store_points_written_total",
                &[],
                m.points_written as f64,
            );
            family(
                &mut o,
                "prescale_series_tracked",
                "gauge",
                "Series in the store or written since start.",
            );
            line(
                &mut o,
                "prescale_series_tracked",
                &[],
                m.series.len() as f64,
            );
            family(
                &mut o,
                "prescale_export_pushes_total",
                "counter",
                "Remote-write pushes of prescale's series, by URL and result.",
            );
            for (url, (ok, failed)) in &m.exports {
                line(
                    &mut o,
                    "prescale_export_pushes_total",
                    &[("url", url), ("result", "ok")],
                    *ok as f64,
                );
                line(
                    &mut o,
                    "prescale_export_pushes_total",
                    &[("url", url), ("result", "failed")],
                    *failed as f64,
                );
            }
            family(
                &mut o,
                "prescale_retention_runs_total",
                "counter",
                "Retention passes applied.",
            );
            line(
                &mut o,
                "prescale_retention_runs_total",
                &[],
                m.retention_runs as f64,
            );
            family(
                &mut o,
                "prescale_backfill_samples_total",
                "counter",
                "Samples read by back-fill.",
            );
            line(
                &mut o,
                "prescale_backfill_samples_total",
                &[],
                m.backfill_samples as f64,
            );
            o
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_escapes_labels() {
        let m = SelfMetrics::new();
        m.ingested("remote_write", 5);
        m.rejected("remote_write", "non_finite", 2);
        m.scrape("a\"b", Duration::from_millis(20), None);
        let text = m.render();
        assert!(text.contains("prescale_samples_ingested_total{source=\"remote_write\"} 5\n"));
        assert!(text.contains("reason=\"non_finite\"} 2\n"));
        assert!(text.contains("prescale_scrape_up{target=\"a\\\"b\"} 0\n"));
        assert_eq!(m.rejected_total("non_finite"), 2);
    }
}

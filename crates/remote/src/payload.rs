//! Realistic remote-write payloads for benchmarks, and a concurrent sender to time an endpoint with.

use crate::error::RemoteError;
use crate::writer::RemoteWriter;
use prescale_ingest::remote_write::{try_encode, Label, PbSample, TimeSeries, WriteRequest};
use std::time::{Duration, Instant};

/// Shape of a benchmark load: `requests` bodies, each carrying `series` series with
/// `samples_per_series` consecutive samples; request `r` continues where request `r-1` stopped, so
/// the same series advance in time across requests (as a Prometheus shard sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadSpec {
    pub requests: usize,
    pub series: usize,
    pub samples_per_series: usize,
    /// Timestamp of the first sample (Unix ms).
    pub start_ms: i64,
    /// Spacing of samples within a series.
    pub step_ms: i64,
    pub seed: u64,
}

impl PayloadSpec {
    pub fn total_samples(&self) -> usize {
        self.requests * self.series * self.samples_per_series
    }
}

const METRICS: [&str; 10] = [
    "http_requests_total",
    "http_request_duration_seconds_sum",
    "http_request_duration_seconds_count",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "go_goroutines",
    "queue_depth",
    "db_pool_in_use",
    "cache_hits_total",
    "gc_pause_seconds_total",
];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [&str; 5] = ["200", "201", "404", "500", "503"];

/// splitmix64: a small deterministic generator (benchmarks must be reproducible).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Labels of series `i`: 10 metric names across jobs, instances, methods and status codes.
fn series_labels(i: usize) -> Vec<Label> {
    let job = format!("svc-{}", i % 7);
    let instance = format!("10.0.{}.{}:9100", (i / 7) % 16, i % 251);
    let mut l = vec![
        Label::new("__name__", METRICS[i % METRICS.len()]),
        Label::new("instance", instance),
        Label::new("job", job),
        Label::new("method", METHODS[(i / 10) % METHODS.len()]),
        Label::new("series", i.to_string()),
        Label::new("status", STATUSES[(i / 40) % STATUSES.len()]),
    ];
    l.sort_by(|a, b| a.name.cmp(&b.name));
    l
}

/// Builds the encoded (protobuf + snappy) bodies of `spec`.
pub fn build_payloads(spec: &PayloadSpec) -> Result<Vec<Vec<u8>>, RemoteError> {
    let labels: Vec<Vec<Label>> = (0..spec.series).map(series_labels).collect();
    let mut values: Vec<f64> = vec![0.0; spec.series];
    let mut rng = spec.seed;
    let mut out = Vec::with_capacity(spec.requests);
    for r in 0..spec.requests {
        let mut timeseries = Vec::with_capacity(spec.series);
        for (i, l) in labels.iter().enumerate() {
            let mut samples = Vec::with_capacity(spec.samples_per_series);
            for j in 0..spec.samples_per_series {
                // Counters climb, gauges wander: a few decimals, like real exporters.
                let step = (next(&mut rng) % 1000) as f64 / 100.0;
                values[i] += step;
                let k = (r * spec.samples_per_series + j) as i64;
                samples.push(PbSample {
                    value: values[i],
                    timestamp: spec.start_ms + k * spec.step_ms,
                });
            }
            timeseries.push(TimeSeries {
                labels: l.clone(),
                samples,
                exemplars: Vec::new(),
            });
        }
        let req = WriteRequest {
            timeseries,
            metadata: Vec::new(),
        };
        out.push(try_encode(&req).map_err(|e| RemoteError::Encode(e.to_string()))?);
    }
    Ok(out)
}

/// Result of [`send_all`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendStats {
    pub requests: usize,
    pub bytes: usize,
    pub retries: u32,
    /// Wall time until the last request was acknowledged.
    pub elapsed: Duration,
}

/// Sends `bodies` with `concurrency` threads (body `i` goes to thread `i % concurrency`, so each
/// thread keeps time order within its share) and times until every request was acknowledged.
pub fn send_all(
    writer: &RemoteWriter,
    bodies: &[Vec<u8>],
    concurrency: usize,
) -> Result<SendStats, RemoteError> {
    let n = concurrency.max(1);
    let started = Instant::now();
    let results: Vec<Result<u32, RemoteError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|k| {
                scope.spawn(move || {
                    let mut retries = 0;
                    for body in bodies.iter().skip(k).step_by(n) {
                        retries += writer.push_encoded(body)? - 1;
                    }
                    Ok(retries)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(RemoteError::Config("a sender thread panicked".to_string()))
                })
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut retries = 0;
    for r in results {
        retries += r?;
    }
    Ok(SendStats {
        requests: bodies.len(),
        bytes: bodies.iter().map(Vec::len).sum(),
        retries,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_ingest::remote_write::{decode, Limits};

    #[test]
    fn payloads_decode_and_advance_in_time() {
        let spec = PayloadSpec {
            requests: 3,
            series: 50,
            samples_per_series: 4,
            start_ms: 1_000,
            step_ms: 10,
            seed: 7,
        };
        let bodies = build_payloads(&spec).unwrap();
        assert_eq!(bodies, build_payloads(&spec).unwrap(), "deterministic");
        let mut total = 0;
        for (r, body) in bodies.iter().enumerate() {
            let req = decode(body, &Limits::default()).unwrap();
            assert_eq!(req.timeseries.len(), 50);
            let first = req.timeseries[0].samples[0].timestamp;
            assert_eq!(first, 1_000 + (r as i64) * 40);
            total += req
                .timeseries
                .iter()
                .map(|t| t.samples.len())
                .sum::<usize>();
        }
        assert_eq!(total, spec.total_samples());
    }
}

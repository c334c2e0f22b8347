//! Remote-write client: pushes samples as snappy-compressed protobuf with retries on transient failures.

use crate::error::{snippet, RemoteError};
use crate::http::Http;
use crate::naming::{point_sample, PromSample};
use crate::options::ClientOptions;
use prescale_core::Point;
use std::time::Duration;

/// When and how often a failed push is tried again. Back-off doubles from `initial_backoff` up to
/// `max_backoff` (no jitter, so runs are reproducible).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first (at least 1).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Also retry `429 Too Many Requests` (other 4xx answers are never retried).
    pub retry_on_429: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            retry_on_429: false,
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1` (attempt counts from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    fn should_retry(&self, e: &RemoteError) -> bool {
        e.is_transient() || (self.retry_on_429 && e.status() == Some(429))
    }
}

/// Options of a [`RemoteWriter`].
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    pub client: ClientOptions,
    pub retry: RetryPolicy,
    /// Samples per request; larger pushes are split (series stay in time order across requests).
    pub max_samples_per_request: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            client: ClientOptions::default().with_timeout(Duration::from_secs(30)),
            retry: RetryPolicy::default(),
            max_samples_per_request: 10_000,
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushStats {
    pub requests: usize,
    pub samples: usize,
    /// Attempts beyond the first, over all requests.
    pub retries: u32,
    pub bytes: usize,
}

/// Writes to a remote-write endpoint (Prometheus `/api/v1/write` with
/// `--web.enable-remote-write-receiver`, VictoriaMetrics `/api/v1/write`, prescale itself).
#[derive(Debug, Clone)]
pub struct RemoteWriter {
    url: String,
    http: Http,
    opts: WriterOptions,
}

impl RemoteWriter {
    /// `url` is the full endpoint, e.g. `http://127.0.0.1:8428/api/v1/write`.
    pub fn new(url: &str, opts: WriterOptions) -> Result<Self, RemoteError> {
        let url = url.trim().to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(RemoteError::Config(format!(
                "remote-write URL {url:?} must start with http:// or https://"
            )));
        }
        Ok(RemoteWriter {
            url,
            http: Http::new(opts.client.clone()),
            opts,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Pushes named samples, sorted by series then time and split into requests.
    pub fn push(&self, samples: &[PromSample]) -> Result<PushStats, RemoteError> {
        let mut sorted: Vec<&PromSample> = samples.iter().collect();
        sorted.sort_by(|a, b| (&a.name, &a.labels, a.ts).cmp(&(&b.name, &b.labels, b.ts)));
        let mut stats = PushStats::default();
        for batch in sorted.chunks(self.opts.max_samples_per_request.max(1)) {
            let body = encode_samples(batch)?;
            stats.retries += self.push_encoded(&body)? - 1;
            stats.requests += 1;
            stats.samples += batch.len();
            stats.bytes += body.len();
        }
        Ok(stats)
    }

    /// Pushes raw telemetry points under the naming of [`crate::naming::point_sample`].
    pub fn push_points(&self, points: &[Point]) -> Result<PushStats, RemoteError> {
        let samples: Vec<PromSample> = points.iter().map(point_sample).collect();
        self.push(&samples)
    }

    /// Sends one already encoded (protobuf + snappy block) body; returns the attempts it took.
    pub fn push_encoded(&self, body: &[u8]) -> Result<u32, RemoteError> {
        let max = self.opts.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            match self.send_once(body) {
                Ok(()) => return Ok(attempt),
                Err(e) if attempt < max && self.opts.retry.should_retry(&e) => {
                    std::thread::sleep(self.opts.retry.backoff(attempt));
                    attempt += 1;
                }
                Err(e) if attempt > 1 => {
                    return Err(RemoteError::RetriesExhausted {
                        attempts: attempt,
                        last: Box::new(e),
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn send_once(&self, body: &[u8]) -> Result<(), RemoteError> {
        let req = self
            .http
            .decorate(self.http.agent().post(&self.url))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0");
        let answer = self.http.answer(&self.url, req.send(body))?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(RemoteError::Http {
                url: self.url.clone(),
                status: answer.status,
                error_type: None,
                message: snippet(answer.body.trim(), 1000),
            })
        }
    }
}

/// Encodes samples as one remote-write request body (protobuf, snappy block).
pub fn encode_samples(samples: &[&PromSample]) -> Result<Vec<u8>, RemoteError> {
    let req = prescale_ingest::remote_write::from_points(samples.iter().map(|s| {
        (
            s.name.as_str(),
            s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            s.ts.0,
            s.value,
        )
    }));
    prescale_ingest::remote_write::try_encode(&req).map_err(|e| RemoteError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            retry_on_429: false,
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(400));
        assert_eq!(p.backoff(4), Duration::from_millis(500));
        assert_eq!(p.backoff(40), Duration::from_millis(500));
    }
}

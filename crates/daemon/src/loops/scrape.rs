//! Scrape loops: one task per target fetches its `/metrics` (blocking HTTP on the blocking pool),
//! parses Prometheus text or OpenMetrics, admits the samples and queues the points.

use super::stopped;
use crate::admission::SourceAdmission;
use crate::clock;
use crate::config::{show_duration, ScrapeTarget};
use crate::http::lock;
use crate::selfmetrics::SelfMetrics;
use crate::writer::WriterHandle;
use prescale_core::Point;
use prescale_ingest::admit::AdmissionConfig;
use prescale_ingest::exposition::{self, Format};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// What a scrape asks for: OpenMetrics first, then the classic text format.
pub const ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[derive(Debug, Error)]
pub enum ScrapeError {
    #[error("GET {url}: {source}")]
    Http {
        url: String,
        source: Box<ureq::Error>,
    },
    #[error("GET {url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: reading the body: {source}")]
    Body {
        url: String,
        source: Box<ureq::Error>,
    },
    #[error("parsing {url}: {source}")]
    Parse {
        url: String,
        source: exposition::ExpositionError,
    },
}

/// One scrape's outcome.
#[derive(Debug)]
pub struct Scraped {
    pub points: Vec<Point>,
    pub samples: usize,
    pub rejected: Vec<(String, u64)>,
}

/// A target with its HTTP agent and admission state.
pub struct Scraper {
    target: ScrapeTarget,
    http: ureq::Agent,
    admission: Mutex<SourceAdmission>,
}

impl Scraper {
    pub fn new(target: ScrapeTarget, admission: AdmissionConfig) -> Scraper {
        let http: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(target.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let admission = Mutex::new(SourceAdmission::new(admission, target.mapping.clone()));
        Scraper {
            target,
            http,
            admission,
        }
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    /// Fetches, parses and admits once (blocking).
    pub fn scrape_once(&self) -> Result<Scraped, ScrapeError> {
        let url = &self.target.url;
        let mut resp = self
            .http
            .get(url)
            .header("Accept", ACCEPT)
            .header(
                "User-Agent",
                concat!("prescale/", env!("CARGO_PKG_VERSION")),
            )
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", self.target.timeout.as_secs_f64()),
            )
            .call()
            .map_err(|e| ScrapeError::Http {
                url: url.clone(),
                source: Box::new(e),
            })?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(ScrapeError::Status {
                url: url.clone(),
                status,
            });
        }
        let format = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(Format::from_content_type)
            .unwrap_or(Format::Text);
        let text = resp
            .body_mut()
            .with_config()
            .limit(self.target.max_body_bytes)
            .read_to_string()
            .map_err(|e| ScrapeError::Body {
                url: url.clone(),
                source: Box::new(e),
            })?;
        let expo = exposition::parse(&text, format).map_err(|source| ScrapeError::Parse {
            url: url.clone(),
            source,
        })?;
        let kinds = expo.kind_index();
        let samples = expo.samples.len();
        let report = lock(&self.admission).admit(expo.samples, Some(&kinds), clock::now().0);
        Ok(Scraped {
            points: report.accepted,
            samples,
            rejected: report
                .rejected
                .iter()
                .map(|(r, n)| (r.as_str().to_string(), *n))
                .collect(),
        })
    }
}

/// Runs one target until shutdown.
pub async fn run(
    scraper: Arc<Scraper>,
    interval: Duration,
    writer: WriterHandle,
    metrics: Arc<SelfMetrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let source = format!("scrape:{}", scraper.name());
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(target = scraper.name(), interval = %show_duration(interval), "scraping");
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            _ = ticker.tick() => {}
        }
        let s = scraper.clone();
        let start = Instant::now();
        let result = tokio::task::spawn_blocking(move || s.scrape_once()).await;
        let took = start.elapsed();
        match result {
            Ok(Ok(scraped)) => {
                metrics.scrape(scraper.name(), took, Some(scraped.samples));
                for (reason, n) in &scraped.rejected {
                    metrics.rejected(&source, reason, *n);
                }
                let n = scraped.points.len();
                if writer.write(scraped.points).await.is_err() {
                    break;
                }
                metrics.ingested(&source, n);
            }
            Ok(Err(e)) => {
                metrics.scrape(scraper.name(), took, None);
                tracing::warn!(target = scraper.name(), error = %e, "scrape failed");
            }
            Err(e) => {
                metrics.scrape(scraper.name(), took, None);
                tracing::error!(target = scraper.name(), error = %e, "scrape task failed");
            }
        }
    }
}

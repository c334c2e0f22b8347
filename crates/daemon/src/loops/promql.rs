//! `[[source.promql]]` loops: one task per source evaluates its instant query against the user's
//! Prometheus-compatible server every interval (blocking HTTP on the blocking pool), admits the
//! results like scraped samples (mapping rules to workloads) and queues the points.

use super::stopped;
use crate::admission::SourceAdmission;
use crate::clock;
use crate::config::{show_duration, PromqlSource};
use crate::http::lock;
use crate::selfmetrics::SelfMetrics;
use crate::writer::WriterHandle;
use prescale_ingest::admit::AdmissionConfig;
use prescale_ingest::RawSample;
use prescale_remote::{ClientOptions, InstantAnswer, InstantSample, PromClient, RemoteError};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// One source with its client and admission state.
pub struct PromqlReader {
    source: PromqlSource,
    client: PromClient,
    admission: Mutex<SourceAdmission>,
}

/// What one evaluation gave.
#[derive(Debug)]
pub struct Read {
    pub points: Vec<prescale_core::Point>,
    pub samples: usize,
    pub rejected: Vec<(String, u64)>,
}

impl PromqlReader {
    pub fn new(source: PromqlSource, admission: AdmissionConfig) -> Result<Self, RemoteError> {
        let client = PromClient::new(
            &source.url,
            ClientOptions::default().with_timeout(source.timeout),
        )?;
        let admission = Mutex::new(SourceAdmission::new(admission, source.mapping.clone()));
        Ok(PromqlReader {
            source,
            client,
            admission,
        })
    }

    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// Evaluates the query once and admits its results (blocking).
    pub fn read_once(&self) -> Result<Read, RemoteError> {
        let answer = self.client.query(&self.source.query, None)?;
        let raw: Vec<RawSample> = match answer {
            InstantAnswer::Vector(entries) => entries
                .into_iter()
                .filter_map(|e| raw_sample(e, &self.source))
                .collect(),
            // a scalar has no labels to map to a workload; a matrix is not an instant result
            InstantAnswer::Scalar(_) | InstantAnswer::Matrix(_) => Vec::new(),
        };
        let samples = raw.len();
        let report = lock(&self.admission).admit(raw, None, clock::now().0);
        Ok(Read {
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

/// An instant result as a wire sample: named by the source's `metric`, else its `__name__`, else
/// the source's name; `None` for a NaN/±Inf answer.
fn raw_sample(e: InstantSample, source: &PromqlSource) -> Option<RawSample> {
    let sample = e.sample?;
    let mut labels = e.labels;
    let own = labels.remove("__name__");
    let name = source
        .metric
        .clone()
        .or(own)
        .unwrap_or_else(|| source.name.clone());
    Some(RawSample {
        name,
        // a BTreeMap iterates sorted by name, as RawSample wants
        labels: labels.into_iter().collect(),
        value: sample.value,
        timestamp_ms: Some(sample.ts.0),
    })
}

/// Runs one source until shutdown.
pub async fn run(
    reader: Arc<PromqlReader>,
    writer: WriterHandle,
    metrics: Arc<SelfMetrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let source = format!("promql:{}", reader.name());
    let mut ticker = tokio::time::interval(reader.source.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::info!(source = reader.name(), query = %reader.source.query, interval = %show_duration(reader.source.interval), "reading by PromQL");
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            _ = ticker.tick() => {}
        }
        let r = reader.clone();
        match tokio::task::spawn_blocking(move || r.read_once()).await {
            Ok(Ok(read)) => {
                for (reason, n) in &read.rejected {
                    metrics.rejected(&source, reason, *n);
                }
                let n = read.points.len();
                if writer.write(read.points).await.is_err() {
                    break;
                }
                metrics.ingested(&source, n);
            }
            Ok(Err(e)) => tracing::warn!(source = reader.name(), error = %e, "PromQL read failed"),
            Err(e) => tracing::error!(source = reader.name(), error = %e, "PromQL task failed"),
        }
    }
}

//! Back-fill at start-up: read history from Prometheus-compatible APIs and queue it for the writer,
//! logging progress as chunks arrive.

use crate::clock;
use crate::config::{show_duration, BackfillJob};
use crate::selfmetrics::SelfMetrics;
use crate::writer::WriterHandle;
use prescale_core::{Interval, Point, Series, Timestamp};
use prescale_remote::{ClientOptions, PromClient, RemoteError, TimeRange};
use std::sync::Arc;

/// Runs every job one after the other; a failing job is logged and the next one still runs.
pub async fn run(
    jobs: Vec<BackfillJob>,
    writer: WriterHandle,
    metrics: Arc<SelfMetrics>,
    batch: usize,
) {
    for job in jobs {
        run_one(job, &writer, &metrics, batch).await;
        metrics.backfill_job_done();
    }
}

async fn run_one(job: BackfillJob, writer: &WriterHandle, metrics: &SelfMetrics, batch: usize) {
    let url = job.url.clone();
    tracing::info!(%url, range = %show_duration(job.range), step = %show_duration(job.step), queries = job.queries.len(), "back-fill starting");
    let fetched = tokio::task::spawn_blocking(move || fetch(&job)).await;
    let series = match fetched {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::error!(%url, error = %e, "back-fill failed");
            return;
        }
        Err(e) => {
            tracing::error!(%url, error = %e, "back-fill task failed");
            return;
        }
    };
    let samples: usize = series.iter().map(Series::len).sum();
    metrics.backfilled(samples);
    let mut stored = 0;
    for chunk in points(&series).chunks(batch.max(1)) {
        match writer.write_acked(chunk.to_vec()).await {
            Ok(n) => stored += n,
            Err(e) => {
                tracing::error!(%url, error = %e, "back-fill not stored");
                return;
            }
        }
    }
    metrics.ingested("backfill", stored);
    tracing::info!(%url, series = series.len(), samples = stored, "back-fill stored");
}

fn fetch(job: &BackfillJob) -> Result<Vec<Series>, RemoteError> {
    let client = PromClient::new(&job.url, ClientOptions::default().with_timeout(job.timeout))?;
    let end = clock::now();
    let start = Timestamp(end.0.saturating_sub(job.range.as_millis() as i64));
    let range = TimeRange::new(start, end)?;
    let step = Interval::from_millis(job.step.as_millis() as i64)
        .ok_or_else(|| RemoteError::Config("back-fill step must be positive".into()))?;
    let mut last_logged = 0;
    let url = job.url.clone();
    let mut progress = |p: prescale_remote::Progress| {
        let pct = (p.done * 100).checked_div(p.total).unwrap_or(100);
        if pct >= last_logged + 10 || p.done == p.total {
            last_logged = pct;
            tracing::info!(%url, done = p.done, total = p.total, samples = p.samples, "back-fill {pct}%");
        }
    };
    prescale_remote::backfill(&client, &job.queries, range, step, &mut progress)
}

fn points(series: &[Series]) -> Vec<Point> {
    series
        .iter()
        .flat_map(|s| {
            s.samples().iter().map(move |smp| Point {
                key: s.key.clone(),
                labels: s.labels.clone(),
                sample: *smp,
            })
        })
        .collect()
}

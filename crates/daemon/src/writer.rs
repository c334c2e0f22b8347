//! The single writer: batches points from every source into one sink commit per flush, with
//! back-pressure (a bounded queue) and acknowledgements for callers that must wait for durability.
//! A sink that commits before its commit is durable (the embedded store's group commit) hands back
//! the wait for it; the acknowledgements are sent from a task that waits, while the writer goes on
//! committing the next batch (at most `MAX_SYNCING` commits wait at once).

use crate::config::{RetentionSchedule, WriterConfig};
use crate::selfmetrics::SelfMetrics;
use crate::sink::PointSink;
use prescale_core::point::SeriesPoints;
use prescale_core::{Point, Timestamp};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// Commits waiting to become durable at once; the writer waits for one before committing more.
const MAX_SYNCING: usize = 4;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum WriteError {
    #[error("the writer has shut down")]
    Closed,
    #[error("store commit failed: {0}")]
    Commit(String),
}

type Ack = oneshot::Sender<Result<usize, WriteError>>;

enum Job {
    Points {
        points: Vec<Point>,
        ack: Option<Ack>,
    },
    /// Samples grouped by series (remote-write), always acknowledged.
    Series {
        series: Vec<SeriesPoints>,
        ack: Ack,
    },
    Retention {
        schedule: RetentionSchedule,
        now: Timestamp,
        ack: Option<Ack>,
    },
    Flush {
        ack: Ack,
    },
    Close,
}

/// A cheap, cloneable way to hand points to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
}

impl WriterHandle {
    /// Queues points for the next commit; waits only while the queue is full.
    pub async fn write(&self, points: Vec<Point>) -> Result<(), WriteError> {
        if points.is_empty() {
            return Ok(());
        }
        self.tx
            .send(Job::Points { points, ack: None })
            .await
            .map_err(|_| WriteError::Closed)
    }

    /// Queues points and waits until they are committed (acknowledged = durable).
    pub async fn write_acked(&self, points: Vec<Point>) -> Result<usize, WriteError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Job::Points {
                points,
                ack: Some(ack),
            })
            .await
            .map_err(|_| WriteError::Closed)?;
        done.await.map_err(|_| WriteError::Closed)?
    }

    /// Queues samples grouped by series and waits until they are committed (acknowledged =
    /// durable); the number of samples.
    pub async fn write_series_acked(&self, series: Vec<SeriesPoints>) -> Result<usize, WriteError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Job::Series { series, ack })
            .await
            .map_err(|_| WriteError::Closed)?;
        done.await.map_err(|_| WriteError::Closed)?
    }

    /// From a plain thread (the agent): queues points, blocking while the queue is full.
    pub fn blocking_write(&self, points: Vec<Point>) -> Result<(), WriteError> {
        if points.is_empty() {
            return Ok(());
        }
        self.tx
            .blocking_send(Job::Points { points, ack: None })
            .map_err(|_| WriteError::Closed)
    }

    /// Commits everything queued so far and waits for it.
    pub async fn flush(&self) -> Result<usize, WriteError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Job::Flush { ack })
            .await
            .map_err(|_| WriteError::Closed)?;
        done.await.map_err(|_| WriteError::Closed)?
    }

    /// Applies retention after committing what is pending; waits for it.
    pub async fn retention(
        &self,
        schedule: RetentionSchedule,
        now: Timestamp,
    ) -> Result<usize, WriteError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Job::Retention {
                schedule,
                now,
                ack: Some(ack),
            })
            .await
            .map_err(|_| WriteError::Closed)?;
        done.await.map_err(|_| WriteError::Closed)?
    }

    /// Asks the writer to commit what is queued and stop.
    pub async fn close(&self) {
        let _ = self.tx.send(Job::Close).await;
    }
}

/// Starts the writer task over `sink`.
pub fn spawn(
    sink: Box<dyn PointSink>,
    cfg: WriterConfig,
    metrics: Arc<SelfMetrics>,
) -> (WriterHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(cfg.queue.max(1));
    let task = tokio::spawn(run(rx, Arc::new(Mutex::new(sink)), cfg, metrics));
    (WriterHandle { tx }, task)
}

type SharedSink = Arc<Mutex<Box<dyn PointSink>>>;

struct Pending {
    points: Vec<Point>,
    series: Vec<SeriesPoints>,
    /// Samples in `points` and `series` together.
    samples: usize,
    acks: Vec<(Ack, usize)>,
    since: Option<Instant>,
}

impl Pending {
    fn add_points(&mut self, points: Vec<Point>) -> usize {
        let n = points.len();
        if self.samples == 0 {
            self.since = Some(Instant::now());
        }
        self.samples += n;
        self.points.extend(points);
        n
    }

    fn add_series(&mut self, series: Vec<SeriesPoints>) -> usize {
        let n = series.iter().map(|s| s.samples.len()).sum();
        if self.samples == 0 {
            self.since = Some(Instant::now());
        }
        self.samples += n;
        self.series.extend(series);
        n
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    sink: SharedSink,
    cfg: WriterConfig,
    metrics: Arc<SelfMetrics>,
) {
    let mut p = Pending {
        points: Vec::new(),
        series: Vec::new(),
        samples: 0,
        acks: Vec::new(),
        since: None,
    };
    let mut closing = false;
    let syncing = &mut JoinSet::new();
    while !closing {
        let job = match p.since {
            None => rx.recv().await,
            Some(since) => {
                let deadline = tokio::time::Instant::from_std(since + cfg.flush_interval);
                tokio::select! {
                    j = rx.recv() => j,
                    _ = tokio::time::sleep_until(deadline) => {
                        commit(&sink, &mut p, &metrics, syncing).await;
                        continue;
                    }
                }
            }
        };
        let Some(job) = job else { break };
        let mut urgent = false;
        let mut next = Some(job);
        // Take everything already queued, so concurrent requests share one transaction.
        while let Some(job) = next.take() {
            match job {
                Job::Points { points, ack } => {
                    let n = p.add_points(points);
                    if let Some(a) = ack {
                        p.acks.push((a, n));
                        urgent = true;
                    }
                }
                Job::Series { series, ack } => {
                    let n = p.add_series(series);
                    p.acks.push((ack, n));
                    urgent = true;
                }
                Job::Flush { ack } => {
                    p.acks.push((ack, 0));
                    urgent = true;
                }
                Job::Retention { schedule, now, ack } => {
                    commit(&sink, &mut p, &metrics, syncing).await;
                    let r = retention(&sink, schedule, now, &metrics).await;
                    if let Some(a) = ack {
                        let _ = a.send(r);
                    }
                }
                Job::Close => {
                    closing = true;
                    break;
                }
            }
            if p.samples >= cfg.max_batch_points {
                break;
            }
            next = rx.try_recv().ok();
        }
        if urgent || closing || p.samples >= cfg.max_batch_points {
            commit(&sink, &mut p, &metrics, syncing).await;
        }
    }
    // Closed: commit whatever is still queued.
    rx.close();
    while let Ok(job) = rx.try_recv() {
        match job {
            Job::Points { points, ack } => {
                let n = p.add_points(points);
                if let Some(a) = ack {
                    p.acks.push((a, n));
                }
            }
            Job::Series { series, ack } => {
                let n = p.add_series(series);
                p.acks.push((ack, n));
            }
            _ => {}
        }
    }
    commit(&sink, &mut p, &metrics, syncing).await;
    while syncing.join_next().await.is_some() {}
}

async fn commit(
    sink: &SharedSink,
    p: &mut Pending,
    metrics: &Arc<SelfMetrics>,
    syncing: &mut JoinSet<()>,
) {
    p.since = None;
    p.samples = 0;
    let points = std::mem::take(&mut p.points);
    let series = std::mem::take(&mut p.series);
    let acks = std::mem::take(&mut p.acks);
    if points.is_empty() && series.is_empty() {
        if !acks.is_empty() {
            // A flush: everything committed before it must be durable first.
            while syncing.join_next().await.is_some() {}
        }
        for (a, _) in acks {
            let _ = a.send(Ok(0));
        }
        return;
    }
    while syncing.try_join_next().is_some() {}
    while syncing.len() >= MAX_SYNCING {
        syncing.join_next().await;
    }
    let sink = sink.clone();
    let m = metrics.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut guard = match sink.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let r = guard.append_deferred(&points, &series);
        drop(guard);
        let took = start.elapsed();
        match &r {
            Ok(_) => m.append(took, &points, &series),
            Err(_) => m.append_error(),
        }
        r.map_err(|e| e.to_string())
    })
    .await;
    let result = match joined {
        Ok(Ok((n, None))) => Ok(n),
        Ok(Ok((n, Some(wait)))) => {
            // Acknowledged once durable, while the writer commits the next batch.
            let m = metrics.clone();
            syncing.spawn(async move {
                let durable = tokio::task::spawn_blocking(wait).await;
                let result = match durable {
                    Ok(Ok(())) => Ok(n),
                    Ok(Err(e)) => {
                        m.append_error();
                        tracing::error!(error = %e, "store commit not durable");
                        Err(WriteError::Commit(e.to_string()))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "store sync task failed");
                        Err(WriteError::Commit(e.to_string()))
                    }
                };
                for (a, n) in acks {
                    let _ = a.send(result.clone().map(|_| n));
                }
            });
            return;
        }
        Ok(Err(msg)) => {
            tracing::error!(error = %msg, "store commit failed");
            Err(WriteError::Commit(msg))
        }
        Err(e) => {
            tracing::error!(error = %e, "store commit task failed");
            Err(WriteError::Commit(e.to_string()))
        }
    };
    for (a, n) in acks {
        let _ = a.send(result.clone().map(|_| n));
    }
}

async fn retention(
    sink: &SharedSink,
    schedule: RetentionSchedule,
    now: Timestamp,
    metrics: &Arc<SelfMetrics>,
) -> Result<usize, WriteError> {
    let sink = sink.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut guard = match sink.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard
            .retention(&schedule, now)
            .map(|s| (s, start.elapsed()))
            .map_err(|e| e.to_string())
    })
    .await;
    match joined {
        Ok(Ok((summary, took))) => {
            metrics.retention_run();
            tracing::info!(%summary, took_ms = took.as_millis() as u64, "retention applied");
            Ok(0)
        }
        Ok(Err(msg)) => {
            tracing::error!(error = %msg, "retention failed");
            Err(WriteError::Commit(msg))
        }
        Err(e) => Err(WriteError::Commit(e.to_string())),
    }
}

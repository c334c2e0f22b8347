//! Export: push prescale's own series by remote-write on a schedule: new forecasts with their bands,
//! and what the control loop did (the same samples `/metrics` shows, see
//! [`crate::control_metrics`]).

use super::stopped;
use crate::config::ExportTarget;
use crate::http::lock;
use crate::ownseries;
use crate::selfmetrics::SelfMetrics;
use prescale_core::{SeriesKey, Timestamp};
use prescale_remote::{ClientOptions, RemoteWriter, WriterOptions};
use prescale_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

pub async fn run(
    target: ExportTarget,
    reader: Arc<Mutex<Store>>,
    metrics: Arc<SelfMetrics>,
    insight: crate::insight::Insight,
    mut shutdown: watch::Receiver<bool>,
) {
    let writer = match RemoteWriter::new(
        &target.url,
        WriterOptions {
            client: ClientOptions::default().with_timeout(target.timeout),
            ..WriterOptions::default()
        },
    ) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            tracing::error!(url = %target.url, error = %e, "export disabled");
            return;
        }
    };
    let pushed: Arc<Mutex<HashMap<SeriesKey, Timestamp>>> = Arc::default();
    let control_pushed: Arc<Mutex<Pushed>> = Arc::default();
    let mut ticker = tokio::time::interval(target.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            _ = ticker.tick() => {}
        }
        let (r, w, p) = (reader.clone(), writer.clone(), pushed.clone());
        let mut control = insight.control().samples(crate::clock::now());
        control.extend(insight.shadows().samples(crate::clock::now()));
        let cp = control_pushed.clone();
        let result = tokio::task::spawn_blocking(move || {
            Ok::<_, String>(push_new(&r, &w, &p)? + push_control(&w, control, &cp)?)
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                metrics.export(&target.url, true);
                tracing::debug!(url = %target.url, samples = n, "exported forecasts");
            }
            Ok(Err(e)) => {
                metrics.export(&target.url, false);
                tracing::warn!(url = %target.url, error = %e, "export failed");
            }
            Err(e) => tracing::error!(url = %target.url, error = %e, "export task failed"),
        }
    }
}

/// The time of the latest sample pushed of each control series (name and labels).
type Pushed = HashMap<(String, Vec<(String, String)>), Timestamp>;

/// Pushes the control loop's samples newer than those of the same series pushed before (a gauge of
/// a decision is stamped with its time, so it goes once); remembers them once the push succeeded.
fn push_control(
    writer: &RemoteWriter,
    samples: Vec<prescale_remote::naming::PromSample>,
    pushed: &Mutex<Pushed>,
) -> Result<usize, String> {
    let key = |s: &prescale_remote::naming::PromSample| {
        let labels = s.labels.iter().map(|(k, v)| (k.clone(), v.clone()));
        (s.name.clone(), labels.collect::<Vec<_>>())
    };
    let fresh: Vec<_> = {
        let p = lock(pushed);
        samples
            .into_iter()
            .filter(|s| p.get(&key(s)).is_none_or(|&t| s.ts > t))
            .collect()
    };
    if fresh.is_empty() {
        return Ok(0);
    }
    writer.push(&fresh).map_err(|e| e.to_string())?;
    let mut p = lock(pushed);
    for s in &fresh {
        p.insert(key(s), s.ts);
    }
    Ok(fresh.len())
}

/// Pushes forecasts not pushed before; remembers them only once the push succeeded.
fn push_new(
    reader: &Mutex<Store>,
    writer: &RemoteWriter,
    pushed: &Mutex<HashMap<SeriesKey, Timestamp>>,
) -> Result<usize, String> {
    let fresh = {
        let known = lock(pushed).clone();
        ownseries::new_forecasts(&lock(reader), &known).map_err(|e| e.to_string())?
    };
    let samples: Vec<_> = fresh
        .iter()
        .flat_map(|(_, _, s)| s.iter().cloned())
        .collect();
    if samples.is_empty() {
        return Ok(0);
    }
    writer.push(&samples).map_err(|e| e.to_string())?;
    let mut p = lock(pushed);
    for (key, at, _) in fresh {
        p.insert(key, at);
    }
    Ok(samples.len())
}

//! The decision outbox: every decision in the store's decision log reaches
//! `prescale.decisions.<workload>`, none lost to a full queue, a bus outage or a kill -9.
//!
//! The publisher reads the log after a cursor kept in the store (prescale-store's `outbox`), a
//! page of [`PAGE`] rows at a time in row order (memory stays bounded however large the backlog
//! after hours without a bus), publishes [`WINDOW`] rows at once and moves the cursor only past
//! the rows JetStream acknowledged. A failed publish is retried with a doubling backoff
//! ([`BACKOFF_FIRST`] to [`BACKOFF_MAX`]) until it succeeds, each failure counted; a restarted
//! process resumes from the cursor. Delivery is at least once: a row published but not yet
//! passed by the stored cursor (a kill -9 between the acknowledgement and the cursor's write, or
//! an acknowledgement lost with the connection) is published again with the same message id,
//! `<workload>@<step>`, which the stream stores once within its duplicate window (two minutes,
//! the JetStream default the decisions stream keeps), counted in `duplicates`. The control loop
//! only wakes the publisher; it also reads the log every [`IDLE_POLL`] on its own.

use prescale_bus::{DecisionMessage, Fence, Publisher};
use prescale_core::WorkloadId;
use prescale_store::{DecisionRow, Store, StoreError, StoreOptions};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Rows read from the log at once.
pub const PAGE: usize = 512;
/// Rows published before their acknowledgements are awaited (and the cursor written).
pub const WINDOW: usize = 64;
/// With nothing to publish, the log is read again this often without a wake-up.
pub const IDLE_POLL: Duration = Duration::from_secs(1);
/// The wait before the first retry; it doubles up to [`BACKOFF_MAX`] while publishing fails.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The outbox's counters (`GET /api/v1/cluster`).
#[derive(Debug, Default)]
pub struct OutboxStats {
    /// Decisions the stream acknowledged as new.
    pub published: AtomicU64,
    /// Decisions the stream acknowledged as already stored (published again after a crash or a
    /// lost acknowledgement, recognised by their message id).
    pub duplicates: AtomicU64,
    /// Failed publish attempts (each one retried).
    pub retries: AtomicU64,
    /// Logged decisions not yet acknowledged, as last counted.
    pub backlog: AtomicU64,
    /// Logged decisions whose record is not JSON: skipped (and logged), never published.
    pub unpublishable: AtomicU64,
}

/// The store handle the outbox reads the log and keeps its cursor with.
pub struct DecisionLog {
    store: Store,
    cursor: i64,
}

impl DecisionLog {
    /// Opens the store at `db` and starts the outbox (blocking; before the control loop first
    /// decides, so that the cursor of a new outbox is not past a decision to publish).
    pub fn open(db: &Path, options: &StoreOptions) -> Result<DecisionLog, StoreError> {
        DecisionLog::start(Store::open_with(db, options)?)
    }

    /// Starts the outbox on `store` (blocking).
    pub fn start(mut store: Store) -> Result<DecisionLog, StoreError> {
        let cursor = store.decision_outbox_start()?;
        Ok(DecisionLog { store, cursor })
    }
}

/// The fence a logged decision was made under, when still known (its workload and time): while
/// the instance holds the partition since before the decision.
pub type FenceOf = Arc<dyn Fn(&WorkloadId, i64) -> Option<Fence> + Send + Sync>;

/// A published decision: who decided it under which fencing token, and the record.
#[derive(Serialize)]
struct Published<'a> {
    instance: &'a str,
    partition: Option<u32>,
    token: Option<u64>,
    record: serde_json::Value,
}

/// Publishes the decision log from its cursor until shutdown.
pub struct Outbox {
    pub log: DecisionLog,
    pub publisher: Publisher,
    /// This instance's id (in every message).
    pub instance: String,
    pub fence_of: FenceOf,
    pub stats: Arc<OutboxStats>,
}

/// Runs `f` on the store off the runtime.
async fn on_store<T: Send + 'static>(
    store: &Arc<Mutex<Store>>,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&mut store.lock().unwrap_or_else(|p| p.into_inner())))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

impl Outbox {
    /// Publishes until `shutdown`; `wake` says a decision was logged.
    pub async fn run(self, mut wake: mpsc::Receiver<()>, mut shutdown: watch::Receiver<bool>) {
        let Outbox {
            log,
            publisher,
            instance,
            fence_of,
            stats,
        } = self;
        let mut cursor = log.cursor;
        let store = Arc::new(Mutex::new(log.store));
        let mut backoff = BACKOFF_FIRST;
        let mut failing = false;
        // Waits `d`; returns on shutdown.
        macro_rules! pause {
            ($d:expr) => {
                tokio::select! {
                    _ = crate::loops::stopped(&mut shutdown) => return,
                    _ = tokio::time::sleep($d) => {}
                }
            };
        }
        'pages: loop {
            if *shutdown.borrow() {
                return;
            }
            let from = cursor;
            let page = on_store(&store, move |s| {
                Ok((s.decisions_after(from, PAGE)?, s.decisions_backlog(from)?))
            })
            .await;
            let rows = match page {
                Ok((rows, backlog)) => {
                    stats.backlog.store(backlog, Ordering::Relaxed);
                    rows
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the decision log to publish it");
                    pause!(BACKOFF_MAX);
                    continue;
                }
            };
            if rows.is_empty() {
                tokio::select! {
                    _ = crate::loops::stopped(&mut shutdown) => return,
                    _ = wake.recv() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
                continue;
            }
            for chunk in rows.chunks(WINDOW) {
                // Each row's id and whether it has a message in `batch` (an unpublishable one
                // has none, and is passed with the rows around it).
                let mut encoded: Vec<(i64, bool)> = Vec::with_capacity(chunk.len());
                let mut batch: Vec<DecisionMessage> = Vec::with_capacity(chunk.len());
                for (id, row) in chunk {
                    let m = message(&instance, &fence_of, row, &stats);
                    encoded.push((*id, m.is_some()));
                    batch.extend(m);
                }
                let done = tokio::select! {
                    _ = crate::loops::stopped(&mut shutdown) => return,
                    done = publisher.publish_decisions(&batch) => done,
                };
                stats
                    .published
                    .fetch_add((done.acked - done.duplicates) as u64, Ordering::Relaxed);
                stats
                    .duplicates
                    .fetch_add(done.duplicates as u64, Ordering::Relaxed);
                // Past every row up to the first message not acknowledged.
                let mut acked = done.acked;
                let mut passed = cursor;
                for &(id, has_message) in &encoded {
                    if has_message {
                        if acked == 0 {
                            break;
                        }
                        acked -= 1;
                    }
                    passed = id;
                }
                if passed > cursor {
                    cursor = passed;
                    if let Err(e) =
                        on_store(&store, move |s| s.decision_outbox_advance(passed)).await
                    {
                        // Published all the same; after a restart they go again, as duplicates.
                        tracing::warn!(error = %e, "writing the decision outbox's cursor");
                    }
                    let left = stats.backlog.load(Ordering::Relaxed);
                    let moved = encoded.iter().take_while(|(id, _)| *id <= passed).count();
                    stats
                        .backlog
                        .store(left.saturating_sub(moved as u64), Ordering::Relaxed);
                }
                if let Some(e) = done.error {
                    stats.retries.fetch_add(1, Ordering::Relaxed);
                    if !failing {
                        tracing::warn!(error = %e, backlog = stats.backlog.load(Ordering::Relaxed), "publishing decisions failed; retrying until the bus takes them");
                    }
                    failing = true;
                    pause!(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue 'pages;
                }
                if failing {
                    tracing::info!("publishing decisions again");
                    failing = false;
                }
                backoff = BACKOFF_FIRST;
            }
        }
    }
}

/// The message of one logged decision; `None` (counted and logged) when its record is not JSON.
fn message(
    instance: &str,
    fence_of: &FenceOf,
    row: &DecisionRow,
    stats: &OutboxStats,
) -> Option<DecisionMessage> {
    let fence = fence_of(&row.workload, row.at.0);
    let encoded = serde_json::from_str(&row.record_json).and_then(|record| {
        serde_json::to_vec(&Published {
            instance,
            partition: fence.map(|f| f.partition),
            token: fence.map(|f| f.token),
            record,
        })
    });
    match encoded {
        Ok(json) => Some(DecisionMessage {
            workload: row.workload.clone(),
            // One message per workload and step: published twice, stored once.
            id: format!("{}@{}", row.workload, row.at.0),
            json,
        }),
        Err(e) => {
            stats.unpublishable.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(workload = %row.workload, at = %row.at, error = %e, "a logged decision is not JSON; not published");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_bus::testkit::{nats_or_skip, read_stream};
    use prescale_bus::{Bus, BusOptions, Partitions};
    use prescale_core::Timestamp;
    use std::collections::BTreeMap;

    fn row(w: &str, at: i64) -> DecisionRow {
        DecisionRow {
            workload: WorkloadId::new(w).unwrap(),
            at: Timestamp(at),
            mode: "act".into(),
            before: Some(1),
            after: Some(2),
            record_json: format!("{{\"workload\":\"{w}\",\"at\":{at}}}"),
        }
    }

    /// Saves `n` decisions from `first` (alternating two workloads); their message ids.
    fn save(store: &mut Store, first: i64, n: i64) -> Vec<String> {
        (first..first + n)
            .map(|at| {
                let w = if at % 2 == 0 { "web" } else { "db.v2" };
                store.save_decision(&row(w, at)).unwrap();
                format!("{w}@{at}")
            })
            .collect()
    }

    /// A running outbox over the store at `db`.
    struct Running {
        stats: Arc<OutboxStats>,
        wake: mpsc::Sender<()>,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
    }

    async fn run(bus: &Bus, db: &Path) -> Running {
        let log = DecisionLog::open(db, &StoreOptions::default()).unwrap();
        let stats = Arc::new(OutboxStats::default());
        let (wake, wake_rx) = mpsc::channel(1);
        let (stop, stop_rx) = watch::channel(false);
        let outbox = Outbox {
            log,
            publisher: Publisher::new(bus.js.clone(), Partitions::new(4).unwrap()),
            instance: "me".into(),
            fence_of: Arc::new(|_: &WorkloadId, _: i64| None),
            stats: stats.clone(),
        };
        let task = tokio::spawn(outbox.run(wake_rx, stop_rx));
        Running {
            stats,
            wake,
            stop,
            task,
        }
    }

    impl Running {
        async fn stop(self) {
            self.stop.send(true).unwrap();
            self.task.await.unwrap();
        }

        /// Waits (up to a minute: a liveness bound, not a timing) until `f` holds.
        async fn until(&self, what: &str, f: impl Fn(&OutboxStats) -> bool) {
            let _ = self.wake.try_send(());
            let start = std::time::Instant::now();
            while !f(&self.stats) {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "{what}: {:?}",
                    self.stats
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    fn n(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }

    /// The decisions stream's messages by id, with how many times each is stored.
    async fn on_bus(url: &str) -> BTreeMap<String, usize> {
        let mut by_id = BTreeMap::new();
        for m in read_stream(url, prescale_bus::subject::DECISIONS_STREAM)
            .await
            .unwrap()
        {
            *by_id.entry(m.msg_id.unwrap()).or_insert(0) += 1;
        }
        by_id
    }

    fn once(ids: &[String]) -> BTreeMap<String, usize> {
        ids.iter().map(|i| (i.clone(), 1)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bus_outage_while_deciding_loses_nothing() {
        let Some(mut nats) = nats_or_skip("a_bus_outage_while_deciding_loses_nothing") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let mut store = Store::open(&db).unwrap();
        let bus = Bus::connect(&nats.url(), BusOptions::new("me", Duration::from_secs(2)))
            .await
            .unwrap();
        let out = run(&bus, &db).await;
        let mut ids = save(&mut store, 0, 10);
        out.until("the first ten", |s| {
            n(&s.published) == 10 && n(&s.backlog) == 0
        })
        .await;

        // The bus goes away while decisions go on: more than a page of them wait, retried.
        nats.stop();
        ids.extend(save(&mut store, 10, 1200));
        out.until("retries with the bus away", |s| n(&s.retries) >= 2)
            .await;
        assert_eq!(
            n(&out.stats.published),
            10,
            "acknowledged with the bus away"
        );
        assert_eq!(n(&out.stats.backlog), 1200);

        // It returns: every one arrives, each stored once.
        nats.restart().unwrap();
        out.until("the backlog after the outage", |s| n(&s.backlog) == 0)
            .await;
        let s = &out.stats;
        assert_eq!(n(&s.published) + n(&s.duplicates), 1210, "{s:?}");
        assert_eq!(n(&s.unpublishable), 0);
        assert_eq!(on_bus(&nats.url()).await, once(&ids));
        out.stop().await;
        assert_eq!(
            store.decision_outbox_cursor().unwrap(),
            Some(store.decisions(1, None).unwrap()[0].0)
        );
        // A message carries the instance and the logged record.
        let first = read_stream(&nats.url(), prescale_bus::subject::DECISIONS_STREAM)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.msg_id.as_deref() == Some("db.v2@1"))
            .unwrap();
        assert_eq!(first.subject, "prescale.decisions.db%2Ev2");
        let body: serde_json::Value = serde_json::from_slice(&first.payload).unwrap();
        assert_eq!(body["instance"], "me");
        assert_eq!(
            body["record"],
            serde_json::json!({"workload": "db.v2", "at": 1})
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restart_resumes_from_the_cursor_and_a_republish_is_stored_once() {
        let Some(nats) =
            nats_or_skip("a_restart_resumes_from_the_cursor_and_a_republish_is_stored_once")
        else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let mut store = Store::open(&db).unwrap();
        // Decisions made before the outbox first started are not published.
        save(&mut store, -5, 5);
        let bus = Bus::connect(&nats.url(), BusOptions::new("me", Duration::from_secs(2)))
            .await
            .unwrap();
        let first = run(&bus, &db).await;
        let mut ids = save(&mut store, 0, 5);
        first
            .until("the first five", |s| {
                n(&s.backlog) == 0 && n(&s.published) == 5
            })
            .await;
        first.stop().await;
        // Decided while it is down; the next one publishes those only.
        ids.extend(save(&mut store, 5, 5));
        let second = run(&bus, &db).await;
        second
            .until("the five after the restart", |s| {
                n(&s.backlog) == 0 && n(&s.published) + n(&s.duplicates) >= 5
            })
            .await;
        assert_eq!(n(&second.stats.published), 5);
        assert_eq!(n(&second.stats.duplicates), 0);
        second.stop().await;

        // A crash after the acknowledgements but before the cursor's write publishes them again:
        // another log holding the same ten decisions past its cursor stands for it.
        let again = dir.path().join("again.db");
        let mut other = Store::open(&again).unwrap();
        let third = run(&bus, &again).await;
        save(&mut other, 0, 10);
        third
            .until("the ten again", |s| {
                n(&s.backlog) == 0 && n(&s.published) + n(&s.duplicates) >= 10
            })
            .await;
        assert_eq!(n(&third.stats.duplicates), 10);
        assert_eq!(n(&third.stats.published), 0);
        third.stop().await;
        assert_eq!(on_bus(&nats.url()).await, once(&ids));
    }
}

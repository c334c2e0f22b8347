//! The learn loop: refreshes the stored fleet's fingerprints every `fingerprint_every` and clusters
//! them (k-means and DBSCAN, stable ids) every `cluster_every` and once after the first successful
//! (or already current) fingerprint run, on a blocking thread with its own store connection.
//! Failures (too little history yet) are logged and retried next period; they never stop the daemon.
//! When forecast error stays high — a controlled workload's recent band coverage is 20 points or
//! more under its nominal level over at least 50 scored steps, or drift has been declared — the
//! fleet is also re-clustered after the next fingerprint run, at most every 10 minutes.
//! The fleet models (`[learn] fleet`) are trained in a task of their own, so fingerprinting and
//! clustering go on meanwhile; in a cluster the learner trains them for every instance
//! (`crate::cluster::fleet_models`).

use super::stopped;
use crate::clock;
use crate::config::{DaemonConfig, LearnConfig, StoreKind};
use crate::error::DaemonError;
use crate::http::lock;
use crate::insight::Insight;
use prescale_core::{Interval, Timestamp, WorkloadId};
use prescale_fingerprint::Reducer;
use prescale_learn::{
    cluster_latest, fingerprint_store, Algorithm, BasisPolicy, ClusterOptions, FingerprintOptions,
    ForecastHealth, LearnError, ReclusterRule,
};
use prescale_store::{Store, StoreOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Opens the loop's store connection and starts it, when `[learn]` is enabled and the store is the
/// embedded one (the fleet's series must be in the file); `None` otherwise.
///
/// In a cluster (`link`), fingerprints and clusters are learned over the whole fleet by the
/// elected learner from every instance's feature rows (`crate::cluster::learning`): each
/// fingerprint period publishes this instance's rows, then learns (the learner) or stores the
/// learner's result (the others); the cluster period has nothing more to do.
pub async fn spawn(
    cfg: &DaemonConfig,
    insight: Insight,
    link: Option<&crate::cluster::ClusterLink>,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<JoinHandle<()>>, DaemonError> {
    let Some(learn) = cfg.learn.clone() else {
        return Ok(None);
    };
    if !matches!(cfg.store, StoreKind::Embedded) {
        tracing::info!("learn loop off: it needs the embedded store");
        return Ok(None);
    }
    let (db, opts) = (
        cfg.db.clone(),
        StoreOptions {
            synchronous: cfg.synchronous,
        },
    );
    let store = tokio::task::spawn_blocking(move || Store::open_with(&db, &opts))
        .await
        .map_err(|e| DaemonError::Task(e.to_string()))??;
    let fleet = match link {
        None => None,
        Some(l) => {
            let (f, rounds) = crate::cluster::learning::FleetLearn::start(l, shutdown.clone())?;
            Some((f, rounds))
        }
    };
    // a cluster's fleet models: trained by the learner over every owner's histories, in a task
    // of their own with their own store connection (training never holds up a learning round)
    let models = match (link, &fleet, learn.fleet_every) {
        (Some(l), Some((f, _)), Some(every)) => {
            let (db, opts) = (
                cfg.db.clone(),
                StoreOptions {
                    synchronous: cfg.synchronous,
                },
            );
            let store = tokio::task::spawn_blocking(move || Store::open_with(&db, &opts))
                .await
                .map_err(|e| DaemonError::Task(e.to_string()))??;
            Some(crate::cluster::fleet_models::start(
                l,
                f.leader(),
                store,
                insight.fleet().clone(),
                crate::cluster::fleet_models::Schedule {
                    every,
                    cells: learn.cluster_models.clone(),
                },
                shutdown.clone(),
            ))
        }
        _ => None,
    };
    tracing::info!(
        fingerprint_every = %crate::config::show_duration(learn.fingerprint_every),
        cluster_every = %crate::config::show_duration(learn.cluster_every),
        fleet_wide = fleet.is_some(),
        "learn loop"
    );
    Ok(Some(tokio::spawn(async move {
        let (fleet, rounds) = fleet.unzip();
        run(learn, store, insight, fleet, shutdown).await;
        if let Some(r) = rounds {
            let _ = r.await;
        }
        if let Some(m) = models {
            let _ = m.await;
        }
    })))
}

/// What one wake-up does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// Fingerprint; cluster right after when it succeeded (or was current) and `then_cluster`.
    Fingerprint {
        then_cluster: bool,
    },
    Cluster,
}

/// What a job did.
#[derive(Debug, Default)]
struct Outcome {
    fingerprinted: Option<Step>,
    clustered: Option<Step>,
}

#[derive(Debug)]
enum Step {
    Done(String),
    /// Nothing new since the last fingerprint run.
    Unchanged,
    Failed(LearnError),
}

/// Successes and failures since start, logged with every change.
#[derive(Debug, Default)]
struct Counts {
    fingerprint_ok: u64,
    fingerprint_unchanged: u64,
    fingerprint_failed: u64,
    cluster_ok: u64,
    cluster_failed: u64,
    /// The last failure's text, so a repeated one is logged at debug only.
    last_failure: Option<String>,
}

/// Runs until shutdown; a job in progress at shutdown is abandoned (its transaction commits or not).
pub async fn run(
    cfg: LearnConfig,
    store: Store,
    insight: Insight,
    mut fleet: Option<crate::cluster::learning::FleetLearn>,
    mut shutdown: watch::Receiver<bool>,
) {
    let store = Arc::new(Mutex::new(store));
    let windows: Vec<Interval> = cfg
        .windows
        .iter()
        .filter_map(|w| Interval::from_millis(i64::try_from(w.as_millis()).unwrap_or(i64::MAX)))
        .collect();
    let mut fingerprint_tick = tokio::time::interval(cfg.fingerprint_every);
    fingerprint_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut cluster_tick =
        tokio::time::interval_at(Instant::now() + cfg.cluster_every, cfg.cluster_every);
    cluster_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut counts = Counts::default();
    let mut clustered = false;
    let mut last_cluster: Option<Instant> = None;
    let hub = insight.fleet().clone();
    let reducer = cfg.reducer;
    let basis = BasisPolicy {
        refit: false,
        max_age: cfg
            .refit_basis
            .and_then(|d| Interval::from_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))),
    };
    {
        let (store, hub) = (store.clone(), hub.clone());
        match tokio::task::spawn_blocking(move || load_fleet(&lock(&store), &hub)).await {
            Ok(n) if n > 0 => tracing::info!(models = n, "fleet models loaded from the store"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "loading fleet models panicked"),
        }
    }
    // the first training a minute after start, when the controllers have read their histories
    let fleet_every = cfg.fleet_every.unwrap_or(std::time::Duration::MAX);
    let mut fleet_tick = tokio::time::interval_at(
        Instant::now() + FIRST_FLEET_AFTER.min(fleet_every),
        fleet_every.min(std::time::Duration::from_secs(u32::MAX.into())),
    );
    fleet_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // the fleet training in progress: in a task of its own, so fingerprinting and clustering go on
    let mut training: Option<JoinHandle<()>> = None;
    loop {
        let job = tokio::select! {
            _ = stopped(&mut shutdown) => break,
            // a cluster's fleet models are trained by its learner (crate::cluster::fleet_models)
            _ = fleet_tick.tick(), if cfg.fleet_every.is_some() && fleet.is_none() => {
                train_in_background(&mut training, &store, &hub, &cfg.cluster_models, &shutdown);
                continue;
            }
            _ = fingerprint_tick.tick() => {
                if let Some(f) = fleet.as_mut() {
                    let opts = fingerprint_options(&windows, reducer, basis);
                    if !fleet_round(f, &store, &opts, &mut shutdown).await {
                        break;
                    }
                    continue;
                }
                let health = forecast_health(&insight);
                let recluster = match RECLUSTER.reason(last_cluster.map(|t| t.elapsed()), &health) {
                    Some(why) => {
                        tracing::info!(reason = %why, "forecast error stays high: re-clustering");
                        true
                    }
                    None => false,
                };
                Job::Fingerprint { then_cluster: !clustered || recluster }
            }
            _ = cluster_tick.tick(), if fleet.is_none() => Job::Cluster,
        };
        let (job_store, windows) = (store.clone(), windows.clone());
        let work = tokio::task::spawn_blocking(move || {
            one_job(&mut lock(&job_store), job, &windows, reducer, basis)
        });
        let outcome = tokio::select! {
            r = work => r,
            _ = stopped(&mut shutdown) => break,
        };
        match outcome {
            Ok(o) => {
                let reclustered = matches!(o.clustered, Some(Step::Done(_)));
                if reclustered {
                    clustered = true;
                    last_cluster = Some(Instant::now());
                }
                counts.record(o);
                // a clustering that moved any workload retrains the cluster models now
                if reclustered && cfg.fleet_every.is_some() {
                    let (st, h) = (store.clone(), hub.clone());
                    let changed = tokio::task::spawn_blocking(move || {
                        h.clusters_changed(&membership(&lock(&st)))
                    })
                    .await
                    .unwrap_or(false);
                    if changed {
                        tracing::info!("clusters changed: retraining the fleet and cluster models");
                        train_in_background(
                            &mut training,
                            &store,
                            &hub,
                            &cfg.cluster_models,
                            &shutdown,
                        );
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "learn job panicked; retrying next period"),
        }
    }
    if let Some(t) = training {
        t.abort();
    }
}

/// Starts a fleet training (see [`train_fleet`]) unless one is still running.
fn train_in_background(
    training: &mut Option<JoinHandle<()>>,
    store: &Arc<Mutex<Store>>,
    hub: &crate::fleet::FleetHub,
    cells: &[prescale_forecast::neural::CellKind],
    shutdown: &watch::Receiver<bool>,
) {
    if training.as_ref().is_some_and(|t| !t.is_finished()) {
        tracing::debug!("fleet training still running; not started again");
        return;
    }
    let (store, hub, cells, mut shutdown) =
        (store.clone(), hub.clone(), cells.to_vec(), shutdown.clone());
    *training = Some(tokio::spawn(async move {
        train_fleet(&store, &hub, &cells, &mut shutdown).await;
    }));
}

/// A cluster's learning round (see [`spawn`]); the fleet and cluster models are retrained by the
/// cluster's fleet-models task when the clustering moves a workload. False when shutdown came
/// first.
async fn fleet_round(
    fleet: &mut crate::cluster::learning::FleetLearn,
    store: &Arc<Mutex<Store>>,
    opts: &FingerprintOptions,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = fleet.round(store, opts) => true,
        _ = stopped(shutdown) => false,
    }
}

/// When the first fleet training starts after the loop does.
pub(crate) const FIRST_FLEET_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
/// How long the fleet training waits for the control loop to offer its histories.
const OFFER_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Publishes the newest saved fleet model of every step; returns how many.
fn load_fleet(store: &Store, hub: &crate::fleet::FleetHub) -> usize {
    let rows = match store.latest_fleet_models() {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "loading fleet models");
            return 0;
        }
    };
    let mut n = 0;
    let mut grus = Vec::new();
    for row in rows {
        let view = |size: usize, horizon: usize, cluster: Option<u32>, kind: &str| {
            crate::fleet::FleetModelView {
                kind: kind.to_string(),
                step_ms: row.step_ms,
                cluster,
                trained_at: row.trained_at.0,
                series: row.series,
                rows: row.rows,
                size,
                horizon,
                holdout_mae: row.holdout_mae,
                train_seconds: row.seconds,
                offered_to: Vec::new(),
                exogenous: Default::default(),
                trained_by: None,
                trained_on: Vec::new(),
            }
        };
        // `gru@<cluster>` / `lstm@<cluster>`
        let cluster = row
            .kind
            .split_once('@')
            .filter(|(k, _)| matches!(*k, "gru" | "lstm"))
            .and_then(|(_, c)| c.parse::<u32>().ok());
        if row.kind == "gbm" {
            match prescale_forecast::fleet::GbmFleet::from_json(&row.body) {
                Ok(gbm) => {
                    let v = crate::fleet::FleetModelView {
                        exogenous: gbm.exog,
                        ..view(gbm.trees(), gbm.horizon, None, "gbm")
                    };
                    hub.publish(Arc::new(gbm), v);
                    n += 1;
                }
                // a model from a newer prescale or a damaged row: retrained at the next period
                Err(e) => {
                    tracing::warn!(step_ms = row.step_ms, error = %e, "saved fleet gbm not used")
                }
            }
        } else if let Some(c) = cluster {
            match prescale_forecast::neural::RnnFleet::from_json(&row.body) {
                Ok(m) => {
                    let v = view(m.hidden(), m.horizon(), Some(c), m.kind().name());
                    grus.push((Arc::new(m), v));
                }
                Err(e) => {
                    tracing::warn!(cluster = c, kind = %row.kind, error = %e, "saved cluster model not used")
                }
            }
        }
    }
    if !grus.is_empty() {
        n += grus.len();
        // the membership they were trained with is the clustering saved beside them
        hub.publish_clusters(grus, membership(store));
    }
    n
}

/// The cluster of each workload in the latest k-means clustering (empty without one).
pub(crate) fn membership(store: &Store) -> BTreeMap<String, u32> {
    match store.latest_clustering(prescale_learn::KMEANS) {
        Ok(Some((_, run))) => run
            .clusters
            .iter()
            .flat_map(|c| c.members.iter().map(move |w| (w.to_string(), c.id.0)))
            .collect(),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            tracing::warn!(error = %e, "loading the clustering for the cluster models");
            BTreeMap::new()
        }
    }
}

/// Asks the control loop for its histories, trains the fleet models on a blocking thread, saves
/// and publishes them (run in its own task by [`train_in_background`]). False when shutdown came
/// first.
async fn train_fleet(
    store: &Arc<Mutex<Store>>,
    hub: &crate::fleet::FleetHub,
    cells: &[prescale_forecast::neural::CellKind],
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let cells = cells.to_vec();
    hub.want_histories();
    let waited = Instant::now();
    let offered = loop {
        if let Some(o) = hub.take_offered() {
            break Some(o);
        }
        if waited.elapsed() >= OFFER_WAIT {
            break None;
        }
        tokio::select! {
            _ = stopped(shutdown) => return false,
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
        }
    };
    let Some((at, offered)) = offered else {
        tracing::debug!(
            "no histories offered (no control loop or no workloads); fleet not trained"
        );
        return true;
    };
    let (store, hub) = (store.clone(), hub.clone());
    let work = tokio::task::spawn_blocking(move || {
        let members = membership(&lock(&store));
        train_offered(&store, &hub, &offered, members, at, &cells, None);
    });
    tokio::select! {
        r = work => {
            if let Err(e) = r {
                tracing::error!(error = %e, "fleet training panicked; retrying next period");
            }
            true
        }
        _ = stopped(shutdown) => false,
    }
}

/// One trained fleet or cluster model: its view and its saved form (what the store keeps, and a
/// cluster's learner publishes).
pub(crate) struct Trained {
    /// `gbm`, or `<cell>@<cluster>` for a cluster model (the store's kind).
    pub kind: String,
    pub view: crate::fleet::FleetModelView,
    pub body: String,
}

/// Trains the fleet gbm of every step and the cluster models of `cells` on `offered` (the cluster
/// of each workload in `members`), saves them with the store and publishes them on `hub` (the
/// cluster models with `members`); `by` names the cluster's learner when it trained them. What
/// was trained.
pub(crate) fn train_offered(
    store: &Mutex<Store>,
    hub: &crate::fleet::FleetHub,
    offered: &[crate::fleet::Offered],
    members: BTreeMap<String, u32>,
    at: Timestamp,
    cells: &[prescale_forecast::neural::CellKind],
    by: Option<&str>,
) -> Vec<Trained> {
    let mut out = Vec::new();
    let (grus, skipped) = crate::fleet::train_clusters(offered, &members, at, cells);
    for s in &skipped {
        tracing::info!(reason = %s, "cluster model not trained");
    }
    let mut published = Vec::new();
    for (m, mut view) in grus {
        view.trained_by = by.map(str::to_string);
        let kind = format!("{}@{}", view.kind, view.cluster.unwrap_or(0));
        let body = m.to_json();
        save_and_log(store, &view, kind.clone(), body.clone());
        out.push(Trained {
            kind,
            view: view.clone(),
            body,
        });
        published.push((m, view));
    }
    hub.publish_clusters(published, members);
    let (models, skipped) = crate::fleet::train(offered, at);
    for s in &skipped {
        tracing::info!(reason = %s, "fleet model not trained");
    }
    for (gbm, mut view) in models {
        view.trained_by = by.map(str::to_string);
        let body = gbm.to_json();
        save_and_log(store, &view, view.kind.clone(), body.clone());
        out.push(Trained {
            kind: view.kind.clone(),
            view: view.clone(),
            body,
        });
        hub.publish(gbm, view);
    }
    out
}

/// Saves a trained fleet or cluster model under `kind` (a failed save is logged: the model is
/// used, not kept) and logs it.
pub(crate) fn save_and_log(
    store: &Mutex<Store>,
    view: &crate::fleet::FleetModelView,
    kind: String,
    body: String,
) {
    let row = prescale_store::FleetModelRow {
        kind,
        step_ms: view.step_ms,
        trained_at: Timestamp(view.trained_at),
        series: view.series,
        rows: view.rows,
        horizon: view.horizon,
        holdout_mae: view.holdout_mae,
        seconds: view.train_seconds,
        body,
    };
    if let Err(e) = lock(store).save_fleet_model(&row) {
        tracing::warn!(kind = %row.kind, error = %e, "saving a fleet model; it is used but not kept");
    }
    tracing::info!(
        kind = %row.kind,
        step_ms = view.step_ms,
        series = view.series,
        rows = view.rows,
        holdout_mae = view.holdout_mae.unwrap_or(f64::NAN),
        seconds = view.train_seconds,
        "fleet model trained"
    );
}

/// When forecast error triggers a re-clustering (the rule lives in `prescale_learn`).
const RECLUSTER: ReclusterRule = ReclusterRule::DEFAULT;

/// Each workload's forecast health over all models and horizons, as the control loop's feedback
/// reports it.
fn forecast_health(insight: &Insight) -> Vec<ForecastHealth> {
    insight
        .models()
        .into_iter()
        .map(|m| {
            let all = m
                .stats
                .iter()
                .find(|r| r.model.is_none() && r.horizon.is_none());
            ForecastHealth {
                drift: m.status.drift.as_ref().map(|d| format!("{:?}", d.reason)),
                recent_count: all.map_or(0, |a| a.recent.count),
                recent_coverage: all.and_then(|a| a.recent.coverage),
                level_percent: all.and_then(|a| a.level),
                workload: m.workload,
            }
        })
        .collect()
}

/// Runs one job on the loop's connection.
fn one_job(
    store: &mut Store,
    job: Job,
    windows: &[Interval],
    reducer: Reducer,
    basis: BasisPolicy,
) -> Outcome {
    let mut out = Outcome::default();
    let cluster_now = match job {
        Job::Cluster => true,
        Job::Fingerprint { then_cluster } => {
            let step = fingerprint(store, windows, reducer, basis);
            // Unchanged counts too: a restart with a stored, never-clustered run still clusters.
            let ok = matches!(step, Step::Done(_) | Step::Unchanged);
            out.fingerprinted = Some(step);
            ok && then_cluster
        }
    };
    if cluster_now {
        out.clustered = Some(cluster(store));
    }
    out
}

fn fingerprint(
    store: &mut Store,
    windows: &[Interval],
    reducer: Reducer,
    basis: BasisPolicy,
) -> Step {
    match unchanged(store) {
        Ok(true) => return Step::Unchanged,
        Ok(false) => {}
        Err(e) => return Step::Failed(e),
    }
    let opts = fingerprint_options(windows, reducer, basis);
    match fingerprint_store(store, &opts) {
        Ok(r) => {
            let pruned = prune_runs(store);
            // The basis is reused run after run (comparable vectors) until the settings or the
            // fleet's features change, or it is `[learn] refit_basis` older than the data
            // (prescale_learn::basis).
            let basis = match &r.basis.refit {
                None => format!("basis {}", r.basis.id),
                Some(why) => format!("new basis {}: {why}", r.basis.id),
            };
            Step::Done(format!(
                "fingerprint run {} of {} workloads as of {} in {basis} ({pruned} old runs pruned)",
                r.run_id,
                r.run.vectors.len(),
                r.run.at
            ))
        }
        Err(e) => Step::Failed(e),
    }
}

/// How the loop fingerprints (alone or as a cluster's learner), created now.
fn fingerprint_options(
    windows: &[Interval],
    reducer: Reducer,
    basis: BasisPolicy,
) -> FingerprintOptions {
    FingerprintOptions {
        windows: windows.to_vec(),
        created: clock::now(),
        reducer,
        basis,
        ..FingerprintOptions::default()
    }
}

/// Clusters the latest fingerprint run as the loop does, logging the outcome (for a cluster's
/// learner).
pub(crate) fn cluster_logged(store: &mut Store) {
    match cluster(store) {
        Step::Done(what) => tracing::info!(clusterings = %what, "fleet clustered"),
        Step::Unchanged => {}
        Step::Failed(e) => tracing::info!(error = %e, "fleet not clustered; next period"),
    }
}

/// Drops older fingerprint runs, except those a clustering refers to (and a day's worth kept);
/// how many went.
pub(crate) fn prune_runs(store: &mut Store) -> usize {
    match store.prune_fingerprint_runs(KEEP_RUNS) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "pruning old fingerprint runs");
            0
        }
    }
}

/// Fingerprint runs kept besides those a clustering refers to (a day of per-minute runs).
const KEEP_RUNS: usize = 1440;

/// Whether the latest fingerprint run already describes the stored fleet: same newest sample and the
/// same workloads with enough samples (a cheap summary query instead of reading every series).
fn unchanged(store: &Store) -> Result<bool, LearnError> {
    let Some((_, run)) = store.latest_fingerprint_run()? else {
        return Ok(false);
    };
    let infos = store.list_series()?;
    let enough: Vec<_> = infos
        .iter()
        .filter(|i| i.samples >= prescale_learn::inputs::MIN_SAMPLES)
        .collect();
    let newest: Option<Timestamp> = enough.iter().filter_map(|i| i.last_ts).max();
    let workloads: BTreeSet<&WorkloadId> = enough.iter().map(|i| &i.key.workload).collect();
    let fingerprinted: BTreeSet<&WorkloadId> = run.vectors.iter().map(|f| &f.workload).collect();
    Ok(newest == Some(run.at) && workloads == fingerprinted)
}

/// k-means and DBSCAN, each saved on its own (one failing does not stop the other).
fn cluster(store: &mut Store) -> Step {
    let mut done = Vec::new();
    let mut failed = None;
    for algorithm in [Algorithm::Kmeans, Algorithm::Dbscan] {
        let opts = ClusterOptions {
            algorithm,
            created: clock::now(),
            ..ClusterOptions::default()
        };
        match cluster_latest(store, &opts) {
            Ok(r) => {
                if let Some(k) = r.kmeans {
                    done.push(format!("k-means k={} (run {})", k.k, k.run_id));
                }
                if let Some(d) = r.dbscan {
                    done.push(format!(
                        "DBSCAN {} clusters, {} noise (run {})",
                        d.clusters.len(),
                        d.noise.len(),
                        d.run_id
                    ));
                }
            }
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    match failed {
        Some(e) if done.is_empty() => Step::Failed(e),
        Some(e) => {
            tracing::info!(error = %e, "one clustering algorithm failed; the other was saved");
            Step::Done(done.join(", "))
        }
        None => Step::Done(done.join(", ")),
    }
}

impl Counts {
    fn record(&mut self, o: Outcome) {
        if let Some(step) = o.fingerprinted {
            match step {
                Step::Done(what) => {
                    self.fingerprint_ok += 1;
                    self.last_failure = None;
                    tracing::info!(
                        ok = self.fingerprint_ok,
                        failed = self.fingerprint_failed,
                        "{what}"
                    );
                }
                Step::Unchanged => {
                    self.fingerprint_unchanged += 1;
                    tracing::debug!(
                        unchanged = self.fingerprint_unchanged,
                        "no new samples since the last fingerprint run"
                    );
                }
                Step::Failed(e) => {
                    self.fingerprint_failed += 1;
                    self.failure("fingerprinting", &e, self.fingerprint_failed);
                }
            }
        }
        if let Some(step) = o.clustered {
            match step {
                Step::Done(what) => {
                    self.cluster_ok += 1;
                    tracing::info!(
                        ok = self.cluster_ok,
                        failed = self.cluster_failed,
                        "clustered: {what}"
                    );
                }
                Step::Unchanged => {}
                Step::Failed(e) => {
                    self.cluster_failed += 1;
                    self.failure("clustering", &e, self.cluster_failed);
                }
            }
        }
    }

    /// Logs a failure: store errors at warn, a new reason at info, a repeated one at debug.
    fn failure(&mut self, what: &'static str, e: &LearnError, failed: u64) {
        let text = e.to_string();
        if matches!(e, LearnError::Store(_)) {
            tracing::warn!(error = %text, failed, "{what} failed; retrying next period");
        } else if self.last_failure.as_deref() == Some(text.as_str()) {
            tracing::debug!(error = %text, failed, "{what} failed again; retrying next period");
        } else {
            tracing::info!(error = %text, failed, "{what} not possible yet; retrying next period");
        }
        self.last_failure = Some(text);
    }
}

#[cfg(test)]
mod tests {

    /// A workload's feedback after `n` steps whose actuals fall inside (or outside) a narrow band.
    fn view(n: u64, inside: bool) -> crate::insight::ModelView {
        use prescale_core::{Forecast, Level};
        use prescale_feedback::{FeedbackConfig, WorkloadFeedback};
        let mut fb = WorkloadFeedback::new(&FeedbackConfig::default()).unwrap();
        let f = Forecast::new(
            vec![100.0],
            vec![99.0],
            vec![101.0],
            Level::new(90.0).unwrap(),
        )
        .unwrap();
        for step in 0..n {
            fb.record(step, Timestamp(0), "m", &f, &[1]).unwrap();
            // Alternating sides so no drift builds up; in or out of the band.
            let off = if inside { 0.5 } else { 5.0 };
            let actual = if step % 2 == 0 {
                100.0 + off
            } else {
                100.0 - off
            };
            fb.observe(step + 1, Timestamp(0), actual).unwrap();
        }
        crate::insight::ModelView {
            workload: "api".into(),
            model: Some("m".into()),
            fits: 1,
            stats: fb.model_stats(),
            status: fb.status(),
        }
    }

    #[test]
    fn high_forecast_error_asks_for_a_re_clustering() {
        let late = Some(std::time::Duration::from_secs(3600));
        let good = Insight::default();
        good.update(view(100, true), None, vec![]);
        assert_eq!(RECLUSTER.reason(late, &forecast_health(&good)), None);
        let few = Insight::default();
        few.update(view(20, false), None, vec![]);
        assert_eq!(
            RECLUSTER.reason(late, &forecast_health(&few)),
            None,
            "too few outcomes to judge"
        );
        let bad = Insight::default();
        bad.update(view(100, false), None, vec![]);
        let why = RECLUSTER
            .reason(late, &forecast_health(&bad))
            .expect("coverage far under nominal");
        assert!(why.starts_with("api:"), "{why}");
    }

    use super::*;
    use prescale_core::{Labels, Sample, Series, SeriesKey};

    fn series(w: &str, n: usize, f: impl Fn(usize) -> f64) -> Series {
        let key = SeriesKey::new(
            WorkloadId::new(w).unwrap(),
            prescale_core::MetricName::new("cpu").unwrap(),
        );
        let samples = (0..n)
            .map(|i| Sample {
                ts: Timestamp(i as i64 * 60_000),
                value: f(i),
            })
            .collect();
        Series::new(key, Labels::new(), samples).unwrap()
    }

    #[test]
    fn too_little_history_fails_then_fingerprints_clusters_and_skips_unchanged() {
        let mut store = Store::open_in_memory().unwrap();
        let windows = [Interval::from_secs(600).unwrap()];
        store
            .upsert_series(&series("a", 120, |i| i as f64))
            .unwrap();
        let o = one_job(
            &mut store,
            Job::Fingerprint { then_cluster: true },
            &windows,
            Reducer::DEFAULT,
            BasisPolicy::default(),
        );
        assert!(
            matches!(
                o.fingerprinted,
                Some(Step::Failed(LearnError::TooFewWorkloads { .. }))
            ),
            "{o:?}"
        );
        assert!(o.clustered.is_none());
        for (i, w) in ["b", "c", "d", "e", "f"].iter().enumerate() {
            let k = i as f64;
            store
                .upsert_series(&series(w, 120, |j| {
                    ((j as f64) * (k + 1.0) / 7.0).sin() * k + k
                }))
                .unwrap();
        }
        let o = one_job(
            &mut store,
            Job::Fingerprint { then_cluster: true },
            &windows,
            Reducer::DEFAULT,
            BasisPolicy::default(),
        );
        assert!(matches!(o.fingerprinted, Some(Step::Done(_))), "{o:?}");
        assert!(matches!(o.clustered, Some(Step::Done(_))), "{o:?}");
        assert!(store
            .latest_clustering(prescale_learn::KMEANS)
            .unwrap()
            .is_some());
        let o = one_job(
            &mut store,
            Job::Fingerprint {
                then_cluster: false,
            },
            &windows,
            Reducer::DEFAULT,
            BasisPolicy::default(),
        );
        assert!(matches!(o.fingerprinted, Some(Step::Unchanged)), "{o:?}");
        assert!(o.clustered.is_none());
        // A restart with unchanged data still clusters once.
        let o = one_job(
            &mut store,
            Job::Fingerprint { then_cluster: true },
            &windows,
            Reducer::DEFAULT,
            BasisPolicy::default(),
        );
        assert!(matches!(o.fingerprinted, Some(Step::Unchanged)), "{o:?}");
        assert!(matches!(o.clustered, Some(Step::Done(_))), "{o:?}");
        let o = one_job(
            &mut store,
            Job::Cluster,
            &windows,
            Reducer::DEFAULT,
            BasisPolicy::default(),
        );
        assert!(o.fingerprinted.is_none());
        assert!(matches!(o.clustered, Some(Step::Done(_))), "{o:?}");
    }
}

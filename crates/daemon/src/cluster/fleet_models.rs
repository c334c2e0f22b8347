//! Fleet models across instances: every `[learn] fleet_every` each instance publishes the
//! training history of every workload it owns (the control loop's step history, at most
//! [`MAX_HISTORY_STEPS`] steps, with its exogenous inputs: `hist.<workload>` in the learning
//! bucket); the instance holding the `leader.learn` lease trains the fleet gbm of every step and
//! the cluster models (`[learn] cluster_models`, on the fleet-wide clustering) on every
//! workload's history from the bus, in the background (ticks and learning rounds go on), and
//! publishes them as one generation: the models' bodies chunked under the server's message limit,
//! then a manifest with their size and checksum, written only while its lease token is current.
//! Every other instance applies a new generation (saved with its store, handed to its
//! controllers) and never trains on its own. A new learner (the old one's lease expired) trains
//! at once; the learner also retrains when the clustering moves a workload (at most every
//! [`RECLUSTER_RETRAIN`]). A history, manifest or generation that does not decode or check out is
//! counted, logged and skipped; the models in use stay.

use super::learning::LearnStats;
use crate::fleet::{FleetHub, FleetModelView, Offered, MIN_TRAIN_STEPS};
use crate::loops::learn::{membership, save_and_log, train_offered, Trained};
use prescale_bus::hash::stable_hash;
use prescale_bus::models::{valid_generation, CHUNK_BYTES};
use prescale_bus::{FleetModels, Leader, Ownership, Stored};
use prescale_core::{Timestamp, WorkloadId};
use prescale_forecast::fleet::{Exog, GbmFleet, MAX_PREDICTORS};
use prescale_forecast::neural::{CellKind, RnnFleet};
use prescale_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Format version of a history, a manifest and a generation's model set.
pub const FORMAT: u32 = 1;
/// Most steps of a workload's history published for training (a week of one-minute steps; the
/// newest are kept). With the exogenous inputs a history stays under [`MAX_HISTORY_BYTES`].
pub const MAX_HISTORY_STEPS: usize = 10_080;
/// Largest encoded history published (one message, under the server's 1 MiB limit).
pub const MAX_HISTORY_BYTES: usize = 768 * 1024;
/// Largest generation read (its model set, all chunks together).
pub const MAX_GENERATION_BYTES: usize = 256 * 1024 * 1024;
/// Shortest time between two retrainings for a moved clustering.
pub const RECLUSTER_RETRAIN: Duration = Duration::from_secs(600);

/// One workload's training history as its owner's controller holds it (`hist.<workload>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRow {
    pub version: u32,
    pub instance: String,
    pub workload: WorkloadId,
    pub step_ms: i64,
    pub season: Option<usize>,
    pub horizon: usize,
    /// When the owner's control loop offered it, Unix ms.
    pub at: i64,
    pub values: Vec<f64>,
    pub exog: Option<Exog>,
}

/// What the learner publishes after its chunks (`models.manifest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    /// `<token>-<trained at, Unix ms>`: names the chunk keys.
    pub generation: String,
    pub learner: String,
    pub token: u64,
    pub trained_at: i64,
    /// Length of the model set (all chunks together) and its `stable_hash`.
    pub bytes: usize,
    pub checksum: u64,
    pub chunks: usize,
}

/// A generation's models (the chunked body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSet {
    pub version: u32,
    /// The cluster of each workload the cluster models were trained with.
    pub membership: BTreeMap<String, u32>,
    pub models: Vec<SetModel>,
}

/// One model of a generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetModel {
    /// The store's kind: `gbm` or `<cell>@<cluster>`.
    pub kind: String,
    pub step_ms: i64,
    pub cluster: Option<u32>,
    pub series: usize,
    pub rows: usize,
    pub holdout_mae: Option<f64>,
    pub train_seconds: f64,
    pub trained_on: Vec<String>,
    /// The model's saved form (`GbmFleet::to_json`, `RnnFleet::to_json`).
    pub body: String,
}

/// Why a history or a generation was skipped.
#[derive(Debug, Error, PartialEq)]
pub enum ModelsError {
    #[error("{key}: not a training history ({detail})")]
    NotAHistory { key: String, detail: String },
    #[error("{key}: format version {found}, this prescale reads {FORMAT}")]
    Version { key: String, found: u32 },
    #[error("{key}: holds workload {workload:?}, whose key is another")]
    WrongKey { key: String, workload: String },
    #[error("{key}: {detail}")]
    BadHistory { key: String, detail: String },
    #[error("fleet models manifest (revision {revision}): {detail}")]
    Manifest { revision: u64, detail: String },
    #[error("fleet models generation {generation}: {detail}")]
    Generation { generation: String, detail: String },
}

impl HistoryRow {
    /// The row of `o` as offered at `at` (its newest [`MAX_HISTORY_STEPS`] steps).
    pub fn of(instance: &str, o: &Offered, at: Timestamp) -> Result<HistoryRow, String> {
        let workload = WorkloadId::new(&o.workload).map_err(|e| e.to_string())?;
        let from = o.values.len().saturating_sub(MAX_HISTORY_STEPS);
        Ok(HistoryRow {
            version: FORMAT,
            instance: instance.to_string(),
            workload,
            step_ms: o.step_ms,
            season: o.season,
            horizon: o.horizon,
            at: at.0,
            values: o.values[from..].to_vec(),
            exog: o.exog.clone(),
        })
    }

    /// A stored history, decoded and checked (its key the workload's, a positive step and
    /// horizon, at most [`MAX_HISTORY_STEPS`] finite values, valid exogenous inputs).
    pub fn decode(stored: &Stored) -> Result<HistoryRow, ModelsError> {
        let key = stored.key.clone();
        let row: HistoryRow =
            serde_json::from_slice(&stored.value).map_err(|e| ModelsError::NotAHistory {
                key: key.clone(),
                detail: e.to_string(),
            })?;
        let bad = |detail: String| ModelsError::BadHistory {
            key: key.clone(),
            detail,
        };
        if row.version != FORMAT {
            return Err(ModelsError::Version {
                key,
                found: row.version,
            });
        }
        if prescale_bus::history_key(&row.workload) != key {
            return Err(ModelsError::WrongKey {
                key,
                workload: row.workload.to_string(),
            });
        }
        if row.step_ms <= 0 || row.horizon == 0 {
            return Err(bad(format!(
                "step {} ms and horizon {} must be positive",
                row.step_ms, row.horizon
            )));
        }
        if row.values.len() > MAX_HISTORY_STEPS {
            return Err(bad(format!(
                "{} values (at most {MAX_HISTORY_STEPS})",
                row.values.len()
            )));
        }
        if let Some((i, v)) = row.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(bad(format!("value {i} is {v} (must be finite)")));
        }
        if let Some(x) = &row.exog {
            if x.predictors.len() > MAX_PREDICTORS
                || x.predictors.iter().any(|p| {
                    p.values.len() > MAX_HISTORY_STEPS || p.ahead.len() > MAX_HISTORY_STEPS
                })
            {
                return Err(bad("exogenous inputs too large".into()));
            }
            x.check(row.workload.as_str())
                .map_err(|e| bad(e.to_string()))?;
        }
        Ok(row)
    }

    fn offered(self) -> Offered {
        Offered {
            workload: self.workload.to_string(),
            step_ms: self.step_ms,
            season: self.season,
            horizon: self.horizon,
            values: self.values,
            exog: self.exog,
        }
    }
}

impl Manifest {
    /// A stored manifest, decoded and checked (a chunk-key generation, a size within
    /// [`MAX_GENERATION_BYTES`] and the chunk count that size takes).
    pub fn decode(stored: &Stored) -> Result<Manifest, ModelsError> {
        let bad = |detail: String| ModelsError::Manifest {
            revision: stored.revision,
            detail,
        };
        let m: Manifest = serde_json::from_slice(&stored.value).map_err(|e| bad(e.to_string()))?;
        if m.version != FORMAT {
            return Err(bad(format!(
                "format version {}, this prescale reads {FORMAT}",
                m.version
            )));
        }
        if !valid_generation(&m.generation) {
            return Err(bad(format!(
                "generation {:?} names no chunks",
                m.generation
            )));
        }
        if m.bytes > MAX_GENERATION_BYTES {
            return Err(bad(format!(
                "{} bytes (at most {MAX_GENERATION_BYTES})",
                m.bytes
            )));
        }
        if m.chunks != m.bytes.div_ceil(CHUNK_BYTES).max(1) {
            return Err(bad(format!("{} chunks for {} bytes", m.chunks, m.bytes)));
        }
        Ok(m)
    }
}

/// A generation's models decoded and checked, ready for the hub: the gbms and the cluster
/// models with their views (`trained_by` the learner).
pub struct Decoded {
    pub gbms: Vec<(Arc<GbmFleet>, FleetModelView)>,
    pub rnns: Vec<(Arc<RnnFleet>, FleetModelView)>,
    pub membership: BTreeMap<String, u32>,
    /// The store's kind and body of each, to be saved.
    pub saved: Vec<(String, FleetModelView, String)>,
}

/// Decodes the model set `bytes` of `manifest` (checked against its size and checksum first);
/// every model must load, or the generation is refused whole.
pub fn decode_generation(manifest: &Manifest, bytes: &[u8]) -> Result<Decoded, ModelsError> {
    let bad = |detail: String| ModelsError::Generation {
        generation: manifest.generation.clone(),
        detail,
    };
    if bytes.len() != manifest.bytes {
        return Err(bad(format!(
            "{} bytes, the manifest says {} (truncated)",
            bytes.len(),
            manifest.bytes
        )));
    }
    if stable_hash(bytes) != manifest.checksum {
        return Err(bad("checksum does not match the manifest's".into()));
    }
    let set: ModelSet = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if set.version != FORMAT {
        return Err(bad(format!("model set format version {}", set.version)));
    }
    let mut out = Decoded {
        gbms: Vec::new(),
        rnns: Vec::new(),
        membership: set.membership,
        saved: Vec::new(),
    };
    for m in set.models {
        let view = |size: usize, horizon: usize, kind: &str, exogenous| FleetModelView {
            kind: kind.to_string(),
            step_ms: m.step_ms,
            cluster: m.cluster,
            trained_at: manifest.trained_at,
            series: m.series,
            rows: m.rows,
            size,
            horizon,
            holdout_mae: m.holdout_mae,
            train_seconds: m.train_seconds,
            offered_to: Vec::new(),
            exogenous,
            trained_by: Some(manifest.learner.clone()),
            trained_on: m.trained_on.clone(),
        };
        if m.kind == "gbm" {
            let g = GbmFleet::from_json(&m.body).map_err(|e| bad(format!("gbm: {e}")))?;
            let v = view(g.trees(), g.horizon, "gbm", g.exog);
            out.saved.push((m.kind.clone(), v.clone(), m.body));
            out.gbms.push((Arc::new(g), v));
        } else {
            let (cell, cluster) = m
                .kind
                .split_once('@')
                .ok_or_else(|| bad(format!("model kind {:?}", m.kind)))?;
            let c: u32 = cluster
                .parse()
                .map_err(|_| bad(format!("model kind {:?}", m.kind)))?;
            if m.cluster != Some(c) || !matches!(cell, "gru" | "lstm") {
                return Err(bad(format!(
                    "model kind {:?} for cluster {:?}",
                    m.kind, m.cluster
                )));
            }
            let r = RnnFleet::from_json(&m.body).map_err(|e| bad(format!("{}: {e}", m.kind)))?;
            let v = view(r.hidden(), r.horizon(), r.kind().name(), Default::default());
            out.saved.push((m.kind.clone(), v.clone(), m.body));
            out.rnns.push((Arc::new(r), v));
        }
    }
    Ok(out)
}

/// The model set of `trained` and the cluster `membership` they were trained with, encoded.
pub(crate) fn encode_set(trained: &[Trained], membership: &BTreeMap<String, u32>) -> Vec<u8> {
    let set = ModelSet {
        version: FORMAT,
        membership: membership.clone(),
        models: trained
            .iter()
            .map(|t| SetModel {
                kind: t.kind.clone(),
                step_ms: t.view.step_ms,
                cluster: t.view.cluster,
                series: t.view.series,
                rows: t.view.rows,
                holdout_mae: t.view.holdout_mae,
                train_seconds: t.view.train_seconds,
                trained_on: t.view.trained_on.clone(),
                body: t.body.clone(),
            })
            .collect(),
    };
    // a struct of strings, numbers and maps with string keys always encodes
    serde_json::to_vec(&set).unwrap_or_default()
}

/// How often histories are published and the learner retrains, and which cluster models.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub every: Duration,
    pub cells: Vec<CellKind>,
}

/// Starts the fleet-models task of this instance (see the module doc).
pub fn start(
    link: &super::ClusterLink,
    leader: Arc<Leader>,
    store: Store,
    hub: FleetHub,
    schedule: Schedule,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let ownership = link.inner.ownership.clone();
    let task = Task {
        id: ownership.id().to_string(),
        models: FleetModels::new(ownership.bus()),
        poll: (ownership.lease_ttl() / 4).clamp(Duration::from_millis(250), Duration::from_secs(5)),
        ownership,
        leader,
        store: Arc::new(Mutex::new(store)),
        hub,
        stats: link.inner.learn_stats.clone(),
        schedule,
        seen: None,
        trained_under: None,
        retrained: None,
        training: None,
        generations: Vec::new(),
    };
    tokio::spawn(task.run(shutdown))
}

/// A training in progress: the token it runs under and what it gives.
type Training = (
    u64,
    JoinHandle<(Vec<Trained>, BTreeMap<String, u32>, Timestamp)>,
);

struct Task {
    id: String,
    models: FleetModels,
    poll: Duration,
    ownership: Arc<Ownership>,
    leader: Arc<Leader>,
    store: Arc<Mutex<Store>>,
    hub: FleetHub,
    stats: Arc<LearnStats>,
    schedule: Schedule,
    /// Revision of the last manifest read (applied or refused).
    seen: Option<u64>,
    /// The lease token this instance last trained under.
    trained_under: Option<u64>,
    /// When the clustering last made the learner retrain.
    retrained: Option<Instant>,
    training: Option<Training>,
    /// The generations this learner published, newest last (the two newest are kept).
    generations: Vec<String>,
}

impl Task {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let first = crate::loops::learn::FIRST_FLEET_AFTER.min(self.schedule.every);
        let mut publish = tokio::time::interval_at(Instant::now() + first, self.schedule.every);
        publish.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(self.poll);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = crate::loops::stopped(&mut shutdown) => break,
                _ = publish.tick() => self.hub.want_histories(),
                _ = poll.tick() => self.step().await,
            }
        }
        if let Some((_, h)) = self.training.take() {
            h.abort();
        }
    }

    /// One poll: publishes offered histories (the learner then trains), trains as a new learner
    /// or for a moved clustering, publishes a finished training, or applies the learner's newest
    /// generation.
    async fn step(&mut self) {
        let mut train = false;
        if let Some((at, offered)) = self.hub.take_offered() {
            self.publish_histories(at, &offered).await;
            train = true;
        }
        self.finish_training().await;
        let Some(token) = self.leader.token() else {
            self.follow().await;
            return;
        };
        if self.trained_under != Some(token) {
            tracing::info!(token, "leading fleet learning: training the fleet models");
            train = true;
        } else if self.clusters_moved().await {
            tracing::info!("clusters changed: retraining the fleet and cluster models");
            self.retrained = Some(Instant::now());
            train = true;
        }
        if train && self.training.is_none() {
            self.start_training(token).await;
        }
    }

    async fn publish_histories(&self, at: Timestamp, offered: &[Offered]) {
        let parts = self.ownership.partitions();
        for o in offered.iter().filter(|o| o.values.len() >= MIN_TRAIN_STEPS) {
            let row = match HistoryRow::of(&self.id, o, at) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(workload = %o.workload, error = %e, "history not published");
                    continue;
                }
            };
            // only the workloads this instance owns (a slot of another's is not current)
            if self
                .ownership
                .holding(prescale_bus::partition_of(&row.workload, parts))
                .is_none()
            {
                continue;
            }
            let bytes = match serde_json::to_vec(&row) {
                Ok(b) if b.len() <= MAX_HISTORY_BYTES => b,
                Ok(b) => {
                    self.stats
                        .histories_too_large
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(workload = %row.workload, bytes = b.len(), "training history too large for one message; not published");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(workload = %row.workload, error = %e, "history not encoded");
                    continue;
                }
            };
            match self.models.put_history(&row.workload, bytes).await {
                Ok(_) => {
                    self.stats
                        .histories_published
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "training histories not published; next period");
                    return;
                }
            }
        }
    }

    /// Whether the stored clustering moved a workload from the one the models were trained with
    /// (and the last such retraining is [`RECLUSTER_RETRAIN`] old).
    async fn clusters_moved(&self) -> bool {
        if self
            .retrained
            .is_some_and(|t| t.elapsed() < RECLUSTER_RETRAIN)
        {
            return false;
        }
        let (st, hub) = (self.store.clone(), self.hub.clone());
        tokio::task::spawn_blocking(move || {
            let m = membership(&lock(&st));
            !m.is_empty() && hub.clusters_changed(&m)
        })
        .await
        .unwrap_or(false)
    }

    /// Reads every history on the bus (a malformed one counted and skipped) and trains on them
    /// on a blocking thread.
    async fn start_training(&mut self, token: u64) {
        self.trained_under = Some(token);
        let stored = match self.models.histories().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "reading the training histories; next period");
                return;
            }
        };
        let mut offered = Vec::with_capacity(stored.len());
        for s in &stored {
            match HistoryRow::decode(s) {
                Ok(r) => offered.push(r.offered()),
                Err(e) => {
                    self.stats.histories_bad.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "training history skipped");
                }
            }
        }
        if offered.is_empty() {
            tracing::debug!("no training histories on the bus yet");
            return;
        }
        let (st, hub, cells, id) = (
            self.store.clone(),
            self.hub.clone(),
            self.schedule.cells.clone(),
            self.id.clone(),
        );
        let handle = tokio::task::spawn_blocking(move || {
            let members = membership(&lock(&st));
            let at = crate::clock::now();
            let trained =
                train_offered(&st, &hub, &offered, members.clone(), at, &cells, Some(&id));
            (trained, members, at)
        });
        self.training = Some((token, handle));
    }

    /// Publishes a finished training's models as a new generation (while its token is current).
    async fn finish_training(&mut self) {
        if !self.training.as_ref().is_some_and(|(_, h)| h.is_finished()) {
            return;
        }
        let Some((token, handle)) = self.training.take() else {
            return;
        };
        let (trained, members, at) = match handle.await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "fleet training panicked; retrying next period");
                return;
            }
        };
        if trained.is_empty() {
            return;
        }
        if let Err(e) = self.leader.check(token).await {
            tracing::warn!(error = %e, "no longer the learner: fleet models not published");
            return;
        }
        let body = encode_set(&trained, &members);
        let generation = format!("{token}-{}", at.0);
        let manifest = Manifest {
            version: FORMAT,
            generation: generation.clone(),
            learner: self.id.clone(),
            token,
            trained_at: at.0,
            bytes: body.len(),
            checksum: stable_hash(&body),
            chunks: prescale_bus::models::chunks(&body).len(),
        };
        let Ok(manifest_bytes) = serde_json::to_vec(&manifest) else {
            return;
        };
        match self
            .models
            .publish(&generation, &body, manifest_bytes)
            .await
        {
            Ok(chunks) => {
                self.stats.models_published.fetch_add(1, Ordering::Relaxed);
                *lock(&self.stats.models_generation) = Some(generation.clone());
                tracing::info!(%generation, models = trained.len(), bytes = body.len(), chunks, "fleet models published");
                self.generations.push(generation);
                let keep: Vec<&str> = self
                    .generations
                    .iter()
                    .rev()
                    .take(2)
                    .map(String::as_str)
                    .collect();
                match self.models.prune(&keep).await {
                    Ok(n) if n > 0 => {
                        tracing::debug!(chunks = n, "older model generations deleted")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "deleting older model generations"),
                }
                let n = self.generations.len();
                self.generations.drain(..n.saturating_sub(2));
            }
            Err(e) => tracing::warn!(error = %e, "fleet models not published; next period"),
        }
    }

    /// Applies the learner's newest generation, once.
    async fn follow(&mut self) {
        let stored = match self.models.manifest().await {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "reading the fleet models manifest; next period");
                return;
            }
        };
        if self.seen == Some(stored.revision) {
            return;
        }
        self.seen = Some(stored.revision);
        let manifest = match Manifest::decode(&stored) {
            Ok(m) => m,
            Err(e) => return self.refuse(&e),
        };
        if lock(&self.stats.models_generation).as_deref() == Some(manifest.generation.as_str()) {
            return;
        }
        let mut bytes = Vec::with_capacity(manifest.bytes);
        for i in 0..manifest.chunks {
            match self.models.chunk(&manifest.generation, i).await {
                Ok(Some(c)) if bytes.len() + c.value.len() <= manifest.bytes => {
                    bytes.extend_from_slice(&c.value)
                }
                Ok(Some(_)) => {
                    return self.refuse(&ModelsError::Generation {
                        generation: manifest.generation.clone(),
                        detail: format!(
                            "chunk {i} runs past the manifest's {} bytes",
                            manifest.bytes
                        ),
                    })
                }
                Ok(None) => {
                    return self.refuse(&ModelsError::Generation {
                        generation: manifest.generation.clone(),
                        detail: format!("chunk {i} of {} missing", manifest.chunks),
                    })
                }
                Err(e) => {
                    // the bus, not the generation: read again next poll
                    self.seen = None;
                    tracing::debug!(error = %e, "reading fleet model chunks; next period");
                    return;
                }
            }
        }
        let (st, hub) = (self.store.clone(), self.hub.clone());
        let m = manifest.clone();
        let applied = tokio::task::spawn_blocking(move || {
            let d = decode_generation(&m, &bytes)?;
            for (kind, view, body) in &d.saved {
                save_and_log(&st, view, kind.clone(), body.clone());
            }
            let models = d.gbms.len() + d.rnns.len();
            hub.publish_clusters(d.rnns, d.membership);
            for (g, v) in d.gbms {
                hub.publish(g, v);
            }
            Ok::<_, ModelsError>(models)
        })
        .await;
        match applied {
            Ok(Ok(models)) => {
                self.stats.models_applied.fetch_add(1, Ordering::Relaxed);
                *lock(&self.stats.models_generation) = Some(manifest.generation.clone());
                tracing::info!(generation = %manifest.generation, learner = %manifest.learner, models, "fleet models applied from the learner");
            }
            Ok(Err(e)) => self.refuse(&e),
            Err(e) => tracing::error!(error = %e, "applying fleet models panicked"),
        }
    }

    fn refuse(&self, e: &ModelsError) {
        self.stats.models_bad.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %e, "fleet models skipped; the models in use stay");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(w: &str, n: usize) -> Offered {
        Offered {
            workload: w.into(),
            step_ms: 60_000,
            season: Some(24),
            horizon: 6,
            values: (0..n)
                .map(|t| 50.0 + 20.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
                .collect(),
            exog: None,
        }
    }

    fn stored(key: &str, value: Vec<u8>) -> Stored {
        Stored {
            key: key.into(),
            revision: 4,
            value,
        }
    }

    #[test]
    fn histories_are_bounded_round_trip_and_bad_ones_are_named() {
        let row =
            HistoryRow::of("a", &offered("web", MAX_HISTORY_STEPS + 10), Timestamp(9)).unwrap();
        assert_eq!(row.values.len(), MAX_HISTORY_STEPS);
        let bytes = serde_json::to_vec(&row).unwrap();
        assert!(bytes.len() <= MAX_HISTORY_BYTES, "{}", bytes.len());
        assert_eq!(
            HistoryRow::decode(&stored("hist.web", bytes.clone())).unwrap(),
            row
        );
        let e = HistoryRow::decode(&stored("hist.web", b"{nope".to_vec())).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("hist.web: not a training history"),
            "{e}"
        );
        assert!(matches!(
            HistoryRow::decode(&stored("hist.api", bytes)),
            Err(ModelsError::WrongKey { .. })
        ));
        let text = serde_json::to_string(&HistoryRow {
            step_ms: 0,
            ..row.clone()
        })
        .unwrap();
        assert!(matches!(
            HistoryRow::decode(&stored("hist.web", text.into_bytes())),
            Err(ModelsError::BadHistory { .. })
        ));
        let mut long = row.clone();
        long.values.push(1.0);
        let e = HistoryRow::decode(&stored("hist.web", serde_json::to_vec(&long).unwrap()))
            .unwrap_err();
        assert!(e.to_string().contains("at most"), "{e}");
    }

    /// A trained generation: gbm over a, b, c, encoded with its manifest.
    fn generation() -> (Manifest, Vec<u8>) {
        let offers = vec![offered("a", 200), offered("b", 200), offered("c", 200)];
        let (gbms, _) = crate::fleet::train(&offers, Timestamp(5));
        let trained: Vec<Trained> = gbms
            .into_iter()
            .map(|(g, view)| Trained {
                kind: "gbm".into(),
                body: g.to_json(),
                view,
            })
            .collect();
        let body = encode_set(&trained, &BTreeMap::new());
        let m = Manifest {
            version: FORMAT,
            generation: "3-5".into(),
            learner: "a".into(),
            token: 3,
            trained_at: 5,
            bytes: body.len(),
            checksum: stable_hash(&body),
            chunks: prescale_bus::models::chunks(&body).len(),
        };
        (m, body)
    }

    #[test]
    fn a_generation_round_trips_and_a_damaged_one_is_refused() {
        let (m, body) = generation();
        let d = decode_generation(&m, &body).unwrap();
        assert_eq!(d.gbms.len(), 1);
        let v = &d.gbms[0].1;
        assert_eq!(v.trained_by.as_deref(), Some("a"));
        assert_eq!(v.trained_on, ["a", "b", "c"]);
        let e = decode_generation(&m, &body[..body.len() / 2])
            .err()
            .expect("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");
        let mut flipped = body.clone();
        flipped[body.len() / 3] ^= 1;
        let e = decode_generation(&m, &flipped).err().expect("corrupted");
        assert!(e.to_string().contains("checksum"), "{e}");
        // a checksum that matches bytes that are not a model set
        let junk = br#"{"version":1}"#.to_vec();
        let jm = Manifest {
            bytes: junk.len(),
            checksum: stable_hash(&junk),
            ..m.clone()
        };
        assert!(decode_generation(&jm, &junk).is_err());
        let text = serde_json::to_vec(&m).unwrap();
        assert_eq!(
            Manifest::decode(&stored("models.manifest", text)).unwrap(),
            m
        );
        let bad = serde_json::to_vec(&Manifest {
            chunks: m.chunks + 1,
            ..m.clone()
        })
        .unwrap();
        assert!(Manifest::decode(&stored("models.manifest", bad)).is_err());
        let bad = serde_json::to_vec(&Manifest {
            generation: "a.b".into(),
            ..m
        })
        .unwrap();
        let e = Manifest::decode(&stored("models.manifest", bad)).unwrap_err();
        assert!(e.to_string().contains("names no chunks"), "{e}");
    }
}

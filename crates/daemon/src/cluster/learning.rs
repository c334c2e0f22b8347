//! Fleet learning across instances: every instance publishes the raw window features of the
//! workloads it owns (one row per workload in the `prescale_learning` bucket); the instance that
//! holds the `leader.learn` lease merges every row, fits one basis over the whole fleet,
//! fingerprints and clusters it with the same `prescale_learn` code a lone instance runs
//! (`fingerprint_features`, then the learn loop's clustering), and publishes the run and its
//! clusterings under its fencing token; every other instance stores that result as its own latest
//! fingerprint run and clustering, so `/api/v1/clusters`, cold start's nearest cluster and the
//! cluster models see every workload of the fleet. Merging per-instance fingerprint vectors would
//! be wrong: each instance's basis (scaling, PCA) is its own, so only raw rows can be merged.
//! A row or result that does not decode or validate is counted, logged and skipped.

use prescale_bus::{Bus, BusError, FleetLearning, Leader, Ownership, Stored};
use prescale_core::{ClusterId, Fingerprint, Interval, Timestamp, WorkloadId};
use prescale_fingerprint::{FeatureVector, FleetFeatures};
use prescale_learn::{
    fingerprint_features, store_features, FingerprintOptions, MemberPartial, ProfileOptions,
    StoreFeatures,
};
use prescale_store::{ClusterRecord, ClusteringRun, FingerprintRun, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The leader role of fleet learning (`leader.learn` in the lease bucket).
pub const ROLE: &str = "learn";
/// Format version of a feature row and of a result.
pub const FORMAT: u32 = 1;

/// Counters shown by `GET /api/v1/cluster`.
#[derive(Debug, Default)]
pub struct LearnStats {
    pub rows_published: AtomicU64,
    pub rows_bad: AtomicU64,
    pub results_published: AtomicU64,
    pub results_applied: AtomicU64,
    pub results_bad: AtomicU64,
    pub profiles_published: AtomicU64,
    pub profiles_bad: AtomicU64,
    /// The cold-start profile partials every owner published, by workload, as last read.
    pub partials: Mutex<Arc<BTreeMap<WorkloadId, MemberPartial>>>,
    /// The learner this instance saw last (itself when it leads).
    pub learner: Mutex<Option<String>>,
    /// Fleet models (see [`super::fleet_models`]): training histories published here, skipped
    /// as malformed by the learner, or not published for being too large; generations
    /// published as the learner, applied from the learner, and refused (malformed, truncated,
    /// a chunk missing or not matching the manifest's checksum).
    pub histories_published: AtomicU64,
    pub histories_bad: AtomicU64,
    pub histories_too_large: AtomicU64,
    pub models_published: AtomicU64,
    pub models_applied: AtomicU64,
    pub models_bad: AtomicU64,
    /// The fleet-model generation in use here (published or applied).
    pub models_generation: Mutex<Option<String>>,
}

/// One workload's raw window features as its owner computed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureRow {
    pub version: u32,
    pub workload: WorkloadId,
    pub instance: String,
    /// Data time of the features (the owner's newest sample), Unix ms.
    pub at: i64,
    /// The owner's sampling interval, ms.
    pub interval_ms: i64,
    pub names: Vec<String>,
    pub values: Vec<f64>,
}

/// One workload's cold-start profile partial as its owner computed it from its history
/// (`prof.<workload>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRow {
    pub version: u32,
    pub instance: String,
    pub partial: MemberPartial,
}

impl ProfileRow {
    /// A stored partial, decoded and checked (the key its workload's, the numbers finite, one
    /// list per phase).
    pub fn decode(stored: &Stored) -> Result<ProfileRow, LearningError> {
        let key = stored.key.clone();
        let row: ProfileRow =
            serde_json::from_slice(&stored.value).map_err(|e| LearningError::NotAPartial {
                key: key.clone(),
                detail: e.to_string(),
            })?;
        if row.version != FORMAT {
            return Err(LearningError::Version {
                key,
                found: row.version,
            });
        }
        if prescale_bus::profile_key(&row.partial.workload) != key {
            return Err(LearningError::WrongKey {
                key,
                workload: row.partial.workload.to_string(),
            });
        }
        row.partial.check().map_err(|e| LearningError::BadPartial {
            key,
            detail: e.to_string(),
        })?;
        Ok(row)
    }
}

/// Why a row or result was skipped.
#[derive(Debug, Error, PartialEq)]
pub enum LearningError {
    #[error("{key}: not a feature row ({detail})")]
    NotARow { key: String, detail: String },
    #[error("{key}: format version {found}, this prescale reads {FORMAT}")]
    Version { key: String, found: u32 },
    #[error("{key}: holds workload {workload:?}, whose key is another")]
    WrongKey { key: String, workload: String },
    #[error("{key}: {names} feature names for {values} values")]
    Lengths {
        key: String,
        names: usize,
        values: usize,
    },
    #[error("{key}: feature {name:?} is {value} (must be finite)")]
    NotFinite {
        key: String,
        name: String,
        value: f64,
    },
    #[error("{key}: feature {name:?} named twice, or empty")]
    BadName { key: String, name: String },
    #[error("{key}: interval {interval_ms} ms is not positive")]
    Interval { key: String, interval_ms: i64 },
    #[error("{key}: not a profile partial ({detail})")]
    NotAPartial { key: String, detail: String },
    #[error("{key}: not a valid profile partial ({detail})")]
    BadPartial { key: String, detail: String },
    #[error("fleet result (revision {revision}): {detail}")]
    Result { revision: u64, detail: String },
}

impl FeatureRow {
    /// A stored row, decoded and checked (names distinct and non-empty, values finite, the key
    /// the workload's).
    pub fn decode(stored: &Stored) -> Result<FeatureRow, LearningError> {
        let key = stored.key.clone();
        let row: FeatureRow =
            serde_json::from_slice(&stored.value).map_err(|e| LearningError::NotARow {
                key: key.clone(),
                detail: e.to_string(),
            })?;
        if row.version != FORMAT {
            return Err(LearningError::Version {
                key,
                found: row.version,
            });
        }
        if prescale_bus::row_key(&row.workload) != key {
            return Err(LearningError::WrongKey {
                key,
                workload: row.workload.to_string(),
            });
        }
        if row.names.len() != row.values.len() || row.names.is_empty() {
            return Err(LearningError::Lengths {
                key,
                names: row.names.len(),
                values: row.values.len(),
            });
        }
        let mut seen = BTreeSet::new();
        for (name, value) in row.names.iter().zip(&row.values) {
            if name.is_empty() || !seen.insert(name) {
                return Err(LearningError::BadName {
                    key,
                    name: name.clone(),
                });
            }
            if !value.is_finite() {
                return Err(LearningError::NotFinite {
                    key,
                    name: name.clone(),
                    value: *value,
                });
            }
        }
        if row.interval_ms <= 0 {
            return Err(LearningError::Interval {
                key,
                interval_ms: row.interval_ms,
            });
        }
        Ok(row)
    }
}

/// The rows as one fleet: those at the most common sampling interval (the features' windows are
/// counted in samples, so other intervals' rows would not compare), by workload, with the newest
/// data time. `None` without a row.
pub fn merge(rows: &[FeatureRow]) -> Option<StoreFeatures> {
    let mut by_interval: BTreeMap<i64, usize> = BTreeMap::new();
    for r in rows {
        *by_interval.entry(r.interval_ms).or_default() += 1;
    }
    // most rows; the shorter interval on a tie
    let (&interval_ms, _) = by_interval
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    let mut chosen: Vec<&FeatureRow> = rows
        .iter()
        .filter(|r| r.interval_ms == interval_ms)
        .collect();
    chosen.sort_by(|a, b| a.workload.cmp(&b.workload));
    chosen.dedup_by(|a, b| a.workload == b.workload);
    let raw: Vec<(WorkloadId, FeatureVector)> = chosen
        .iter()
        .map(|r| {
            (
                r.workload.clone(),
                FeatureVector {
                    names: r.names.clone(),
                    values: r.values.clone(),
                },
            )
        })
        .collect();
    Some(StoreFeatures {
        features: FleetFeatures::from_raw(raw),
        interval: Interval::from_millis(interval_ms)?,
        as_of: Timestamp(chosen.iter().map(|r| r.at).max()?),
    })
}

/// What the learner publishes: the fingerprint run and its clusterings, as the learner stored
/// them (cluster ids stable across the learner's runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetResult {
    pub version: u32,
    pub learner: String,
    pub token: u64,
    pub at: i64,
    pub created: i64,
    pub model_json: String,
    pub explained_variance: Vec<f64>,
    pub kept: usize,
    pub vectors: Vec<Fingerprint>,
    pub map2d: Vec<(WorkloadId, [f64; 2])>,
    pub reconstruction_error: Vec<(WorkloadId, f64)>,
    pub clusterings: Vec<Clustering>,
}

/// One clustering of the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clustering {
    pub created: i64,
    pub algorithm: String,
    pub params_json: String,
    pub clusters: Vec<(u32, Vec<f64>, Vec<WorkloadId>)>,
    pub noise: Vec<WorkloadId>,
}

impl FleetResult {
    fn of(learner: &str, token: u64, run: &FingerprintRun, clusterings: &[ClusteringRun]) -> Self {
        FleetResult {
            version: FORMAT,
            learner: learner.to_string(),
            token,
            at: run.at.0,
            created: run.created.0,
            model_json: run.model_json.clone(),
            explained_variance: run.explained_variance.clone(),
            kept: run.kept,
            vectors: run.vectors.clone(),
            map2d: run.map2d.clone(),
            reconstruction_error: run.reconstruction_error.clone(),
            clusterings: clusterings
                .iter()
                .map(|c| Clustering {
                    created: c.created.0,
                    algorithm: c.algorithm.clone(),
                    params_json: c.params_json.clone(),
                    clusters: c
                        .clusters
                        .iter()
                        .map(|r| (r.id.0, r.centroid.clone(), r.members.clone()))
                        .collect(),
                    noise: c.noise.clone(),
                })
                .collect(),
        }
    }

    fn decode(stored: &Stored) -> Result<FleetResult, LearningError> {
        let bad = |detail: String| LearningError::Result {
            revision: stored.revision,
            detail,
        };
        let r: FleetResult =
            serde_json::from_slice(&stored.value).map_err(|e| bad(e.to_string()))?;
        if r.version != FORMAT {
            return Err(bad(format!(
                "format version {}, this prescale reads {FORMAT}",
                r.version
            )));
        }
        Ok(r)
    }

    /// Stores the run and its clusterings as this store's latest (unless its latest run is this
    /// one already); whether it stored them.
    fn save(&self, store: &mut Store) -> Result<bool, LearningError> {
        let bad = |detail: String| LearningError::Result {
            revision: 0,
            detail,
        };
        let latest = store
            .latest_fingerprint_run()
            .map_err(|e| bad(e.to_string()))?;
        if latest.is_some_and(|(_, r)| r.at.0 == self.at && r.created.0 == self.created) {
            return Ok(false);
        }
        let run = FingerprintRun {
            at: Timestamp(self.at),
            created: Timestamp(self.created),
            model_json: self.model_json.clone(),
            explained_variance: self.explained_variance.clone(),
            kept: self.kept,
            vectors: self.vectors.clone(),
            map2d: self.map2d.clone(),
            reconstruction_error: self.reconstruction_error.clone(),
        };
        let id = store
            .save_fingerprint_run(&run)
            .map_err(|e| bad(e.to_string()))?;
        crate::loops::learn::prune_runs(store);
        for c in &self.clusterings {
            store
                .save_clustering(&ClusteringRun {
                    created: Timestamp(c.created),
                    fingerprint_run: id,
                    algorithm: c.algorithm.clone(),
                    params_json: c.params_json.clone(),
                    clusters: c
                        .clusters
                        .iter()
                        .map(|(cid, centroid, members)| ClusterRecord {
                            id: ClusterId(*cid),
                            centroid: centroid.clone(),
                            members: members.clone(),
                        })
                        .collect(),
                    noise: c.noise.clone(),
                })
                .map_err(|e| bad(e.to_string()))?;
        }
        Ok(true)
    }
}

/// This instance's part in fleet learning.
pub struct FleetLearn {
    id: String,
    learning: FleetLearning,
    leader: Arc<Leader>,
    ownership: Arc<Ownership>,
    stats: Arc<LearnStats>,
    /// Revision of the last result read (applied or refused).
    seen: Option<u64>,
    /// The merged fleet this instance last learned as the learner (not learned again unchanged).
    learned: Option<StoreFeatures>,
}

impl FleetLearn {
    /// Joins fleet learning through `link`'s bus, and starts the leader rounds (every quarter
    /// lease, until shutdown).
    pub fn start(
        link: &super::ClusterLink,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(FleetLearn, JoinHandle<()>), BusError> {
        let ownership = link.inner.ownership.clone();
        let bus: &Bus = ownership.bus();
        let id = ownership.id().to_string();
        let leader = Arc::new(Leader::new(bus.clone(), &id, ROLE)?);
        let rounds = tokio::spawn(leader_rounds(
            leader.clone(),
            ownership.lease_ttl() / 4,
            shutdown,
        ));
        Ok((
            FleetLearn {
                learning: FleetLearning::new(bus),
                id,
                leader,
                ownership,
                stats: link.inner.learn_stats.clone(),
                seen: None,
                learned: None,
            },
            rounds,
        ))
    }

    /// The `leader.learn` lease (the fleet models' learner is the same instance).
    pub fn leader(&self) -> Arc<Leader> {
        self.leader.clone()
    }

    /// One learning round: publishes the owned workloads' rows; the learner then fingerprints and
    /// clusters the merged fleet and publishes the result, the others store the newest result.
    /// Whether a clustering was stored here.
    pub async fn round(&mut self, store: &Arc<Mutex<Store>>, opts: &FingerprintOptions) -> bool {
        self.publish_rows(store, opts).await;
        self.publish_profiles(store).await;
        self.read_profiles().await;
        match self.leader.token() {
            Some(token) => {
                *lock(&self.stats.learner) = Some(self.id.clone());
                self.lead(store, opts, token).await
            }
            None => self.follow(store).await,
        }
    }

    async fn publish_rows(&self, store: &Arc<Mutex<Store>>, opts: &FingerprintOptions) {
        let (st, o) = (store.clone(), opts.clone());
        let features = tokio::task::spawn_blocking(move || store_features(&lock(&st), &o, 1)).await;
        let fleet = match features {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "no feature rows to publish yet");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "computing feature rows panicked");
                return;
            }
        };
        let parts = self.ownership.partitions();
        for (workload, fv) in &fleet.features.raw {
            // another instance's workload (this store kept it from a partition held before)
            if self
                .ownership
                .holding(prescale_bus::partition_of(workload, parts))
                .is_none()
            {
                continue;
            }
            let row = FeatureRow {
                version: FORMAT,
                workload: workload.clone(),
                instance: self.id.clone(),
                at: fleet.as_of.0,
                interval_ms: fleet.interval.millis(),
                names: fv.names.clone(),
                values: fv.values.clone(),
            };
            let bytes = match serde_json::to_vec(&row) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(%workload, error = %e, "feature row not encoded");
                    continue;
                }
            };
            match self.learning.put_row(workload, bytes).await {
                Ok(_) => {
                    self.stats.rows_published.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(%workload, error = %e, "feature row not published");
                    return;
                }
            }
        }
    }

    /// Publishes the cold-start profile partial of every owned workload whose history is stored
    /// here (on the grid its own series choose: `prescale_learn::MemberPartial::own`).
    async fn publish_profiles(&self, store: &Arc<Mutex<Store>>) {
        let parts = self.ownership.partitions();
        let owned: BTreeSet<WorkloadId> = {
            let st = lock(store);
            match st.list_series() {
                Ok(infos) => infos
                    .into_iter()
                    .map(|i| i.key.workload)
                    .filter(|w| {
                        self.ownership
                            .holding(prescale_bus::partition_of(w, parts))
                            .is_some()
                    })
                    .collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "listing series for profile partials");
                    return;
                }
            }
        };
        let st = store.clone();
        let built = tokio::task::spawn_blocking(move || {
            let store = lock(&st);
            let infos = store.list_series().unwrap_or_default();
            let mut out = Vec::new();
            for w in owned {
                let series: Vec<_> = infos
                    .iter()
                    .filter(|i| i.key.workload == w)
                    .filter_map(|i| store.load_series(&i.key).ok().flatten())
                    .collect();
                match MemberPartial::own(w.clone(), &series, &ProfileOptions::default()) {
                    Ok(p) => out.push(p),
                    Err(e) => tracing::debug!(workload = %w, error = %e, "no profile partial yet"),
                }
            }
            out
        })
        .await;
        let partials = match built {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "computing profile partials panicked");
                return;
            }
        };
        for partial in partials {
            let workload = partial.workload.clone();
            let row = ProfileRow {
                version: FORMAT,
                instance: self.id.clone(),
                partial,
            };
            let bytes = match serde_json::to_vec(&row) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(%workload, error = %e, "profile partial not encoded");
                    continue;
                }
            };
            match self.learning.put_profile(&workload, bytes).await {
                Ok(_) => {
                    self.stats
                        .profiles_published
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(%workload, error = %e, "profile partial not published");
                }
            }
        }
    }

    /// Reads every owner's profile partials for cold start (a bad one counted and skipped).
    async fn read_profiles(&self) {
        let stored = match self.learning.profiles().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "reading the profile partials; next period");
                return;
            }
        };
        let mut partials = BTreeMap::new();
        for s in &stored {
            match ProfileRow::decode(s) {
                Ok(r) => {
                    partials.insert(r.partial.workload.clone(), r.partial);
                }
                Err(e) => {
                    self.stats.profiles_bad.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "profile partial skipped");
                }
            }
        }
        *lock(&self.stats.partials) = Arc::new(partials);
    }

    async fn lead(
        &mut self,
        store: &Arc<Mutex<Store>>,
        opts: &FingerprintOptions,
        token: u64,
    ) -> bool {
        let stored = match self.learning.rows().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "reading the fleet's feature rows; learning next period");
                return false;
            }
        };
        let mut rows = Vec::with_capacity(stored.len());
        for s in &stored {
            match FeatureRow::decode(s) {
                Ok(r) => rows.push(r),
                Err(e) => {
                    self.stats.rows_bad.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "feature row skipped");
                }
            }
        }
        let Some(fleet) = merge(&rows) else {
            tracing::debug!("no feature rows on the bus yet");
            return false;
        };
        if self.learned.as_ref() == Some(&fleet) {
            return false;
        }
        let merged = fleet.clone();
        let (st, o) = (store.clone(), opts.clone());
        let learned = tokio::task::spawn_blocking(move || {
            let mut store = lock(&st);
            let report = fingerprint_features(&mut store, &fleet, &o).map_err(|e| e.to_string())?;
            crate::loops::learn::cluster_logged(&mut store);
            crate::loops::learn::prune_runs(&mut store);
            let mut clusterings = Vec::new();
            for algorithm in [prescale_learn::KMEANS, prescale_learn::DBSCAN] {
                if let Ok(Some((_, c))) = store.latest_clustering(algorithm) {
                    if c.fingerprint_run == report.run_id {
                        clusterings.push(c);
                    }
                }
            }
            Ok::<_, String>((report.run, clusterings))
        })
        .await;
        let (run, clusterings) = match learned {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::info!(error = %e, workloads = rows.len(), "fleet not fingerprinted; next period");
                return false;
            }
            Err(e) => {
                tracing::error!(error = %e, "fleet learning panicked; next period");
                return false;
            }
        };
        let result = FleetResult::of(&self.id, token, &run, &clusterings);
        if let Err(e) = self.leader.check(token).await {
            tracing::warn!(error = %e, "no longer the learner: result not published");
            return !clusterings.is_empty();
        }
        match serde_json::to_vec(&result) {
            Ok(bytes) => match self.learning.put_result(bytes).await {
                Ok(rev) => {
                    self.seen = Some(rev);
                    self.learned = Some(merged);
                    self.stats.results_published.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        workloads = result.vectors.len(),
                        clusterings = result.clusterings.len(),
                        token,
                        "fleet learned over every instance's rows and published"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "fleet result not published"),
            },
            Err(e) => tracing::warn!(error = %e, "fleet result not encoded"),
        }
        !clusterings.is_empty()
    }

    async fn follow(&mut self, store: &Arc<Mutex<Store>>) -> bool {
        if let Ok(Some(info)) = self.leader.current().await {
            *lock(&self.stats.learner) = Some(info.id);
        }
        let stored = match self.learning.result().await {
            Ok(Some(s)) => s,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "reading the fleet result; next period");
                return false;
            }
        };
        if self.seen == Some(stored.revision) {
            return false;
        }
        self.seen = Some(stored.revision);
        let result = match FleetResult::decode(&stored) {
            Ok(r) => r,
            Err(e) => {
                self.stats.results_bad.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "fleet result skipped");
                return false;
            }
        };
        let st = store.clone();
        let saved =
            tokio::task::spawn_blocking(move || result.save(&mut lock(&st)).map(|s| (s, result)))
                .await;
        match saved {
            Ok(Ok((true, r))) => {
                self.stats.results_applied.fetch_add(1, Ordering::Relaxed);
                tracing::info!(learner = %r.learner, token = r.token, workloads = r.vectors.len(), "fleet fingerprints and clusters stored from the learner");
                !r.clusterings.is_empty()
            }
            Ok(Ok((false, _))) => false,
            Ok(Err(e)) => {
                self.stats.results_bad.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "fleet result not stored");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "storing the fleet result panicked");
                false
            }
        }
    }
}

async fn leader_rounds(
    leader: Arc<Leader>,
    every: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = crate::loops::stopped(&mut shutdown) => break,
            _ = ticker.tick() => {
                if let Err(e) = leader.round().await {
                    tracing::debug!(error = %e, "learner lease round");
                }
            }
        }
    }
    leader.resign().await;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(w: &str, value: &str) -> Stored {
        Stored {
            key: prescale_bus::row_key(&WorkloadId::new(w).unwrap()),
            revision: 1,
            value: value.as_bytes().to_vec(),
        }
    }

    fn row(w: &str, interval_ms: i64, at: i64, x: f64) -> FeatureRow {
        FeatureRow {
            version: FORMAT,
            workload: WorkloadId::new(w).unwrap(),
            instance: "a".into(),
            at,
            interval_ms,
            names: vec!["m.p50".into(), "m.p90".into()],
            values: vec![x, 2.0 * x],
        }
    }

    #[test]
    fn rows_round_trip_and_bad_ones_are_named() {
        let r = row("web", 1000, 5, 1.5);
        let s = Stored {
            key: prescale_bus::row_key(&r.workload),
            revision: 3,
            value: serde_json::to_vec(&r).unwrap(),
        };
        assert_eq!(FeatureRow::decode(&s).unwrap(), r);
        let e = FeatureRow::decode(&stored("web", "not json")).unwrap_err();
        assert!(matches!(e, LearningError::NotARow { .. }), "{e}");
        assert!(
            e.to_string().starts_with("feat.web: not a feature row"),
            "{e}"
        );
        let other = serde_json::to_string(&row("api", 1000, 5, 1.0)).unwrap();
        assert!(matches!(
            FeatureRow::decode(&stored("web", &other)),
            Err(LearningError::WrongKey { .. })
        ));
        let mut short = row("web", 1000, 5, 1.0);
        short.values.pop();
        let t = serde_json::to_string(&short).unwrap();
        assert!(matches!(
            FeatureRow::decode(&stored("web", &t)),
            Err(LearningError::Lengths { .. })
        ));
        let mut twice = row("web", 1000, 5, 1.0);
        twice.names[1] = "m.p50".into();
        let t = serde_json::to_string(&twice).unwrap();
        assert!(matches!(
            FeatureRow::decode(&stored("web", &t)),
            Err(LearningError::BadName { .. })
        ));
        let t = serde_json::to_string(&row("web", 0, 5, 1.0)).unwrap();
        assert!(matches!(
            FeatureRow::decode(&stored("web", &t)),
            Err(LearningError::Interval { .. })
        ));
        let t = serde_json::to_string(&row("web", 1000, 5, 1.0))
            .unwrap()
            .replace("\"version\":1", "\"version\":2");
        assert!(matches!(
            FeatureRow::decode(&stored("web", &t)),
            Err(LearningError::Version { found: 2, .. })
        ));
    }

    #[test]
    fn bad_profile_partials_are_named() {
        let w = WorkloadId::new("web").unwrap();
        let key = prescale_bus::profile_key(&w);
        let at = |value: Vec<u8>| Stored {
            key: key.clone(),
            revision: 1,
            value,
        };
        let mut partial = MemberPartial {
            workload: w.clone(),
            step: Interval::from_millis(60_000).unwrap(),
            period: 2,
            cycles: Vec::new(),
            metrics: Default::default(),
        };
        let row = |p: &MemberPartial| {
            serde_json::to_vec(&ProfileRow {
                version: FORMAT,
                instance: "a".into(),
                partial: p.clone(),
            })
            .unwrap()
        };
        assert!(ProfileRow::decode(&at(row(&partial))).is_ok());
        let e = ProfileRow::decode(&at(b"{nope".to_vec())).unwrap_err();
        assert!(
            e.to_string().starts_with("prof.web: not a profile partial"),
            "{e}"
        );
        let mut other = partial.clone();
        other.workload = WorkloadId::new("api").unwrap();
        assert!(matches!(
            ProfileRow::decode(&at(row(&other))),
            Err(LearningError::WrongKey { .. })
        ));
        partial.period = 0;
        let e = ProfileRow::decode(&at(row(&partial))).unwrap_err();
        assert!(matches!(e, LearningError::BadPartial { .. }), "{e}");
    }

    #[test]
    fn merge_keeps_the_common_interval_and_the_newest_time() {
        assert!(merge(&[]).is_none());
        let mut odd = row("odd", 60_000, 99, 9.0);
        odd.names = vec!["x".into(), "m.p50".into()];
        let rows = [row("b", 1000, 7, 2.0), row("a", 1000, 5, 1.0), odd];
        let m = merge(&rows).unwrap();
        let ids: Vec<&str> = m.features.raw.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(m.interval.millis(), 1000);
        assert_eq!(m.as_of, Timestamp(7));
        assert_eq!(m.features.names, ["m.p50", "m.p90"]);
    }
}

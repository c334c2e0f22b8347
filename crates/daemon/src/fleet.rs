//! The fleet model hub: the control loop offers its workloads' step histories when asked (with
//! their exogenous inputs: predictors and events, see [`exog`]), the learn loop trains one gbm per
//! step length across them and one GRU per step and k-means cluster (off the async runtime), saves
//! them with the store and publishes them here, and the control loop hands every controller the gbm
//! of its step (with the workload's inputs when the gbm reads any) and the GRU of its cluster; its
//! `auto` then weighs them against the local models by the same cross-validation.

pub mod exog;

use crate::winners::{ClusterWinners, ModelReport, Winners};
use prescale_core::Timestamp;
use prescale_forecast::fleet::{Exog, ExogLayout, FleetConfig, FleetInput, FleetSeries, GbmFleet};
use prescale_forecast::neural::{CellKind, RnnConfig, RnnFleet};
use prescale_forecast::ModelKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Fewest step values a history needs to be trained on.
pub const MIN_TRAIN_STEPS: usize = 64;

/// One workload's history as its controller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Offered {
    pub workload: String,
    pub step_ms: i64,
    pub season: Option<usize>,
    /// Steps ahead its forecaster fits for.
    pub horizon: usize,
    pub values: Vec<f64>,
    /// Its predictors and events, aligned to the end of `values` (none: no inputs).
    pub exog: Option<Exog>,
}

/// What `/api/v1/models` shows of a fleet model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetModelView {
    /// `gbm` or `gru`.
    pub kind: String,
    pub step_ms: i64,
    /// The k-means cluster it was trained on (GRU), none for the whole fleet (gbm).
    pub cluster: Option<u32>,
    /// Unix ms.
    pub trained_at: i64,
    pub series: usize,
    pub rows: usize,
    /// Trees of a gbm, hidden units of a GRU.
    pub size: usize,
    pub horizon: usize,
    /// Held-out mean absolute error in units of each series' typical step change (1.0 is as far
    /// off as one typical step; naive forecasts score about 1 at one step ahead).
    pub holdout_mae: Option<f64>,
    pub train_seconds: f64,
    /// Workloads whose forecaster has it (their `auto` may still prefer a local model).
    pub offered_to: Vec<String>,
    /// The exogenous features of a gbm: predictor slots and whether events are read.
    pub exogenous: ExogLayout,
    /// The instance that trained it, when a cluster's learner did (`None`: this instance).
    pub trained_by: Option<String>,
    /// The workloads whose histories it was trained on, sorted (empty for a model loaded from
    /// the store, which does not keep them).
    pub trained_on: Vec<String>,
}

#[derive(Debug, Default)]
struct HubState {
    /// Histories are wanted (set by the learn loop, served by the control loop).
    wanted: bool,
    offered: Option<(Timestamp, Vec<Offered>)>,
    models: BTreeMap<i64, (Arc<GbmFleet>, FleetModelView)>,
    /// GRUs by step and cluster.
    rnn: BTreeMap<(i64, u32, &'static str), (Arc<RnnFleet>, FleetModelView)>,
    /// The cluster of each workload the GRUs were trained with.
    membership: BTreeMap<String, u32>,
    /// Bumped by every publish, so controllers pick up a new model once.
    version: u64,
    /// Which kinds the mature members of each cluster chose (see [`crate::winners`]).
    winners: Winners,
}

/// Shared between the learn loop, the control loop and the API (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct FleetHub {
    state: Arc<Mutex<HubState>>,
}

impl FleetHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the control loop for its histories at its next pass.
    pub fn want_histories(&self) {
        self.lock().wanted = true;
    }

    /// Whether histories are wanted.
    pub fn histories_wanted(&self) -> bool {
        self.lock().wanted
    }

    /// The control loop's answer.
    pub fn offer(&self, at: Timestamp, histories: Vec<Offered>) {
        let mut s = self.lock();
        s.wanted = false;
        s.offered = Some((at, histories));
    }

    /// Takes the offered histories, if any arrived since the last call.
    pub fn take_offered(&self) -> Option<(Timestamp, Vec<Offered>)> {
        self.lock().offered.take()
    }

    /// Publishes a gbm for series of `view.step_ms`.
    pub fn publish(&self, gbm: Arc<GbmFleet>, view: FleetModelView) {
        let mut s = self.lock();
        s.models.insert(view.step_ms, (gbm, view));
        s.version += 1;
    }

    /// Replaces every GRU with those trained on `membership` (cluster of each workload).
    pub fn publish_clusters(
        &self,
        models: Vec<(Arc<RnnFleet>, FleetModelView)>,
        membership: BTreeMap<String, u32>,
    ) {
        let mut s = self.lock();
        s.rnn = models
            .into_iter()
            .filter_map(|(m, v)| Some(((v.step_ms, v.cluster?, m.kind().name()), (m, v))))
            .collect();
        s.membership = membership;
        s.version += 1;
    }

    /// Whether `membership` differs from the one the published GRUs were trained with.
    pub fn clusters_changed(&self, membership: &BTreeMap<String, u32>) -> bool {
        self.lock().membership != *membership
    }

    /// Tallies the controllers' chosen models by cluster (the clustering the cluster models were
    /// trained with).
    pub fn report_models(&self, reports: &[ModelReport]) {
        let mut s = self.lock();
        s.winners = Winners::tally(reports, &s.membership);
    }

    /// The kind a young `workload` of `step_ms` starts with: its cluster's winner.
    pub fn winner_for(&self, workload: &str, step_ms: i64) -> Option<ModelKind> {
        let s = self.lock();
        let cluster = *s.membership.get(workload)?;
        s.winners.winner(step_ms, cluster)
    }

    /// Whether a clustering is known (winners can exist only then).
    pub fn has_membership(&self) -> bool {
        !self.lock().membership.is_empty()
    }

    /// Every cluster's tally of chosen models.
    pub fn winners(&self) -> Vec<ClusterWinners> {
        self.lock().winners.views()
    }

    /// Changes with every publish.
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// The fleet input for a controller of `step_ms` forecasting `horizon` steps, when a gbm of
    /// that step reaches that far, with its cluster's GRU when there is one that does; notes the
    /// workload as served.
    pub fn input_for(&self, workload: &str, step_ms: i64, horizon: usize) -> Option<FleetInput> {
        let mut s = self.lock();
        let cluster = s.membership.get(workload).copied();
        let note = |view: &mut FleetModelView| {
            if !view.offered_to.iter().any(|w| w == workload) {
                view.offered_to.push(workload.to_string());
                view.offered_to.sort();
            }
        };
        // the cluster's recurrent models (a GRU, an LSTM or both) that reach this far
        let mut rnn = Vec::new();
        if let Some(c) = cluster {
            for ((st, cl, _), (m, view)) in s.rnn.iter_mut() {
                if *st == step_ms && *cl == c && m.horizon() >= horizon {
                    note(view);
                    rnn.push(m.clone());
                }
            }
        }
        let (gbm, view) = s.models.get_mut(&step_ms)?;
        if gbm.horizon < horizon {
            return None;
        }
        note(view);
        Some(FleetInput {
            gbm: gbm.clone(),
            timing: None,
            context: Vec::new(),
            rnn,
            exog: None,
        })
    }

    /// Every published model's view.
    pub fn views(&self) -> Vec<FleetModelView> {
        let s = self.lock();
        s.models
            .values()
            .map(|(_, v)| v.clone())
            .chain(s.rnn.values().map(|(_, v)| v.clone()))
            .collect()
    }
}

/// The longest horizon any of `group` forecasts, and its histories as training series (no
/// calendar: the control loop's histories carry none).
fn training_series<'a>(group: &[&'a Offered]) -> (usize, Vec<FleetSeries<'a>>) {
    let horizon = group.iter().map(|o| o.horizon).max().unwrap_or(1);
    let series = group
        .iter()
        .map(|o| FleetSeries {
            name: &o.workload,
            values: &o.values,
            season: o.season,
            timing: None,
            context: &[],
        })
        .collect();
    (horizon, series)
}

/// The workloads of `group`, sorted.
fn trained_on(group: &[&Offered]) -> Vec<String> {
    let mut w: Vec<String> = group.iter().map(|o| o.workload.clone()).collect();
    w.sort();
    w.dedup();
    w
}

/// One trained model per step length with at least two usable histories: trained for the longest
/// horizon any of them forecasts, the season of the most common one, no calendar (the control
/// loop's histories carry none). Returns the models with their views and what was skipped.
pub fn train(
    offered: &[Offered],
    at: Timestamp,
) -> (Vec<(Arc<GbmFleet>, FleetModelView)>, Vec<String>) {
    let mut by_step: BTreeMap<i64, Vec<&Offered>> = BTreeMap::new();
    for o in offered.iter().filter(|o| o.values.len() >= MIN_TRAIN_STEPS) {
        by_step.entry(o.step_ms).or_default().push(o);
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (step_ms, group) in by_step {
        let (horizon, series) = training_series(&group);
        let cfg = FleetConfig {
            horizon,
            ..FleetConfig::default()
        };
        // every series' inputs when any has some (a model without them keeps the plain rows)
        let exog: Vec<Exog> = if group.iter().any(|o| o.exog.is_some()) {
            group
                .iter()
                .map(|o| o.exog.clone().unwrap_or_default())
                .collect()
        } else {
            Vec::new()
        };
        let started = std::time::Instant::now();
        match GbmFleet::train_with(&series, &exog, &cfg) {
            Ok(gbm) => {
                let view = FleetModelView {
                    kind: "gbm".into(),
                    step_ms,
                    cluster: None,
                    trained_at: at.0,
                    series: gbm.series,
                    rows: gbm.rows,
                    size: gbm.trees(),
                    horizon: gbm.horizon,
                    holdout_mae: gbm.holdout_scaled_mae(),
                    train_seconds: started.elapsed().as_secs_f64(),
                    offered_to: Vec::new(),
                    exogenous: gbm.exog,
                    trained_by: None,
                    trained_on: trained_on(&group),
                };
                out.push((Arc::new(gbm), view));
            }
            Err(e) => skipped.push(format!("step {step_ms} ms: {e}")),
        }
    }
    (out, skipped)
}

/// Training windows of a cluster GRU in the daemon (fewer than the backtest's 24,000: the learn
/// loop retrains hourly and on re-clustering, in the background).
const CLUSTER_WINDOWS: usize = 8_000;
/// Epochs of a cluster GRU in the daemon.
const CLUSTER_EPOCHS: usize = 6;

/// One recurrent model of each of `cells` (`[learn] cluster_models`) per step length and k-means
/// cluster with at least two usable histories (`membership`: the cluster of each workload), trained
/// for the longest horizon any member forecasts.
pub fn train_clusters(
    offered: &[Offered],
    membership: &BTreeMap<String, u32>,
    at: Timestamp,
    cells: &[CellKind],
) -> (Vec<(Arc<RnnFleet>, FleetModelView)>, Vec<String>) {
    let mut groups: BTreeMap<(i64, u32), Vec<&Offered>> = BTreeMap::new();
    for o in offered.iter().filter(|o| o.values.len() >= MIN_TRAIN_STEPS) {
        if let Some(&c) = membership.get(&o.workload) {
            groups.entry((o.step_ms, c)).or_default().push(o);
        }
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (((step_ms, cluster), group), &cell) in groups
        .iter()
        .flat_map(|g| cells.iter().map(move |c| (g, c)))
    {
        let (step_ms, cluster) = (*step_ms, *cluster);
        let (horizon, series) = training_series(group);
        let mut cfg = RnnConfig::new(cell, horizon);
        cfg.max_windows = CLUSTER_WINDOWS;
        cfg.epochs = CLUSTER_EPOCHS;
        let started = std::time::Instant::now();
        match RnnFleet::train(&series, &cfg) {
            Ok(m) => {
                let view = FleetModelView {
                    kind: cell.name().into(),
                    step_ms,
                    cluster: Some(cluster),
                    trained_at: at.0,
                    series: m.series,
                    rows: m.rows,
                    size: m.hidden(),
                    horizon: m.horizon(),
                    holdout_mae: m.holdout_scaled_mae(),
                    train_seconds: started.elapsed().as_secs_f64(),
                    offered_to: Vec::new(),
                    exogenous: ExogLayout::default(),
                    trained_by: None,
                    trained_on: trained_on(group),
                };
                out.push((Arc::new(m), view));
            }
            Err(e) => skipped.push(format!(
                "{} of cluster {cluster}, step {step_ms} ms: {e}",
                cell.name()
            )),
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(w: &str, step_ms: i64, n: usize, horizon: usize) -> Offered {
        Offered {
            workload: w.into(),
            step_ms,
            season: Some(24),
            horizon,
            values: (0..n)
                .map(|t| 50.0 + 20.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
                .collect(),
            exog: None,
        }
    }

    #[test]
    fn trains_one_model_per_step_and_serves_controllers_it_reaches() {
        let hub = FleetHub::default();
        let offers = vec![
            offered("a", 60_000, 400, 13),
            offered("b", 60_000, 300, 25),
            offered("c", 300_000, 400, 13),
            offered("young", 60_000, 10, 13),
        ];
        let (models, skipped) = train(&offers, Timestamp(1_000));
        // step 60 s: a and b (young is too short); step 300 s: c alone cannot train a fleet
        assert_eq!(models.len(), 1, "{skipped:?}");
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].contains("300000"), "{skipped:?}");
        let (gbm, view) = &models[0];
        assert_eq!((view.series, view.horizon, view.step_ms), (2, 25, 60_000));
        assert!(view.holdout_mae.is_some_and(|m| m.is_finite()));
        let v0 = hub.version();
        hub.publish(gbm.clone(), view.clone());
        assert_ne!(hub.version(), v0);
        assert!(hub.input_for("a", 60_000, 13).is_some());
        assert!(
            hub.input_for("x", 60_000, 26).is_none(),
            "trained for 25 steps"
        );
        assert!(
            hub.input_for("c", 300_000, 13).is_none(),
            "no model of that step"
        );
        assert_eq!(hub.views()[0].offered_to, vec!["a".to_string()]);
    }

    #[test]
    fn each_cluster_gets_its_own_gru_and_a_new_clustering_replaces_them() {
        let hub = FleetHub::default();
        let offers = vec![
            offered("a", 60_000, 120, 6),
            offered("b", 60_000, 120, 6),
            offered("c", 60_000, 120, 6),
            offered("d", 60_000, 120, 6),
        ];
        let (gbm, _) = train(&offers, Timestamp(1));
        let (g, v) = gbm.into_iter().next().unwrap();
        hub.publish(g, v);
        let first: BTreeMap<String, u32> = [("a", 0), ("b", 0), ("c", 1), ("d", 1)]
            .map(|(w, c)| (w.to_string(), c))
            .into();
        assert!(hub.clusters_changed(&first));
        let (grus, skipped) = train_clusters(&offers, &first, Timestamp(2), &[CellKind::Gru]);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(grus.len(), 2);
        hub.publish_clusters(grus, first.clone());
        assert!(!hub.clusters_changed(&first));
        let a = hub.input_for("a", 60_000, 6).unwrap();
        let c = hub.input_for("c", 60_000, 6).unwrap();
        assert_eq!((a.rnn.len(), c.rnn.len()), (1, 1));
        assert!(
            !std::sync::Arc::ptr_eq(&a.rnn[0], &c.rnn[0]),
            "one GRU per cluster"
        );
        // re-clustering moves c in with a and b: the GRUs are retrained on the new members
        let second: BTreeMap<String, u32> = [("a", 0), ("b", 0), ("c", 0), ("d", 2)]
            .map(|(w, c)| (w.to_string(), c))
            .into();
        assert!(hub.clusters_changed(&second));
        let (grus, skipped) = train_clusters(&offers, &second, Timestamp(3), &[CellKind::Gru]);
        assert_eq!(grus.len(), 1);
        assert!(
            skipped.len() == 1 && skipped[0].contains("cluster 2"),
            "d alone trains none: {skipped:?}"
        );
        assert_eq!(grus[0].1.series, 3);
        hub.publish_clusters(grus, second);
        let c2 = hub.input_for("c", 60_000, 6).unwrap();
        assert_eq!(c2.rnn[0].series, 3);
        assert!(hub.input_for("d", 60_000, 6).unwrap().rnn.is_empty());
        assert_eq!(hub.views().len(), 2, "the gbm and one GRU");
    }

    /// A young controller at 5-minute steps with a daily season (too young for the seasonal
    /// `auto` for a day), given `steps` steps of demand.
    fn young_controller(steps: i64) -> (prescale_control::Controller, i64) {
        use prescale_core::{MetricName, Sample, WorkloadId};
        use std::time::Duration;
        let mut spec = prescale_control::WorkloadSpec::new(
            WorkloadId::new("young").unwrap(),
            MetricName::new("rps").unwrap(),
            10.0,
        );
        spec.step = Duration::from_secs(300);
        spec.lead = Duration::from_secs(300);
        spec.season = Some(Duration::from_secs(86_400));
        spec.stale_after = Duration::from_secs(3600);
        let mut c = prescale_control::Controller::new(spec).unwrap();
        let t0 = 1_700_000_000_000 / 300_000 * 300_000;
        let window: Vec<Sample> = (0..steps)
            .map(|k| Sample {
                ts: Timestamp(t0 + k * 300_000 + 1),
                value: 40.0 + (k % 5) as f64 * 3.0 + k as f64 * 0.2,
            })
            .collect();
        c.tick(&window, Timestamp(t0 + steps * 300_000 + 1), None);
        (c, t0)
    }

    #[test]
    fn a_young_member_starts_with_its_clusters_winner_and_re_clustering_changes_its_forecast() {
        use crate::winners::ModelReport;
        use prescale_core::Sample;
        let hub = FleetHub::default();
        let report = |w: &str, chosen| ModelReport {
            workload: w.into(),
            step_ms: 300_000,
            chosen: Some(chosen),
        };
        let reports = vec![
            report("a", ModelKind::Naive),
            report("b", ModelKind::Naive),
            report("c", ModelKind::Theta),
            report("d", ModelKind::Theta),
        ];
        let first: BTreeMap<String, u32> = [("a", 0), ("b", 0), ("c", 1), ("d", 1), ("young", 0)]
            .map(|(w, c)| (w.to_string(), c))
            .into();
        hub.publish_clusters(Vec::new(), first);
        hub.report_models(&reports);
        assert_eq!(hub.winner_for("young", 300_000), Some(ModelKind::Naive));
        assert_eq!(
            hub.winner_for("young", 60_000),
            None,
            "no votes at that step"
        );
        assert_eq!(hub.winners().len(), 2);

        let (mut c, t0) = young_controller(60);
        c.set_preferred(hub.winner_for("young", 300_000));
        let step = |c: &mut prescale_control::Controller, k: i64| {
            let s = Sample {
                ts: Timestamp(t0 + k * 300_000 + 1),
                value: 40.0 + (k % 5) as f64 * 3.0 + k as f64 * 0.2,
            };
            c.tick(&[s], Timestamp(t0 + (k + 1) * 300_000 + 1), None)
        };
        let before = step(&mut c, 60);
        let label = before.model.clone().unwrap_or_default();
        assert!(label.starts_with("naive@cluster"), "{before:?}");

        // the high-error trigger re-clusters: young now sits with c and d, whose auto chose theta
        let second: BTreeMap<String, u32> = [("a", 0), ("b", 0), ("c", 1), ("d", 1), ("young", 1)]
            .map(|(w, c)| (w.to_string(), c))
            .into();
        assert!(hub.clusters_changed(&second));
        hub.publish_clusters(Vec::new(), second);
        hub.report_models(&reports);
        assert_eq!(hub.winner_for("young", 300_000), Some(ModelKind::Theta));
        c.set_preferred(hub.winner_for("young", 300_000));
        let after = step(&mut c, 61);
        let label = after.model.clone().unwrap_or_default();
        assert!(label.starts_with("theta@cluster"), "{after:?}");
        let (b, a) = (before.forecast.unwrap(), after.forecast.unwrap());
        assert!(
            (a.point - b.point).abs() > 1e-6,
            "the forecast changed: {b:?} -> {a:?}"
        );
    }

    #[test]
    fn a_cluster_may_have_a_gru_and_an_lstm_and_both_are_offered() {
        let hub = FleetHub::default();
        let offers = vec![offered("a", 60_000, 120, 6), offered("b", 60_000, 120, 6)];
        let (gbm, _) = train(&offers, Timestamp(1));
        let (g, v) = gbm.into_iter().next().unwrap();
        hub.publish(g, v);
        let members: BTreeMap<String, u32> =
            [("a", 0), ("b", 0)].map(|(w, c)| (w.to_string(), c)).into();
        let (models, skipped) = train_clusters(
            &offers,
            &members,
            Timestamp(2),
            &[CellKind::Gru, CellKind::Lstm],
        );
        assert!(skipped.is_empty(), "{skipped:?}");
        let kinds: Vec<&str> = models.iter().map(|(_, v)| v.kind.as_str()).collect();
        assert_eq!(kinds, ["gru", "lstm"]);
        hub.publish_clusters(models, members.clone());
        let a = hub.input_for("a", 60_000, 6).unwrap();
        let mut cells: Vec<&str> = a.rnn.iter().map(|m| m.kind().name()).collect();
        cells.sort_unstable();
        assert_eq!(cells, ["gru", "lstm"]);
        assert_eq!(hub.views().len(), 3, "the gbm, the GRU and the LSTM");
        let (none, _) = train_clusters(&offers, &members, Timestamp(3), &[]);
        assert!(none.is_empty(), "no cluster models asked for");
    }

    #[test]
    fn histories_are_wanted_until_offered() {
        let hub = FleetHub::default();
        assert!(!hub.histories_wanted());
        hub.want_histories();
        assert!(hub.histories_wanted());
        hub.offer(Timestamp(5), vec![offered("a", 1000, 100, 5)]);
        assert!(!hub.histories_wanted());
        let (at, got) = hub.take_offered().unwrap();
        assert_eq!((at, got.len()), (Timestamp(5), 1));
        assert!(hub.take_offered().is_none());
    }
}

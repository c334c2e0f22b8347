//! The fleet model hub: the control loop offers its workloads' step histories when asked, the learn
//! loop trains one gbm per step length across them (off the async runtime), saves it with the store
//! and publishes it here, and the control loop hands it to every controller of that step, whose
//! `auto` then weighs it against the local models by the same cross-validation.

use prescale_core::Timestamp;
use prescale_forecast::fleet::{FleetConfig, FleetInput, FleetSeries, GbmFleet};
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
}

/// What `/api/v1/models` shows of a fleet model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetModelView {
    pub kind: String,
    pub step_ms: i64,
    /// Unix ms.
    pub trained_at: i64,
    pub series: usize,
    pub rows: usize,
    pub trees: usize,
    pub horizon: usize,
    /// Held-out mean absolute error in units of each series' typical step change (1.0 is as far
    /// off as one typical step; naive forecasts score about 1 at one step ahead).
    pub holdout_mae: Option<f64>,
    pub train_seconds: f64,
    /// Workloads whose forecaster has it (their `auto` may still prefer a local model).
    pub offered_to: Vec<String>,
}

#[derive(Debug, Default)]
struct HubState {
    /// Histories are wanted (set by the learn loop, served by the control loop).
    wanted: bool,
    offered: Option<(Timestamp, Vec<Offered>)>,
    models: BTreeMap<i64, (Arc<GbmFleet>, FleetModelView)>,
    /// Bumped by every publish, so controllers pick up a new model once.
    version: u64,
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

    /// Publishes a model for series of `view.step_ms`.
    pub fn publish(&self, gbm: Arc<GbmFleet>, view: FleetModelView) {
        let mut s = self.lock();
        s.models.insert(view.step_ms, (gbm, view));
        s.version += 1;
    }

    /// Changes with every publish.
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// The fleet input for a controller of `step_ms` forecasting `horizon` steps, when a model
    /// of that step reaches that far; notes the workload as served.
    pub fn input_for(&self, workload: &str, step_ms: i64, horizon: usize) -> Option<FleetInput> {
        let mut s = self.lock();
        let (gbm, view) = s.models.get_mut(&step_ms)?;
        if gbm.horizon < horizon {
            return None;
        }
        if !view.offered_to.iter().any(|w| w == workload) {
            view.offered_to.push(workload.to_string());
            view.offered_to.sort();
        }
        Some(FleetInput {
            gbm: gbm.clone(),
            timing: None,
            context: Vec::new(),
            rnn: Vec::new(),
        })
    }

    /// Every published model's view.
    pub fn views(&self) -> Vec<FleetModelView> {
        self.lock()
            .models
            .values()
            .map(|(_, v)| v.clone())
            .collect()
    }
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
        let horizon = group.iter().map(|o| o.horizon).max().unwrap_or(1);
        let series: Vec<FleetSeries<'_>> = group
            .iter()
            .map(|o| FleetSeries {
                name: &o.workload,
                values: &o.values,
                season: o.season,
                timing: None,
                context: &[],
            })
            .collect();
        let cfg = FleetConfig {
            horizon,
            ..FleetConfig::default()
        };
        let started = std::time::Instant::now();
        match GbmFleet::train(&series, &cfg) {
            Ok(gbm) => {
                let view = FleetModelView {
                    kind: "gbm".into(),
                    step_ms,
                    trained_at: at.0,
                    series: gbm.series,
                    rows: gbm.rows,
                    trees: gbm.trees(),
                    horizon: gbm.horizon,
                    holdout_mae: gbm.holdout_scaled_mae(),
                    train_seconds: started.elapsed().as_secs_f64(),
                    offered_to: Vec::new(),
                };
                out.push((Arc::new(gbm), view));
            }
            Err(e) => skipped.push(format!("step {step_ms} ms: {e}")),
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

//! What the control loop learned, shared with the HTTP API and `/metrics`: per workload the model
//! in use, its accuracy and interval coverage (prescale-feedback), the latest forecast path and
//! band, and the anomaly events on its residuals. The control loop writes it after every decision;
//! handlers only read.

use crate::http::lock;
use prescale_core::{Timestamp, WorkloadId};
use prescale_feedback::{AnomalyEvent, EventChange, FeedbackStatus, ModelStats};
use prescale_keda::{Prediction, SharedPredictions};
use prescale_remote::text::{family, line};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Anomaly changes kept in memory (oldest dropped first).
pub const MAX_EVENTS: usize = 1000;

/// The latest forecast of a workload's demand series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastView {
    pub workload: String,
    pub metric: String,
    pub model: Option<String>,
    /// Unix ms the forecast was made at.
    pub made_at: i64,
    /// Unix ms start of each forecast step, and its point, lower and upper values.
    pub step_ms: i64,
    pub ts: Vec<i64>,
    pub point: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Nominal coverage of the band in percent.
    pub level: f64,
}

/// One workload's model, accuracy and feedback state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelView {
    pub workload: String,
    pub model: Option<String>,
    pub fits: usize,
    /// Accuracy per (model, horizon) and overall: MAE, RMSE, bias, sMAPE and coverage, over all
    /// time and over the recent window.
    pub stats: Vec<ModelStats>,
    pub status: FeedbackStatus,
}

/// An anomaly event opening or closing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyChange {
    /// `opened` or `closed`.
    pub change: &'static str,
    /// Unix ms the control loop noticed it.
    pub noticed_at: i64,
    pub event: AnomalyEvent,
}

impl AnomalyChange {
    pub fn new(change: EventChange, noticed_at: Timestamp) -> AnomalyChange {
        let (change, event) = match change {
            EventChange::Opened(e) => ("opened", e),
            EventChange::Closed(e) => ("closed", e),
        };
        AnomalyChange {
            change,
            noticed_at: noticed_at.0,
            event,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    models: BTreeMap<WorkloadId, ModelView>,
    forecasts: BTreeMap<WorkloadId, ForecastView>,
    anomalies: VecDeque<AnomalyChange>,
}

/// The shared state (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Insight {
    state: Arc<Mutex<State>>,
    /// What the KEDA external scaler serves, when `[keda]` is configured.
    predictions: Option<Arc<SharedPredictions>>,
    /// Where anomaly changes are posted, when `[alerts]` is configured.
    alerts: Option<crate::alerts::AlertSender>,
    /// The fleet models and the histories they are trained on.
    fleet: crate::fleet::FleetHub,
    /// What the control loop did, for `/metrics` and export.
    control: Arc<crate::control_metrics::ControlMetrics>,
    /// The shadows' figures and the promotions asked for.
    shadows: crate::shadows::ShadowBoard,
}

impl Insight {
    /// Also hands each workload's prediction at its lead time to the KEDA external scaler.
    pub fn with_predictions(mut self, predictions: Arc<SharedPredictions>) -> Insight {
        self.predictions = Some(predictions);
        self
    }

    /// Also posts every anomaly change to the `[alerts]` webhook.
    pub fn with_alerts(mut self, alerts: crate::alerts::AlertSender) -> Insight {
        self.alerts = Some(alerts);
        self
    }

    /// The shadows' reports and pending promotions.
    pub fn shadows(&self) -> &crate::shadows::ShadowBoard {
        &self.shadows
    }

    /// The fleet model hub shared by the learn loop, the control loop and the API.
    pub fn fleet(&self) -> &crate::fleet::FleetHub {
        &self.fleet
    }

    /// Publishes the predicted demand of `workload`'s `metric` at the lead time (KEDA).
    pub fn predict(&self, workload: &str, metric: &str, p: Prediction) {
        if let Some(shared) = &self.predictions {
            shared.insert(workload, metric, p);
        }
    }

    /// Replaces a workload's model view and forecast, and appends its anomaly changes.
    pub fn update(
        &self,
        model: ModelView,
        forecast: Option<ForecastView>,
        changes: Vec<AnomalyChange>,
    ) {
        let mut s = lock(&self.state);
        let Ok(w) = WorkloadId::new(&model.workload) else {
            return;
        };
        if let Some(f) = forecast {
            s.forecasts.insert(w.clone(), f);
        }
        s.models.insert(w, model);
        for c in changes {
            if let Some(a) = &self.alerts {
                a.send(&c);
            }
            if s.anomalies.len() >= MAX_EVENTS {
                s.anomalies.pop_front();
            }
            s.anomalies.push_back(c);
        }
    }

    /// Forgets a workload that is no longer controlled (a deleted `PredictiveScaler`'s): its
    /// model, forecast and KEDA prediction go; its anomaly events stay in the event log.
    pub fn forget(&self, w: &WorkloadId, metric: &str) {
        self.shadows.forget(w);
        self.control.forget(w.as_str());
        let mut s = lock(&self.state);
        s.models.remove(w);
        s.forecasts.remove(w);
        if let Some(shared) = &self.predictions {
            shared.remove(w.as_str(), metric);
        }
    }

    /// What the control loop did (decisions, forecasts at the lead, pass times).
    pub fn control(&self) -> &crate::control_metrics::ControlMetrics {
        &self.control
    }

    pub fn models(&self) -> Vec<ModelView> {
        lock(&self.state).models.values().cloned().collect()
    }

    pub fn forecast(&self, w: &WorkloadId) -> Option<ForecastView> {
        lock(&self.state).forecasts.get(w).cloned()
    }

    /// Anomaly changes, newest first, optionally of one workload.
    pub fn anomalies(&self, workload: Option<&str>, limit: usize) -> Vec<AnomalyChange> {
        lock(&self.state)
            .anomalies
            .iter()
            .rev()
            .filter(|c| {
                workload.is_none_or(|w| c.event.workload.as_ref().is_some_and(|x| x.as_str() == w))
            })
            .take(limit)
            .cloned()
            .collect()
    }
}

impl Insight {
    /// Feedback series for `/metrics`: per workload the recent forecast error and band coverage
    /// (all models, every horizon), anomaly events opened so far and whether one is open.
    pub fn exposition(&self) -> String {
        let s = lock(&self.state);
        if s.models.is_empty() {
            return String::new();
        }
        let mut mae = String::new();
        let mut cov = String::new();
        let mut events = String::new();
        let mut open = String::new();
        for (w, m) in &s.models {
            let w = w.as_str();
            if let Some(all) = m
                .stats
                .iter()
                .find(|r| r.model.is_none() && r.horizon.is_none())
            {
                if let Some(v) = all.recent.mae {
                    line(&mut mae, "prescale_forecast_mae", &[("workload", w)], v);
                }
                if let Some(v) = all.recent.coverage {
                    // one level convention with the forecast series: a fraction ("0.9")
                    let level = all
                        .level
                        .and_then(|l| prescale_core::Level::new(l).ok())
                        .map(prescale_remote::naming::level_label);
                    let mut labels = vec![("workload", w)];
                    if let Some(l) = level.as_deref() {
                        labels.push(("level", l));
                    }
                    line(&mut cov, "prescale_forecast_coverage", &labels, v);
                }
            }
            line(
                &mut events,
                "prescale_anomaly_events_total",
                &[("workload", w)],
                m.status.anomaly_events as f64,
            );
            line(
                &mut open,
                "prescale_anomaly_open",
                &[("workload", w)],
                f64::from(u8::from(m.status.open_anomaly.is_some())),
            );
        }
        let mut out = String::new();
        for (name, kind, help, body) in [
            (
                "prescale_forecast_mae",
                "gauge",
                "Mean absolute forecast error over the recent window.",
                mae,
            ),
            (
                "prescale_forecast_coverage",
                "gauge",
                "Share of recent actuals inside the prediction band.",
                cov,
            ),
            (
                "prescale_anomaly_events_total",
                "counter",
                "Anomaly events on the forecast residuals.",
                events,
            ),
            (
                "prescale_anomaly_open",
                "gauge",
                "1 while an anomaly event is open.",
                open,
            ),
        ] {
            if !body.is_empty() {
                family(&mut out, name, kind, help);
                out.push_str(&body);
            }
        }
        out
    }
}

//! One workload's feedback loop: ledger → accuracy, and the lead-horizon residual → anomaly and
//! drift detectors.

use crate::{
    Accuracy, AnomalyDetector, AnomalyEvent, Drift, DriftDetector, EventChange, FeedbackConfig,
    FeedbackError, Ledger, ModelStats, Outcome, Verdict,
};
use prescale_core::{Forecast, Timestamp, WorkloadId};
use serde::{Deserialize, Serialize};

/// What one observed step produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Every prediction that targeted the step, shortest horizon first.
    pub outcomes: Vec<Outcome>,
    /// The anomaly verdict on the lead-horizon residual (`None` when no prediction targeted the
    /// step).
    pub verdict: Option<Verdict>,
    /// Anomaly events that opened or closed.
    pub changes: Vec<EventChange>,
    /// Drift declared at this step.
    pub drift: Option<Drift>,
}

/// A snapshot of one workload's feedback state (for the API and `/metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackStatus {
    /// Predictions waiting for their actual.
    pub pending: usize,
    /// Predictions dropped unmatched.
    pub expired: u64,
    /// Anomaly events opened so far.
    pub anomaly_events: u64,
    /// The anomaly going on, if any.
    pub open_anomaly: Option<AnomalyEvent>,
    /// Robust σ of recent lead-horizon residuals.
    pub residual_scale: Option<f64>,
    /// Whether drift detection can fire (false from a drift until `refitted`).
    pub drift_armed: bool,
    /// The drift declared and not yet followed by a refit.
    pub drift: Option<Drift>,
    /// The CUSUM statistics (upward, downward) in robust σ.
    pub cusum: (f64, f64),
    /// Band coverage over the drift detector's window so far.
    pub window_coverage: Option<f64>,
}

/// Ledger, accuracy, anomaly and drift detection of one workload.
#[derive(Debug, Clone)]
pub struct WorkloadFeedback {
    lead: usize,
    ledger: Ledger,
    accuracy: Accuracy,
    anomaly: AnomalyDetector,
    drift: DriftDetector,
}

impl WorkloadFeedback {
    /// Validates `cfg` and builds the parts.
    pub fn new(cfg: &FeedbackConfig) -> Result<WorkloadFeedback, FeedbackError> {
        cfg.validate()?;
        Ok(WorkloadFeedback {
            lead: cfg.lead,
            ledger: Ledger::new(&cfg.ledger),
            accuracy: Accuracy::new(&cfg.accuracy),
            anomaly: AnomalyDetector::new(&cfg.anomaly, &cfg.scale),
            drift: DriftDetector::new(&cfg.drift, &cfg.scale),
        })
    }

    /// Names the workload in anomaly events.
    pub fn with_workload(mut self, workload: WorkloadId) -> WorkloadFeedback {
        self.anomaly = self.anomaly.with_workload(workload);
        self
    }

    /// See [`Ledger::record`].
    pub fn record(
        &mut self,
        origin_step: u64,
        at: Timestamp,
        model: &str,
        forecast: &Forecast,
        horizons: &[usize],
    ) -> Result<usize, FeedbackError> {
        self.ledger
            .record(origin_step, at, model, forecast, horizons)
    }

    /// Scores the predictions for `step`, updates the statistics and runs the detectors on the
    /// lead-horizon residual (or the shortest horizon recorded for the step).
    pub fn observe(
        &mut self,
        step: u64,
        at: Timestamp,
        actual: f64,
    ) -> Result<Observation, FeedbackError> {
        let outcomes = self.ledger.observe(step, at, actual)?;
        outcomes.iter().for_each(|o| self.accuracy.add(o));
        let lead = outcomes
            .iter()
            .find(|o| o.horizon == self.lead)
            .or_else(|| outcomes.first());
        let (verdict, changes, drift) = match lead {
            Some(o) => {
                let (v, changes) = self.anomaly.observe(o);
                let drift = self.drift.observe(o, v.exclude);
                (Some(v), changes, drift)
            }
            None => (None, Vec::new(), None),
        };
        Ok(Observation {
            outcomes,
            verdict,
            changes,
            drift,
        })
    }

    /// Whether `step` is to be kept out of training.
    pub fn is_excluded(&self, step: u64) -> bool {
        self.anomaly.is_excluded(step)
    }

    /// Re-arms drift detection (call after the refit a drift triggered).
    pub fn refitted(&mut self) {
        self.drift.reset();
    }

    /// The state in one serializable value.
    pub fn status(&self) -> FeedbackStatus {
        FeedbackStatus {
            pending: self.ledger.pending(),
            expired: self.ledger.expired(),
            anomaly_events: self.anomaly.event_count(),
            open_anomaly: self.anomaly.open_event().cloned(),
            residual_scale: self.anomaly.scale(),
            drift_armed: self.drift.armed(),
            drift: self.drift.fired().cloned(),
            cusum: self.drift.statistics(),
            window_coverage: self.drift.coverage_share(),
        }
    }

    /// Rows for `/api/v1/models`.
    pub fn model_stats(&self) -> Vec<ModelStats> {
        self.accuracy.rows()
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn accuracy(&self) -> &Accuracy {
        &self.accuracy
    }

    pub fn anomaly(&self) -> &AnomalyDetector {
        &self.anomaly
    }

    pub fn drift(&self) -> &DriftDetector {
        &self.drift
    }
}

//! Forecast feedback: predicted vs actual, error and coverage, residual anomalies and drift.
//!
//! Pure and synchronous: the caller (the per-workload controller) records each forecast it acts
//! on with [`WorkloadFeedback::record`] and hands every completed step's actual to
//! [`WorkloadFeedback::observe`]. Steps are the caller's absolute step counter (`u64`), which must
//! keep increasing across history trims.

pub mod accuracy;
pub mod anomaly;
pub mod config;
pub mod drift;
pub mod error;
pub mod ledger;
pub mod scale;
pub mod workload;

pub use accuracy::{Accuracy, ErrorStats, ErrorSummary, ModelStats};
pub use anomaly::{AnomalyDetector, AnomalyEvent, Direction, EventChange, EventState, Verdict};
pub use config::{
    AccuracyConfig, AnomalyConfig, DriftConfig, FeedbackConfig, LedgerConfig, ScaleConfig,
};
pub use drift::{Drift, DriftDetector, DriftReason};
pub use error::FeedbackError;
pub use ledger::{Ledger, Outcome, Prediction};
pub use scale::RobustScale;
pub use workload::{FeedbackStatus, Observation, WorkloadFeedback};

//! Feedback settings with defaults, validated once (`validate` names the offending field).

use crate::FeedbackError;
use serde::{Deserialize, Serialize};

fn bad(field: &'static str, value: impl ToString, reason: &'static str) -> FeedbackError {
    FeedbackError::InvalidConfig {
        field,
        value: value.to_string(),
        reason,
    }
}

/// How much the ledger remembers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerConfig {
    /// Predictions waiting for their actual, at most (the ones for the earliest steps go first).
    pub max_pending: usize,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig { max_pending: 4096 }
    }
}

impl LedgerConfig {
    pub fn validate(&self) -> Result<(), FeedbackError> {
        if self.max_pending == 0 {
            return Err(bad("ledger.max_pending", 0, "must be at least 1"));
        }
        Ok(())
    }
}

/// How error statistics are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccuracyConfig {
    /// Outcomes in the recent window (288 = one day of 5-minute steps).
    pub recent_window: usize,
    /// (model, horizon) rows kept at most; the least recently updated row goes first.
    pub max_rows: usize,
}

impl Default for AccuracyConfig {
    fn default() -> Self {
        AccuracyConfig {
            recent_window: 288,
            max_rows: 64,
        }
    }
}

impl AccuracyConfig {
    pub fn validate(&self) -> Result<(), FeedbackError> {
        if self.recent_window == 0 {
            return Err(bad("accuracy.recent_window", 0, "must be at least 1"));
        }
        if self.max_rows == 0 {
            return Err(bad("accuracy.max_rows", 0, "must be at least 1"));
        }
        Ok(())
    }
}

/// The robust residual scale shared by the anomaly and drift detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScaleConfig {
    /// Recent (non-excluded) residuals the MAD is taken over.
    pub window: usize,
    /// No verdict before this many residuals are in the window.
    pub min_residuals: usize,
    /// The scale is at least this fraction of the window's median |actual| (so a perfectly
    /// predicted series does not turn every rounding error into an anomaly).
    pub floor_fraction: f64,
}

impl Default for ScaleConfig {
    fn default() -> Self {
        ScaleConfig {
            window: 288,
            min_residuals: 36,
            floor_fraction: 0.01,
        }
    }
}

impl ScaleConfig {
    pub fn validate(&self) -> Result<(), FeedbackError> {
        if self.min_residuals < 3 {
            return Err(bad(
                "scale.min_residuals",
                self.min_residuals,
                "must be at least 3",
            ));
        }
        if self.window < self.min_residuals {
            return Err(bad(
                "scale.window",
                self.window,
                "must be at least scale.min_residuals",
            ));
        }
        if !(self.floor_fraction >= 0.0 && self.floor_fraction.is_finite()) {
            return Err(bad(
                "scale.floor_fraction",
                self.floor_fraction,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

/// When a residual is an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyConfig {
    /// Fire when |residual| / robust scale reaches this.
    pub threshold: f64,
    /// Also require the actual to lie outside the forecast's prediction band.
    pub require_outside_band: bool,
    /// Steps of one event kept out of training at most: a deviation that lasts longer is a new
    /// normal (a level shift the model must learn, and drift detection's business), not an outlier.
    pub max_excluded_steps: usize,
    /// Closed events remembered.
    pub keep_events: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            threshold: 4.5,
            require_outside_band: true,
            max_excluded_steps: 12,
            keep_events: 100,
        }
    }
}

impl AnomalyConfig {
    pub fn validate(&self) -> Result<(), FeedbackError> {
        if !(self.threshold > 0.0 && self.threshold.is_finite()) {
            return Err(bad(
                "anomaly.threshold",
                self.threshold,
                "must be finite and > 0",
            ));
        }
        Ok(())
    }
}

/// When the residuals have drifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftConfig {
    /// CUSUM allowance `k` in robust standard deviations (detects mean shifts of about 2k).
    pub allowance: f64,
    /// CUSUM decision threshold `h` in robust standard deviations.
    pub threshold: f64,
    /// Standardized residuals are clipped to ±this before entering the sums, so one outlier
    /// cannot trigger a drift on its own.
    pub clip: f64,
    /// Outcomes in the coverage window (must be full before coverage can fire).
    pub coverage_window: usize,
    /// Fire when the window's coverage falls below `nominal − coverage_drop` (e.g. a 90% band
    /// covering less than 70% with 0.2).
    pub coverage_drop: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            allowance: 0.75,
            threshold: 10.0,
            clip: 4.0,
            coverage_window: 288,
            coverage_drop: 0.2,
        }
    }
}

impl DriftConfig {
    pub fn validate(&self) -> Result<(), FeedbackError> {
        if !(self.allowance >= 0.0 && self.allowance.is_finite()) {
            return Err(bad(
                "drift.allowance",
                self.allowance,
                "must be finite and >= 0",
            ));
        }
        if !(self.threshold > 0.0 && self.threshold.is_finite()) {
            return Err(bad(
                "drift.threshold",
                self.threshold,
                "must be finite and > 0",
            ));
        }
        if !(self.clip > self.allowance && self.clip.is_finite()) {
            return Err(bad(
                "drift.clip",
                self.clip,
                "must be finite and > drift.allowance",
            ));
        }
        if self.coverage_window == 0 {
            return Err(bad("drift.coverage_window", 0, "must be at least 1"));
        }
        if !(self.coverage_drop > 0.0 && self.coverage_drop < 1.0) {
            return Err(bad(
                "drift.coverage_drop",
                self.coverage_drop,
                "must be in (0, 1)",
            ));
        }
        Ok(())
    }
}

/// Everything one workload's feedback needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackConfig {
    /// The horizon (steps ahead) whose residuals feed the anomaly and drift detectors; when no
    /// prediction at this horizon targets a step, the shortest one recorded is used.
    pub lead: usize,
    pub ledger: LedgerConfig,
    pub accuracy: AccuracyConfig,
    pub scale: ScaleConfig,
    pub anomaly: AnomalyConfig,
    pub drift: DriftConfig,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            lead: 1,
            ledger: LedgerConfig::default(),
            accuracy: AccuracyConfig::default(),
            scale: ScaleConfig::default(),
            anomaly: AnomalyConfig::default(),
            drift: DriftConfig::default(),
        }
    }
}

impl FeedbackConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), FeedbackError> {
        if self.lead == 0 {
            return Err(bad("lead", 0, "must be at least 1"));
        }
        self.ledger.validate()?;
        self.accuracy.validate()?;
        self.scale.validate()?;
        self.anomaly.validate()?;
        self.drift.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_errors_name_the_field() {
        assert_eq!(FeedbackConfig::default().validate(), Ok(()));
        let cfg = FeedbackConfig {
            anomaly: AnomalyConfig {
                threshold: f64::NAN,
                ..AnomalyConfig::default()
            },
            ..FeedbackConfig::default()
        };
        match cfg.validate() {
            Err(FeedbackError::InvalidConfig { field, .. }) => {
                assert_eq!(field, "anomaly.threshold")
            }
            other => panic!("{other:?}"),
        }
        let cfg = FeedbackConfig {
            scale: ScaleConfig {
                window: 10,
                min_residuals: 20,
                ..ScaleConfig::default()
            },
            ..FeedbackConfig::default()
        };
        assert!(matches!(
            cfg.validate(),
            Err(FeedbackError::InvalidConfig {
                field: "scale.window",
                ..
            })
        ));
    }
}

//! Fingerprint configuration, validated once before any work.

use crate::FingerprintError;
use serde::{Deserialize, Serialize};

/// How workloads are turned into fingerprint vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FingerprintConfig {
    /// Trailing windows, in samples, over which features are computed (e.g. 1 h, 1 d, 1 w at
    /// 5-minute steps). A window longer than a series is clipped to the series; feature names keep
    /// the configured length so every workload shares the same names.
    pub windows: Vec<usize>,
    /// Longest seasonal period to look for, in samples (also clipped to half the window).
    pub max_period: usize,
    /// Keep the leading PCA components that together explain at least this share of variance.
    pub variance_target: f64,
    /// Keep exactly this many PCA components instead (clipped to the number available).
    pub components: Option<usize>,
    /// Significance level of Fisher's g-test for the seasonality features.
    pub significance: f64,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        FingerprintConfig {
            windows: vec![12, 288, 2016],
            max_period: 2016,
            variance_target: 0.95,
            components: None,
            significance: 0.01,
        }
    }
}

impl FingerprintConfig {
    /// Checks every field once; all other functions assume a validated config.
    pub fn validate(&self) -> Result<(), FingerprintError> {
        let bad = |field, value: String, reason| {
            Err(FingerprintError::Config {
                field,
                value,
                reason,
            })
        };
        if self.windows.is_empty() {
            return bad("windows", "[]".into(), "at least one window is needed");
        }
        if let Some(w) = self.windows.iter().find(|&&w| w < 2) {
            return bad(
                "windows",
                w.to_string(),
                "a window needs at least 2 samples",
            );
        }
        let mut sorted = self.windows.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.windows.len() {
            return bad("windows", format!("{:?}", self.windows), "windows repeat");
        }
        if self.max_period < 2 {
            return bad(
                "max_period",
                self.max_period.to_string(),
                "must be at least 2",
            );
        }
        let v = self.variance_target;
        if v.is_nan() || v <= 0.0 || v > 1.0 {
            return bad(
                "variance_target",
                self.variance_target.to_string(),
                "must lie in (0, 1]",
            );
        }
        if self.components == Some(0) {
            return bad("components", "0".into(), "must be at least 1");
        }
        let a = self.significance;
        if a.is_nan() || a <= 0.0 || a >= 1.0 {
            return bad(
                "significance",
                self.significance.to_string(),
                "must lie in (0, 1)",
            );
        }
        Ok(())
    }

    /// The longest configured window.
    pub fn longest_window(&self) -> usize {
        self.windows.iter().copied().max().unwrap_or(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_fields_are_named() {
        assert!(FingerprintConfig::default().validate().is_ok());
        let cfg = FingerprintConfig {
            variance_target: 1.5,
            ..Default::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("variance_target"), "{err}");
        let cfg = FingerprintConfig {
            windows: vec![12, 12],
            ..Default::default()
        };
        assert!(cfg.validate().is_err());
        let cfg = FingerprintConfig {
            components: Some(0),
            ..Default::default()
        };
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn config_round_trips_and_rejects_unknown_fields() {
        let cfg = FingerprintConfig::default();
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(
            serde_json::from_str::<FingerprintConfig>(&json).unwrap(),
            cfg
        );
        assert!(serde_json::from_str::<FingerprintConfig>(r#"{"windowz":[3]}"#).is_err());
    }
}

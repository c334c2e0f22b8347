//! Fingerprint configuration, validated once before any work.

use crate::{AutoencoderConfig, FingerprintError};
use serde::{Deserialize, Serialize};

/// What turns a workload's scaled features into its fingerprint vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Reducer {
    /// The leading principal components (linear).
    #[serde(rename = "pca")]
    Pca,
    /// The code of a small autoencoder (non-linear), see [`crate::Autoencoder`].
    #[serde(rename = "ae")]
    Autoencoder,
}

impl Reducer {
    /// The reducer a fleet is fingerprinted with unless told otherwise. On the workload families
    /// of the shared real data (`tests/reducers.rs`) PCA and the autoencoder were level (1-NN
    /// family agreement 0.543 vs 0.535, silhouette −0.132 vs −0.135), so PCA stays: it does not
    /// lose, its basis does not depend on a seed, and it is cheaper.
    pub const DEFAULT: Reducer = Reducer::Pca;

    /// `pca` or `ae`, as in the CLI and the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Reducer::Pca => "pca",
            Reducer::Autoencoder => "ae",
        }
    }

    /// Models stored before the reducer was configurable were all PCA.
    fn stored_default() -> Reducer {
        Reducer::Pca
    }
}

impl std::fmt::Display for Reducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Reducer {
    type Err = FingerprintError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pca" => Ok(Reducer::Pca),
            "ae" | "autoencoder" => Ok(Reducer::Autoencoder),
            _ => Err(FingerprintError::Config {
                field: "reducer",
                value: s.to_string(),
                reason: "must be pca or ae",
            }),
        }
    }
}

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
    /// Keep exactly this many PCA components instead (clipped to the number available); also the
    /// autoencoder's code size unless `autoencoder.code` says otherwise.
    pub components: Option<usize>,
    /// Significance level of Fisher's g-test for the seasonality features.
    pub significance: f64,
    /// PCA or the autoencoder. A stored configuration without this field predates the choice and
    /// was PCA, whatever today's default is.
    #[serde(default = "Reducer::stored_default")]
    pub reducer: Reducer,
    /// Training settings of the autoencoder (used when `reducer` is `ae`).
    pub autoencoder: AutoencoderConfig,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        FingerprintConfig {
            windows: vec![12, 288, 2016],
            max_period: 2016,
            variance_target: 0.95,
            components: None,
            significance: 0.01,
            reducer: Reducer::DEFAULT,
            autoencoder: AutoencoderConfig::default(),
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
        self.autoencoder.validate()
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
        // A configuration stored before the reducer choice existed was PCA.
        let old: FingerprintConfig = serde_json::from_str(r#"{"windows":[12]}"#).unwrap();
        assert_eq!(old.reducer, Reducer::Pca);
        let ae: FingerprintConfig = serde_json::from_str(r#"{"reducer":"ae"}"#).unwrap();
        assert_eq!(ae.reducer, Reducer::Autoencoder);
        assert_eq!("ae".parse::<Reducer>(), Ok(Reducer::Autoencoder));
        let err = "svd".parse::<Reducer>().unwrap_err().to_string();
        assert!(err.contains("reducer") && err.contains("svd"), "{err}");
        let bad = FingerprintConfig {
            autoencoder: AutoencoderConfig {
                hidden: 0,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("autoencoder.hidden"));
    }
}

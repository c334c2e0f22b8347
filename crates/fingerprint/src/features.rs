//! Per-workload feature vectors: every metric × every window, plus cross-metric correlations.

use crate::window::{check_series, features_unchecked, normalised};
use crate::{FingerprintConfig, FingerprintError};
use prescale_core::{MetricName, WorkloadId};
use prescale_math::pearson;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One metric of a workload: values oldest first, at regular steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInput {
    pub metric: MetricName,
    pub values: Vec<f64>,
}

/// Every metric of one workload (metrics may have different lengths; all end "now").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadInput {
    pub workload: WorkloadId,
    pub metrics: Vec<MetricInput>,
}

/// Named raw features of one workload, e.g. `cpu.w288.p90` or `corr.cpu~mem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureVector {
    pub names: Vec<String>,
    pub values: Vec<f64>,
}

impl FeatureVector {
    /// The value of the feature called `name`, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.values.get(i).copied())
    }
}

/// Features of one workload.
///
/// For every metric and every configured window `w`, the [`crate::WindowFeatures`] of the last
/// `min(w, len)` samples, named `{metric}.w{w}.{feature}`. For every pair of metrics (names in
/// lexicographic order `a < b`), Pearson's r over their last `min(longest window, len_a, len_b)`
/// samples, named `corr.{a}~{b}`; an undefined correlation (a constant side) counts as 0.
pub fn workload_features(
    w: &WorkloadInput,
    cfg: &FingerprintConfig,
) -> Result<FeatureVector, FingerprintError> {
    cfg.validate()?;
    features_validated(w, cfg)
}

/// [`workload_features`] for a config that was already validated.
pub(crate) fn features_validated(
    w: &WorkloadInput,
    cfg: &FingerprintConfig,
) -> Result<FeatureVector, FingerprintError> {
    if w.metrics.is_empty() {
        return Err(FingerprintError::NoMetrics {
            workload: w.workload.to_string(),
        });
    }
    let mut seen = BTreeSet::new();
    for m in &w.metrics {
        if !seen.insert(m.metric.as_str()) {
            return Err(FingerprintError::DuplicateMetric {
                workload: w.workload.to_string(),
                metric: m.metric.to_string(),
            });
        }
        check_series(&format!("{}/{}", w.workload, m.metric), &m.values)?;
    }
    let mut metrics: Vec<&MetricInput> = w.metrics.iter().collect();
    metrics.sort_by(|a, b| a.metric.cmp(&b.metric));

    let mut names = Vec::new();
    let mut values = Vec::new();
    for m in &metrics {
        for &win in &cfg.windows {
            let tail = &m.values[m.values.len().saturating_sub(win)..];
            for (feat, v) in features_unchecked(tail, cfg).named() {
                names.push(format!("{}.w{}.{}", m.metric, win, feat));
                values.push(v);
            }
        }
    }
    let longest = cfg.longest_window();
    for (i, a) in metrics.iter().enumerate() {
        for b in &metrics[i + 1..] {
            let len = longest.min(a.values.len()).min(b.values.len());
            let (_, xa) = normalised(&a.values[a.values.len() - len..]);
            let (_, xb) = normalised(&b.values[b.values.len() - len..]);
            names.push(format!("corr.{}~{}", a.metric, b.metric));
            values.push(pearson(&xa, &xb).unwrap_or(0.0));
        }
    }
    Ok(FeatureVector { names, values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::WINDOW_FEATURE_NAMES;

    fn metric(name: &str, values: Vec<f64>) -> MetricInput {
        MetricInput {
            metric: MetricName::new(name).unwrap(),
            values,
        }
    }

    fn cfg() -> FingerprintConfig {
        FingerprintConfig {
            windows: vec![12, 288],
            max_period: 288,
            ..Default::default()
        }
    }

    #[test]
    fn names_cover_metrics_windows_and_pairs() {
        let w = WorkloadInput {
            workload: WorkloadId::new("vm-1").unwrap(),
            metrics: vec![
                metric("mem", (0..100).map(|i| (i * 2) as f64).collect()),
                metric("cpu", (0..50).map(f64::from).collect()),
            ],
        };
        let f = workload_features(&w, &cfg()).unwrap();
        assert_eq!(f.names.len(), 2 * 2 * WINDOW_FEATURE_NAMES.len() + 1);
        assert_eq!(f.names.len(), f.values.len());
        assert_eq!(f.names[0], "cpu.w12.mean");
        // Window 288 is clipped to the 50 samples of cpu: mean of 0..50.
        assert_eq!(f.get("cpu.w288.mean"), Some(24.5));
        // Last 12 samples of cpu: 38..=49.
        assert_eq!(f.get("cpu.w12.min"), Some(38.0));
        // Correlation over the last 50 samples of both: both ramps → r = 1.
        let r = f.get("corr.cpu~mem").unwrap();
        assert!((r - 1.0).abs() < 1e-12, "{r}");
        assert!(f.values.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn constant_metric_correlates_zero_and_duplicates_fail() {
        let w = WorkloadInput {
            workload: WorkloadId::new("vm-2").unwrap(),
            metrics: vec![metric("a", vec![1.0; 30]), metric("b", vec![2.0; 30])],
        };
        let f = workload_features(&w, &cfg()).unwrap();
        assert_eq!(f.get("corr.a~b"), Some(0.0));

        let dup = WorkloadInput {
            workload: WorkloadId::new("vm-3").unwrap(),
            metrics: vec![metric("a", vec![1.0]), metric("a", vec![2.0])],
        };
        assert!(matches!(
            workload_features(&dup, &cfg()),
            Err(FingerprintError::DuplicateMetric { .. })
        ));
        let empty = WorkloadInput {
            workload: WorkloadId::new("vm-4").unwrap(),
            metrics: vec![metric("a", vec![])],
        };
        let err = workload_features(&empty, &cfg()).unwrap_err().to_string();
        assert!(err.contains("vm-4/a"), "{err}");
    }
}

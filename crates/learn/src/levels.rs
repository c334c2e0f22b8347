//! Level statistics of a group of workloads for one quantity: each member's mean and p95, then the
//! group's median of means and p95 of p95s.

use prescale_core::{MetricName, WorkloadId};
use prescale_math::{mean, median, quantile};
use serde::{Deserialize, Serialize};

/// One member's level of one quantity (in the quantity's unit, after any scaling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberLevel {
    pub workload: WorkloadId,
    /// The stored metric the level was read from.
    pub metric: MetricName,
    pub mean: f64,
    pub p95: f64,
    pub samples: usize,
}

impl MemberLevel {
    /// Mean and p95 of `values` × `scale`; `None` for an empty slice.
    pub fn of(
        workload: WorkloadId,
        metric: MetricName,
        values: &[f64],
        scale: f64,
    ) -> Option<Self> {
        let scaled: Vec<f64> = values.iter().map(|v| v * scale).collect();
        Some(MemberLevel {
            workload,
            metric,
            mean: mean(&scaled)?,
            p95: quantile(&scaled, 0.95)?,
            samples: values.len(),
        })
    }
}

/// The group's level: median of the members' means, p95 of their p95s, and the range of p95s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelStats {
    pub median_of_means: f64,
    pub p95_of_p95s: f64,
    pub min_p95: f64,
    pub max_p95: f64,
    pub members: Vec<MemberLevel>,
}

impl LevelStats {
    /// Statistics over `members`; `None` when there are none.
    pub fn of(members: Vec<MemberLevel>) -> Option<Self> {
        let means: Vec<f64> = members.iter().map(|m| m.mean).collect();
        let p95s: Vec<f64> = members.iter().map(|m| m.p95).collect();
        Some(LevelStats {
            median_of_means: median(&means)?,
            p95_of_p95s: quantile(&p95s, 0.95)?,
            min_p95: p95s.iter().copied().fold(f64::INFINITY, f64::min),
            max_p95: p95s.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> WorkloadId {
        WorkloadId::new(s).unwrap()
    }

    #[test]
    fn member_and_group_levels() {
        let m = MetricName::new("cpu").unwrap();
        let xs: Vec<f64> = (1..=21).map(f64::from).collect();
        let a = MemberLevel::of(w("a"), m.clone(), &xs, 2.0).unwrap();
        assert_eq!(a.mean, 22.0);
        assert!((a.p95 - 40.0).abs() < 1e-12); // 0.95 * 20 = 19 → 20th value 20, ×2
        let b = MemberLevel::of(w("b"), m.clone(), &[1.0, 1.0], 1.0).unwrap();
        let c = MemberLevel::of(w("c"), m, &[3.0, 3.0], 1.0).unwrap();
        let g = LevelStats::of(vec![a, b, c]).unwrap();
        assert_eq!(g.median_of_means, 3.0);
        // p95 of [40, 1, 3] sorted [1, 3, 40]: position 1.9 → 3 + 0.9 × 37.
        assert!((g.p95_of_p95s - 36.3).abs() < 1e-9);
        assert_eq!((g.min_p95, g.max_p95), (1.0, 40.0));
        assert!(LevelStats::of(Vec::new()).is_none());
    }
}

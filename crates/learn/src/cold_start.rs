//! Cold-start forecasts: the cluster's shape scaled to the workload's own level.
//!
//! Level: with own points, `Σ own / Σ shape` over the phases the points were seen at (a ratio
//! estimator, so a few night-time points do not read as a low level); without points, the members'
//! median of means. Band: the profile's per-phase band ratios times the level, widened for the
//! uncertainty of the level itself — by `1 ± 2·residual_sd/√n` with `n` own points, or by the spread
//! of the members' means (their α/2 and 1−α/2 quantiles over the median) with none.

use crate::profile::{phase, ClusterProfile};
use crate::LearnError;
use prescale_core::{Forecast, Interval, MetricName, Timestamp};
use prescale_math::quantile;

/// Forecasts `horizon` steps of `metric` after `last`, where `own_recent` are the workload's own
/// latest values (oldest first, the last one at `last`, spaced by `step`; may be empty).
pub fn profile_forecast(
    profile: &ClusterProfile,
    metric: &MetricName,
    own_recent: &[f64],
    last: Timestamp,
    step: Interval,
    horizon: usize,
) -> Result<Forecast, LearnError> {
    let mp = profile
        .metrics
        .get(metric)
        .ok_or_else(|| LearnError::Invalid {
            what: "metric",
            value: metric.to_string(),
            reason: "the cluster profile has no such metric",
        })?;
    if let Some(v) = own_recent.iter().find(|v| !v.is_finite()) {
        return Err(crate::error::invalid("recent value", v, "must be finite"));
    }
    let at = |k: i64| {
        Timestamp(
            last.millis()
                .saturating_add(k.saturating_mul(step.millis())),
        )
    };
    let shape_at = |t: Timestamp| mp.shape[phase(t, profile.step, profile.period)];
    let n = own_recent.len();
    let (level, lo_f, hi_f) = if n == 0 {
        let med = mp.levels.median_of_means;
        let means: Vec<f64> = mp.levels.members.iter().map(|m| m.mean).collect();
        let a = profile.level.alpha();
        let spread = |q: f64| {
            quantile(&means, q)
                .filter(|_| med > 0.0)
                .map_or(1.0, |v| v / med)
        };
        (
            med,
            spread(a / 2.0).min(1.0),
            spread(1.0 - a / 2.0).max(1.0),
        )
    } else {
        let sum_x: f64 = own_recent.iter().sum();
        let sum_s: f64 = (0..n)
            .map(|i| shape_at(at(i as i64 - (n as i64 - 1))))
            .sum();
        let level = if sum_s > 0.0 {
            sum_x / sum_s
        } else {
            sum_x / n as f64
        };
        let se = 2.0 * mp.residual_sd / (n as f64).sqrt();
        (level, (1.0 - se).max(0.0), 1.0 + se)
    };
    let mut point = Vec::with_capacity(horizon);
    let mut lower = Vec::with_capacity(horizon);
    let mut upper = Vec::with_capacity(horizon);
    for k in 1..=horizon {
        let t = at(k as i64);
        let ph = phase(t, profile.step, profile.period);
        let p = level * mp.shape[ph];
        point.push(p);
        lower.push((level * mp.lower[ph] * lo_f).min(p).max(0.0));
        upper.push((level * mp.upper[ph] * hi_f).max(p));
    }
    Ok(Forecast::new(point, lower, upper, profile.level)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::levels::{LevelStats, MemberLevel};
    use crate::profile::{MetricProfile, PeriodSource};
    use prescale_core::{Level, WorkloadId};
    use std::collections::BTreeMap;

    fn profile(residual_sd: f64) -> (ClusterProfile, MetricName) {
        let m = MetricName::new("requests").unwrap();
        let lvl = |w: &str, mean: f64| MemberLevel {
            workload: WorkloadId::new(w).unwrap(),
            metric: m.clone(),
            mean,
            p95: mean * 1.5,
            samples: 100,
        };
        let levels = LevelStats::of(vec![lvl("a", 10.0), lvl("b", 20.0), lvl("c", 40.0)]).unwrap();
        let mp = MetricProfile {
            shape: vec![0.5, 1.5],
            lower: vec![0.4, 1.2],
            upper: vec![0.6, 1.8],
            residual_sd: 0.1,
            levels,
        };
        let mp = MetricProfile { residual_sd, ..mp };
        let p = ClusterProfile {
            cluster: None,
            members: Vec::new(),
            step: Interval::from_secs(60).unwrap(),
            period: 2,
            period_source: PeriodSource::Configured,
            level: Level::new(90.0).unwrap(),
            metrics: BTreeMap::from([(m.clone(), mp)]),
        };
        (p, m)
    }

    #[test]
    fn scales_the_shape_to_own_points() {
        let (p, m) = profile(0.0);
        let step = Interval::from_secs(60).unwrap();
        // Own points at phases 0 and 1 (t = 0 s, 60 s) at level 8: 4 and 12.
        let f = profile_forecast(&p, &m, &[4.0, 12.0], Timestamp::from_secs(60), step, 3).unwrap();
        assert_eq!(f.point, vec![4.0, 12.0, 4.0]);
        assert!((f.lower[0] - 3.2).abs() < 1e-12 && (f.upper[1] - 14.4).abs() < 1e-12);
        assert_eq!(f.level.percent(), 90.0);
    }

    #[test]
    fn own_points_out_of_phase_still_give_the_level() {
        let (p, m) = profile(0.0);
        let step = Interval::from_secs(60).unwrap();
        // One night-time point (phase 0, shape 0.5) of 5 means a level of 10, not 5.
        let f = profile_forecast(&p, &m, &[5.0], Timestamp::from_secs(120), step, 2).unwrap();
        assert_eq!(f.point, vec![15.0, 5.0]);
    }

    #[test]
    fn without_points_uses_the_median_level_and_a_wider_band() {
        let (p, m) = profile(0.0);
        let step = Interval::from_secs(60).unwrap();
        let f = profile_forecast(&p, &m, &[], Timestamp::from_secs(60), step, 2).unwrap();
        assert_eq!(f.point, vec![10.0, 30.0]);
        // Means 10, 20, 40: 95th percentile 38, 5th 11 → factors 1.9 and 0.55.
        assert!(
            (f.upper[0] - 20.0 * 0.6 * 1.9).abs() < 1e-9,
            "{:?}",
            f.upper
        );
        assert!(
            (f.lower[1] - 20.0 * 1.2 * 0.55).abs() < 1e-9,
            "{:?}",
            f.lower
        );
    }

    #[test]
    fn few_points_widen_the_band() {
        let (p, m) = profile(0.1);
        let step = Interval::from_secs(60).unwrap();
        let one = profile_forecast(&p, &m, &[4.0], Timestamp(0), step, 1).unwrap();
        let four = profile_forecast(
            &p,
            &m,
            &[4.0, 12.0, 4.0, 12.0],
            Timestamp::from_secs(120),
            step,
            1,
        )
        .unwrap();
        // Both have level 8 at phase 1: upper = 8 × 1.8 × (1 + 0.2/√n).
        assert!((one.upper[0] - 8.0 * 1.8 * 1.2).abs() < 1e-9);
        assert!((four.upper[0] - 8.0 * 1.8 * 1.1).abs() < 1e-9);
        assert!(one.lower[0] <= one.point[0] && one.point[0] <= one.upper[0]);
    }

    #[test]
    fn unknown_metric_is_an_error() {
        let (p, _) = profile(0.0);
        let step = Interval::from_secs(60).unwrap();
        let other = MetricName::new("cpu").unwrap();
        assert!(profile_forecast(&p, &other, &[], Timestamp(0), step, 1).is_err());
    }
}

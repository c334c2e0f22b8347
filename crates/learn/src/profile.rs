//! Cluster profiles: a normalized demand shape per metric on a common time-of-cycle grid, plus the
//! members' level statistics, so a workload without history can borrow its cluster's behaviour.
//!
//! Choice of cycle: a configured period wins. Otherwise every member's series is searched with
//! `prescale_math::detect_periods` and the cluster takes the most common dominant period (as a
//! duration, snapped to an hour, a day or a week when within 3 %; ties go to the larger summed power
//! share). With no significant period the shape is flat
//! (period 1). Phases are absolute — `(ts / step) mod period` since the Unix epoch — so a daily
//! shape lines up with the wall clock for every member and for the workload that borrows it.
//!
//! Shape: each member's series is divided by its own mean; per phase, the member's mean of those
//! ratios is its shape; the cluster shape is the per-phase median over members, renormalized to mean 1.
//! The band ratios are per-phase quantiles of every normalized sample of every member (so they carry
//! both cycle-to-cycle noise and member-to-member differences in shape).

use crate::levels::{LevelStats, MemberLevel};
use crate::LearnError;
use prescale_core::{ClusterId, Interval, Level, MetricName, Series, Timestamp, WorkloadId};
use prescale_math::{detect_periods, mean, median, quantile};
use prescale_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Significance level of the period test.
const PERIOD_ALPHA: f64 = 0.01;
/// Fewest samples a series needs to take part in a profile.
const MIN_SAMPLES: usize = 8;

/// How profiles are built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileOptions {
    /// The cycle of the shape; `None`: detected (see the module notes).
    pub period: Option<Interval>,
    /// Longest period detection looks for.
    pub max_period: Interval,
    /// Prediction level of the band, in percent.
    pub level: f64,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            period: None,
            max_period: Interval::from_secs(7 * 86_400).unwrap_or_else(|| unreachable!()),
            level: 90.0,
        }
    }
}

/// Where the profile's period came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum PeriodSource {
    Configured,
    /// `votes` of `series` member series had this dominant period.
    Detected {
        votes: usize,
        series: usize,
    },
    /// No significant period: the shape is flat.
    Flat,
}

/// One metric's shape, band and levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricProfile {
    /// Demand relative to the level, per phase (mean 1).
    pub shape: Vec<f64>,
    /// Lower band ratio per phase (same scale as `shape`).
    pub lower: Vec<f64>,
    /// Upper band ratio per phase.
    pub upper: Vec<f64>,
    /// Standard deviation of the normalized samples around the shape (pooled over members).
    pub residual_sd: f64,
    /// Members' means and p95s in the metric's own unit.
    pub levels: LevelStats,
}

/// A cluster's profile (or the whole fleet's, with `cluster: None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterProfile {
    pub cluster: Option<ClusterId>,
    pub members: Vec<WorkloadId>,
    /// Grid step: the members' median sampling interval.
    pub step: Interval,
    /// Grid steps per cycle (1: flat).
    pub period: usize,
    pub period_source: PeriodSource,
    pub level: Level,
    pub metrics: BTreeMap<MetricName, MetricProfile>,
}

impl ClusterProfile {
    /// Phase of time `t` on the profile's grid.
    pub fn phase(&self, t: Timestamp) -> usize {
        phase(t, self.step, self.period)
    }
}

pub(crate) fn phase(t: Timestamp, step: Interval, period: usize) -> usize {
    let p = period.max(1) as i64;
    t.millis().div_euclid(step.millis()).rem_euclid(p) as usize
}

/// Loads every member's stored series and builds the profile.
pub fn cluster_profile(
    store: &Store,
    cluster: Option<ClusterId>,
    members: &[WorkloadId],
    opts: &ProfileOptions,
) -> Result<ClusterProfile, LearnError> {
    let infos = store.list_series()?;
    let mut data = Vec::with_capacity(members.len());
    for m in members {
        let mut series = Vec::new();
        for info in infos.iter().filter(|i| &i.key.workload == m) {
            if let Some(s) = store.load_series(&info.key)? {
                series.push(s);
            }
        }
        data.push((m.clone(), series));
    }
    build_profile(cluster, &data, opts)
}

/// Builds a profile from the members' series (a member may lack some metrics).
pub fn build_profile(
    cluster: Option<ClusterId>,
    members: &[(WorkloadId, Vec<Series>)],
    opts: &ProfileOptions,
) -> Result<ClusterProfile, LearnError> {
    let level = Level::new(opts.level)?;
    let label = || cluster.map_or_else(|| "fleet".to_string(), |c| c.to_string());
    let usable: Vec<&Series> = members
        .iter()
        .flat_map(|(_, s)| s.iter())
        .filter(|s| s.len() >= MIN_SAMPLES)
        .collect();
    let mut intervals: Vec<i64> = usable
        .iter()
        .filter_map(|s| s.median_interval().map(Interval::millis))
        .collect();
    intervals.sort_unstable();
    let step = intervals
        .get(intervals.len() / 2)
        .and_then(|m| Interval::from_millis(*m))
        .ok_or_else(|| LearnError::EmptyProfile { cluster: label() })?;
    let (period, period_source) = match opts.period {
        Some(p) => (step.steps_in(p), PeriodSource::Configured),
        None => detect_cycle(&usable, step, opts.max_period),
    };
    let mut by_metric: BTreeMap<MetricName, Vec<&Series>> = BTreeMap::new();
    for s in &usable {
        by_metric.entry(s.key.metric.clone()).or_default().push(s);
    }
    let alpha = level.alpha();
    let metrics = by_metric
        .into_iter()
        .filter_map(|(m, series)| metric_profile(&series, step, period, alpha).map(|p| (m, p)))
        .collect();
    Ok(ClusterProfile {
        cluster,
        members: members.iter().map(|(w, _)| w.clone()).collect(),
        step,
        period,
        period_source,
        level,
        metrics,
    })
}

/// The most common dominant period (as a duration) over the series, in grid steps.
fn detect_cycle(series: &[&Series], step: Interval, max_period: Interval) -> (usize, PeriodSource) {
    // period duration in grid steps → (votes, summed power share)
    let mut votes: BTreeMap<usize, (usize, f64)> = BTreeMap::new();
    for s in series {
        let Some(own) = s.median_interval() else {
            continue;
        };
        let values = s.values();
        let max = own.steps_in(max_period).min(values.len() / 2);
        if let Some(top) = detect_periods(&values, max, 1, PERIOD_ALPHA).first() {
            let millis = snap_to_calendar(top.period as i64 * own.millis());
            let grid = ((millis + step.millis() / 2) / step.millis()).max(1) as usize;
            let e = votes.entry(grid).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += top.power_share;
        }
    }
    let best = votes
        .iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(a.1 .1.total_cmp(&b.1 .1)));
    match best {
        Some((&p, &(v, _))) if p > 1 => (
            p,
            PeriodSource::Detected {
                votes: v,
                series: series.len(),
            },
        ),
        _ => (1, PeriodSource::Flat),
    }
}

/// Calendar cycles a detected period snaps to when within 3 % (the periodogram can miss by a step,
/// and an absolute time-of-cycle grid needs the exact cycle): an hour, a day, a week.
const CALENDAR_MS: [i64; 3] = [3_600_000, 86_400_000, 604_800_000];

fn snap_to_calendar(millis: i64) -> i64 {
    CALENDAR_MS
        .iter()
        .copied()
        .find(|c| (millis - c).abs() * 100 <= 3 * c)
        .unwrap_or(millis)
}

/// One metric's profile over the members that have it; `None` when no member has a positive mean.
fn metric_profile(
    series: &[&Series],
    step: Interval,
    period: usize,
    alpha: f64,
) -> Option<MetricProfile> {
    let period = period.max(1);
    let mut member_shapes: Vec<Vec<Option<f64>>> = Vec::new();
    let mut pooled: Vec<Vec<f64>> = vec![Vec::new(); period];
    let mut levels = Vec::new();
    for s in series {
        let values = s.values();
        let Some(lvl) = MemberLevel::of(s.key.workload.clone(), s.key.metric.clone(), &values, 1.0)
        else {
            continue;
        };
        let m = lvl.mean;
        levels.push(lvl);
        if m <= 0.0 {
            continue;
        }
        let mut sums = vec![(0.0, 0usize); period];
        for x in s.samples() {
            let ph = phase(x.ts, step, period);
            let r = x.value / m;
            sums[ph].0 += r;
            sums[ph].1 += 1;
            pooled[ph].push(r);
        }
        member_shapes.push(
            sums.iter()
                .map(|(s, n)| (*n > 0).then(|| s / *n as f64))
                .collect(),
        );
    }
    let levels = LevelStats::of(levels)?;
    if member_shapes.is_empty() {
        return None;
    }
    let raw: Vec<Option<f64>> = (0..period)
        .map(|ph| {
            let at: Vec<f64> = member_shapes.iter().filter_map(|s| s[ph]).collect();
            median(&at)
        })
        .collect();
    let known: Vec<f64> = raw.iter().flatten().copied().collect();
    let norm = mean(&known).filter(|m| *m > 0.0)?;
    let all: Vec<f64> = pooled.iter().flatten().copied().collect();
    let (glo, ghi) = (
        quantile(&all, alpha / 2.0)?,
        quantile(&all, 1.0 - alpha / 2.0)?,
    );
    let shape: Vec<f64> = raw.iter().map(|r| r.unwrap_or(norm) / norm).collect();
    let lower = pooled
        .iter()
        .map(|p| quantile(p, alpha / 2.0).unwrap_or(glo) / norm)
        .collect();
    let upper = pooled
        .iter()
        .map(|p| quantile(p, 1.0 - alpha / 2.0).unwrap_or(ghi) / norm)
        .collect();
    let resid: Vec<f64> = pooled
        .iter()
        .zip(&shape)
        .flat_map(|(p, s)| p.iter().map(move |r| r / norm - s))
        .collect();
    let residual_sd = prescale_math::std_dev(&resid).unwrap_or(0.0);
    Some(MetricProfile {
        shape,
        lower,
        upper,
        residual_sd,
        levels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Sample, SeriesKey};

    pub(crate) fn series(w: &str, metric: &str, step_s: i64, values: &[f64]) -> Series {
        let key = SeriesKey::new(
            WorkloadId::new(w).unwrap(),
            MetricName::new(metric).unwrap(),
        );
        let samples = values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                ts: Timestamp::from_secs(i as i64 * step_s),
                value: *v,
            })
            .collect();
        Series::new(key, Default::default(), samples).unwrap()
    }

    fn cycle(base: f64, shape: &[f64], cycles: usize) -> Vec<f64> {
        (0..cycles)
            .flat_map(|_| shape.iter().map(move |s| base * s))
            .collect()
    }

    #[test]
    fn shape_is_median_of_normalized_members_and_levels_are_per_member() {
        let shape = [0.5, 1.5, 1.0, 1.0];
        let a = series("a", "requests", 60, &cycle(10.0, &shape, 6));
        let b = series("b", "requests", 60, &cycle(100.0, &shape, 6));
        let members = vec![
            (WorkloadId::new("a").unwrap(), vec![a]),
            (WorkloadId::new("b").unwrap(), vec![b]),
        ];
        let opts = ProfileOptions {
            period: Some(Interval::from_secs(240).unwrap()),
            ..ProfileOptions::default()
        };
        let p = build_profile(Some(ClusterId(3)), &members, &opts).unwrap();
        assert_eq!((p.period, p.step.millis()), (4, 60_000));
        assert_eq!(p.period_source, PeriodSource::Configured);
        let m = &p.metrics[&MetricName::new("requests").unwrap()];
        for (got, want) in m.shape.iter().zip(shape) {
            assert!((got - want).abs() < 1e-12, "{:?}", m.shape);
        }
        // No noise: the band collapses onto the shape.
        assert!(m.residual_sd < 1e-12);
        assert!((m.upper[1] - 1.5).abs() < 1e-12 && (m.lower[0] - 0.5).abs() < 1e-12);
        assert_eq!(m.levels.median_of_means, 55.0);
        // p95s: 15 and 150; p95 of the two = 15 + 0.95 × 135.
        assert!((m.levels.p95_of_p95s - 143.25).abs() < 1e-9);
    }

    #[test]
    fn detects_the_common_period() {
        let shape: Vec<f64> = (0..24)
            .map(|h| 1.0 + 0.8 * (2.0 * std::f64::consts::PI * h as f64 / 24.0).sin())
            .collect();
        let a = series("a", "cpu", 3600, &cycle(2.0, &shape, 10));
        let b = series("b", "cpu", 3600, &cycle(5.0, &shape, 10));
        let members = vec![
            (WorkloadId::new("a").unwrap(), vec![a]),
            (WorkloadId::new("b").unwrap(), vec![b]),
        ];
        let p = build_profile(None, &members, &ProfileOptions::default()).unwrap();
        assert_eq!(p.period, 24);
        assert_eq!(
            p.period_source,
            PeriodSource::Detected {
                votes: 2,
                series: 2
            }
        );
        let m = &p.metrics[&MetricName::new("cpu").unwrap()];
        assert!((m.shape[6] - 1.8).abs() < 1e-9, "{:?}", m.shape);
        assert!((mean(&m.shape).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn detected_periods_snap_to_the_calendar() {
        assert_eq!(snap_to_calendar(287 * 300_000), 86_400_000);
        assert_eq!(snap_to_calendar(61 * 60_000), 3_600_000);
        assert_eq!(snap_to_calendar(12 * 3_600_000), 12 * 3_600_000);
    }

    #[test]
    fn no_usable_series_is_an_error() {
        let members = vec![(
            WorkloadId::new("a").unwrap(),
            vec![series("a", "cpu", 60, &[1.0; 3])],
        )];
        assert!(matches!(
            build_profile(None, &members, &ProfileOptions::default()),
            Err(LearnError::EmptyProfile { .. })
        ));
    }
}

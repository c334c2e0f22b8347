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

use crate::levels::LevelStats;
use crate::profile_partial::{merge_partials, MemberPartial, MetricPartial, SeriesCycle};
use crate::LearnError;
use prescale_core::{ClusterId, Interval, Level, MetricName, Series, Timestamp, WorkloadId};
use prescale_math::{detect_periods, mean, median, quantile};
use prescale_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Significance level of the period test.
const PERIOD_ALPHA: f64 = 0.01;
/// Fewest samples a series needs to take part in a profile.
pub(crate) const MIN_SAMPLES: usize = 8;

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
    cluster_profile_with(store, cluster, members, &BTreeMap::new(), opts)
}

/// [`cluster_profile`], with the members whose history this store lacks taken from the partials
/// their owners published (`published`, by workload) when there is one.
pub fn cluster_profile_with(
    store: &Store,
    cluster: Option<ClusterId>,
    members: &[WorkloadId],
    published: &BTreeMap<WorkloadId, MemberPartial>,
    opts: &ProfileOptions,
) -> Result<ClusterProfile, LearnError> {
    let infos = store.list_series()?;
    let mut data = Vec::with_capacity(members.len());
    let mut remote = Vec::new();
    for m in members {
        let mut series = Vec::new();
        for info in infos.iter().filter(|i| &i.key.workload == m) {
            if let Some(s) = store.load_series(&info.key)? {
                series.push(s);
            }
        }
        let here = series.iter().any(|s| s.len() >= MIN_SAMPLES);
        match published.get(m) {
            Some(p) if !here => remote.push(p),
            _ => data.push((m.clone(), series)),
        }
    }
    profile_of(cluster, &data, &remote, opts)
}

/// Builds a profile from the members' series (a member may lack some metrics): the grid from
/// every usable series, then each member's partial on it, merged ([`crate::profile_partial`]).
pub fn build_profile(
    cluster: Option<ClusterId>,
    members: &[(WorkloadId, Vec<Series>)],
    opts: &ProfileOptions,
) -> Result<ClusterProfile, LearnError> {
    profile_of(cluster, members, &[], opts)
}

/// The profile of the members whose series are here (`local`) and of those known only by the
/// partials their owners published (`remote`): the grid is chosen from every series' cycle
/// (local and remote alike), the local members' partials are computed on it, and a remote
/// partial is merged when it was computed on that same grid (else skipped and logged).
pub fn profile_of(
    cluster: Option<ClusterId>,
    local: &[(WorkloadId, Vec<Series>)],
    remote: &[&MemberPartial],
    opts: &ProfileOptions,
) -> Result<ClusterProfile, LearnError> {
    let level = Level::new(opts.level)?;
    let label = || cluster.map_or_else(|| "fleet".to_string(), |c| c.to_string());
    let usable = |s: &[Series]| -> Vec<Series> {
        s.iter()
            .filter(|s| s.len() >= MIN_SAMPLES)
            .cloned()
            .collect()
    };
    let local: Vec<(WorkloadId, Vec<Series>, Vec<SeriesCycle>)> = local
        .iter()
        .map(|(w, s)| {
            let s = usable(s);
            let c = s
                .iter()
                .filter_map(|s| SeriesCycle::of(s, opts.max_period))
                .collect();
            (w.clone(), s, c)
        })
        .collect();
    let mut cycles: Vec<SeriesCycle> = local
        .iter()
        .flat_map(|(_, _, c)| c.iter().cloned())
        .collect();
    cycles.extend(remote.iter().flat_map(|p| p.cycles.iter().cloned()));
    let (step, period, period_source) =
        choose_grid(&cycles, opts).ok_or_else(|| LearnError::EmptyProfile { cluster: label() })?;
    let mut partials: Vec<MemberPartial> = local
        .iter()
        .map(|(w, s, c)| MemberPartial::on_grid(w.clone(), s, step, period, c.clone()))
        .collect();
    let mut members: Vec<WorkloadId> = local.iter().map(|(w, _, _)| w.clone()).collect();
    for p in remote {
        if p.step == step && p.period == period {
            partials.push((*p).clone());
            members.push(p.workload.clone());
        } else {
            tracing::info!(workload = %p.workload, step_ms = p.step.millis(), period = p.period, cluster_step_ms = step.millis(), cluster_period = period, "a member's published profile partial is on another grid: not merged");
        }
    }
    let alpha = level.alpha();
    let metrics = merge_partials(&partials, period, alpha);
    Ok(ClusterProfile {
        cluster,
        members,
        step,
        period,
        period_source,
        level,
        metrics,
    })
}

/// The grid of a profile from its series' cycles: the step is their median sampling interval; the
/// period the configured one, else the most common dominant period (as a duration) in grid steps
/// (ties to the larger summed power share), flat without one. `None` without a series.
pub fn choose_grid(
    cycles: &[SeriesCycle],
    opts: &ProfileOptions,
) -> Option<(Interval, usize, PeriodSource)> {
    let mut intervals: Vec<i64> = cycles.iter().map(|c| c.interval.millis()).collect();
    intervals.sort_unstable();
    let step = intervals
        .get(intervals.len() / 2)
        .and_then(|m| Interval::from_millis(*m))?;
    if let Some(p) = opts.period {
        return Some((step, step.steps_in(p), PeriodSource::Configured));
    }
    // period duration in grid steps → (votes, summed power share)
    let mut votes: BTreeMap<usize, (usize, f64)> = BTreeMap::new();
    for (millis, share) in cycles.iter().filter_map(|c| c.cycle) {
        let grid = ((millis + step.millis() / 2) / step.millis()).max(1) as usize;
        let e = votes.entry(grid).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += share;
    }
    let best = votes
        .iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(a.1 .1.total_cmp(&b.1 .1)));
    Some(match best {
        Some((&p, &(v, _))) if p > 1 => (
            step,
            p,
            PeriodSource::Detected {
                votes: v,
                series: cycles.len(),
            },
        ),
        _ => (step, 1, PeriodSource::Flat),
    })
}

/// A series' dominant cycle (snapped to the calendar), `None` without a significant one.
pub(crate) fn dominant_cycle(s: &Series, max_period: Interval) -> Option<(i64, f64)> {
    let own = s.median_interval()?;
    let values = s.values();
    let max = own.steps_in(max_period).min(values.len() / 2);
    let periods = detect_periods(&values, max, 1, PERIOD_ALPHA);
    let top = periods.first()?;
    Some((
        snap_to_calendar(top.period as i64 * own.millis()),
        top.power_share,
    ))
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

/// One metric's profile from the members' partials of it; `None` when no member has a positive
/// mean.
pub(crate) fn metric_profile(
    parts: &[&MetricPartial],
    period: usize,
    alpha: f64,
) -> Option<MetricProfile> {
    let period = period.max(1);
    let mut member_shapes: Vec<Vec<Option<f64>>> = Vec::new();
    let mut pooled: Vec<Vec<f64>> = vec![Vec::new(); period];
    let mut levels = Vec::new();
    for part in parts {
        levels.push(part.level.clone());
        let Some(phases) = &part.ratios else {
            continue;
        };
        for (ph, rs) in phases.iter().enumerate().take(period) {
            pooled[ph].extend_from_slice(rs);
        }
        member_shapes.push(
            phases
                .iter()
                .map(|rs| (!rs.is_empty()).then(|| rs.iter().sum::<f64>() / rs.len() as f64))
                .collect(),
        );
    }
    let levels = LevelStats::of(levels)?;
    if member_shapes.is_empty() {
        return None;
    }
    let raw: Vec<Option<f64>> = (0..period)
        .map(|ph| {
            let at: Vec<f64> = member_shapes
                .iter()
                .filter_map(|s| s.get(ph).copied().flatten())
                .collect();
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

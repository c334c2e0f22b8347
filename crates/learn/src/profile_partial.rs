//! A cluster profile's mergeable part of one member: what [`crate::profile`] needs of a member's
//! history, computed where that history is stored, so a profile can be built on an instance that
//! stores none of it (scale-out: each owner publishes its workloads' partials).
//!
//! Per series, the cycle vote the grid is chosen from (its sampling interval and its dominant
//! period as a duration); per metric on the grid (step, period), the member's level (mean, p95) and
//! its normalised samples (value / own mean) grouped by phase. The member's shape is the per-phase
//! mean of those, and the cluster's bands and residual spread are quantiles and deviations of all
//! members' normalised samples pooled per phase, so the samples themselves are the partial (per-
//! phase sums and counts would give the shape but not the bands). Merging partials in member
//! order gives exactly the profile built from the members' series.

use crate::levels::MemberLevel;
use crate::profile::{dominant_cycle, metric_profile, phase, MetricProfile, MIN_SAMPLES};
use crate::LearnError;
use prescale_core::{Interval, MetricName, Series, WorkloadId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One series' vote for the profile's grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesCycle {
    /// The series' median sampling interval.
    pub interval: Interval,
    /// Its dominant period (ms, snapped to an hour, a day or a week) and that period's power
    /// share; `None` without a significant one.
    pub cycle: Option<(i64, f64)>,
}

impl SeriesCycle {
    /// The vote of `s`; `None` for a series without an interval.
    pub fn of(s: &Series, max_period: Interval) -> Option<SeriesCycle> {
        Some(SeriesCycle {
            interval: s.median_interval()?,
            cycle: dominant_cycle(s, max_period),
        })
    }
}

/// One metric of one member on the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricPartial {
    pub level: MemberLevel,
    /// Normalised samples (value / the member's mean) per phase; `None` when its mean is not
    /// positive (its level still counts).
    pub ratios: Option<Vec<Vec<f64>>>,
}

/// One member's partial profile on the grid (`step`, `period`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPartial {
    pub workload: WorkloadId,
    pub step: Interval,
    pub period: usize,
    pub cycles: Vec<SeriesCycle>,
    pub metrics: BTreeMap<MetricName, MetricPartial>,
}

impl MemberPartial {
    /// The partial of `workload` from its own series on the grid they choose alone (what its
    /// owner publishes: the grid a cluster of members like it chooses too); an error when none of
    /// its series is long enough.
    pub fn own(
        workload: WorkloadId,
        series: &[Series],
        opts: &crate::ProfileOptions,
    ) -> Result<MemberPartial, LearnError> {
        let usable: Vec<Series> = series
            .iter()
            .filter(|s| s.len() >= MIN_SAMPLES)
            .cloned()
            .collect();
        let cycles: Vec<SeriesCycle> = usable
            .iter()
            .filter_map(|s| SeriesCycle::of(s, opts.max_period))
            .collect();
        let (step, period, _) =
            crate::profile::choose_grid(&cycles, opts).ok_or_else(|| LearnError::EmptyProfile {
                cluster: workload.to_string(),
            })?;
        Ok(MemberPartial::on_grid(
            workload, &usable, step, period, cycles,
        ))
    }

    /// The partial of `workload`'s usable `series` (whose votes are `cycles`) on the grid
    /// (`step`, `period`).
    pub fn on_grid(
        workload: WorkloadId,
        series: &[Series],
        step: Interval,
        period: usize,
        cycles: Vec<SeriesCycle>,
    ) -> MemberPartial {
        let period = period.max(1);
        let mut metrics = BTreeMap::new();
        for s in series {
            let values = s.values();
            let Some(level) = MemberLevel::of(workload.clone(), s.key.metric.clone(), &values, 1.0)
            else {
                continue;
            };
            let m = level.mean;
            let ratios = (m > 0.0).then(|| {
                let mut phases = vec![Vec::new(); period];
                for x in s.samples() {
                    phases[phase(x.ts, step, period)].push(x.value / m);
                }
                phases
            });
            metrics.insert(s.key.metric.clone(), MetricPartial { level, ratios });
        }
        MemberPartial {
            workload,
            step,
            period,
            cycles,
            metrics,
        }
    }

    /// Checks a partial read from elsewhere: a period, every metric's phases that many, every
    /// number finite, levels of this workload.
    pub fn check(&self) -> Result<(), LearnError> {
        let bad = |what: &'static str, value: String, reason: &'static str| LearnError::Invalid {
            what,
            value,
            reason,
        };
        if self.period == 0 {
            return Err(bad(
                "profile partial period",
                "0".into(),
                "must be positive",
            ));
        }
        for c in &self.cycles {
            if let Some((ms, share)) = c.cycle {
                if ms <= 0 || !share.is_finite() {
                    return Err(bad(
                        "profile partial cycle",
                        format!("{ms} ms, share {share}"),
                        "must be a positive period with a finite share",
                    ));
                }
            }
        }
        for (metric, p) in &self.metrics {
            let l = &p.level;
            if l.workload != self.workload || &l.metric != metric {
                return Err(bad(
                    "profile partial level",
                    format!("{}/{}", l.workload, l.metric),
                    "must be the partial's own workload and metric",
                ));
            }
            if !l.mean.is_finite() || !l.p95.is_finite() {
                return Err(bad(
                    "profile partial level",
                    format!("mean {} p95 {}", l.mean, l.p95),
                    "must be finite",
                ));
            }
            if let Some(phases) = &p.ratios {
                if phases.len() != self.period {
                    return Err(bad(
                        "profile partial phases",
                        format!("{} for period {}", phases.len(), self.period),
                        "must be one list per phase",
                    ));
                }
                if let Some(v) = phases.iter().flatten().find(|v| !v.is_finite()) {
                    return Err(bad(
                        "profile partial ratio",
                        v.to_string(),
                        "must be finite",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Every metric's profile from the members' partials (all on one grid of `period` phases), in
/// member order; a metric no member has a positive mean of is left out.
pub fn merge_partials(
    partials: &[MemberPartial],
    period: usize,
    alpha: f64,
) -> BTreeMap<MetricName, MetricProfile> {
    let mut by_metric: BTreeMap<&MetricName, Vec<&MetricPartial>> = BTreeMap::new();
    for p in partials {
        for (m, mp) in &p.metrics {
            by_metric.entry(m).or_default().push(mp);
        }
    }
    by_metric
        .into_iter()
        .filter_map(|(m, parts)| metric_profile(&parts, period, alpha).map(|p| (m.clone(), p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build_profile, profile_of, ProfileOptions};
    use prescale_core::{ClusterId, Sample, SeriesKey, Timestamp};

    fn wave(w: &str, base: f64, n: usize) -> Series {
        let key = SeriesKey::new(WorkloadId::new(w).unwrap(), MetricName::new("cpu").unwrap());
        let samples = (0..n)
            .map(|i| Sample {
                ts: Timestamp::from_secs(i as i64 * 60),
                value: base * (1.0 + 0.8 * (2.0 * std::f64::consts::PI * i as f64 / 60.0).sin())
                    + (i % 7) as f64,
            })
            .collect();
        Series::new(key, Default::default(), samples).unwrap()
    }

    #[test]
    fn a_profile_from_published_partials_is_the_profile_from_the_series() {
        let (a, b, c) = (
            wave("a", 10.0, 360),
            wave("b", 50.0, 360),
            wave("c", 20.0, 300),
        );
        let id = |w: &str| WorkloadId::new(w).unwrap();
        let opts = ProfileOptions::default();
        let all = vec![
            (id("a"), vec![a.clone()]),
            (id("b"), vec![b.clone()]),
            (id("c"), vec![c.clone()]),
        ];
        let local = build_profile(Some(ClusterId(1)), &all, &opts).unwrap();
        assert_eq!(local.period, 60, "{:?}", local.period_source);
        // b and c known only by what their owners published
        let pb = MemberPartial::own(id("b"), &[b], &opts).unwrap();
        let pc = MemberPartial::own(id("c"), &[c], &opts).unwrap();
        let wire: MemberPartial =
            serde_json::from_slice(&serde_json::to_vec(&pc).unwrap()).unwrap();
        pb.check().unwrap();
        wire.check().unwrap();
        let merged = profile_of(
            Some(ClusterId(1)),
            &[(id("a"), vec![a])],
            &[&pb, &wire],
            &opts,
        )
        .unwrap();
        assert_eq!(merged, local);
        // no series here at all: the partials alone
        let remote_only = profile_of(Some(ClusterId(1)), &[], &[&pb, &wire], &opts).unwrap();
        assert_eq!(remote_only.members, [id("b"), id("c")]);
        assert_eq!(remote_only.period, 60);
    }

    #[test]
    fn a_bad_partial_is_named() {
        let opts = ProfileOptions::default();
        let mut p =
            MemberPartial::own(WorkloadId::new("a").unwrap(), &[wave("a", 1.0, 120)], &opts)
                .unwrap();
        let m = p.metrics.values_mut().next().unwrap();
        m.ratios.as_mut().unwrap()[0].push(f64::NAN);
        let e = p.check().unwrap_err().to_string();
        assert!(e.contains("profile partial ratio"), "{e}");
        p.period = 3;
        assert!(p.check().unwrap_err().to_string().contains("phases"));
    }
}

//! The cluster-profile reference of `--cold-start`: what the live loop's cold start forecasts from
//! when no fleet model serves a young workload (its cluster's demand shape scaled to its level), so
//! the fleet models' cold start is measured against it in the same run.
//!
//! The "cluster" here is the series' family (the suite entry it came from, e.g. all Bitbrains VMs),
//! leave-series-out like the fleet models: members are the family's series outside this series'
//! fold, each cut to the points the fleet models may train on; a family with no such member falls
//! back to every series outside the fold (the live loop's "profile of the fleet"). Knowing the family
//! is more than clustering fingerprints can know, so this reference is, if anything, flattered.

use super::backtest_fleet::COLD_START_FOLDS;
use prescale_core::{
    Interval, Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId,
};
use prescale_forecast::fleet::Timing;
use prescale_forecast::{cold_start_reference, fleet_training_len, BacktestConfig, Scores};
use prescale_learn::{build_profile, profile_forecast, ClusterProfile, ProfileOptions};
use std::collections::BTreeMap;

/// What the reference needs of one input.
pub struct ProfileJob<'a> {
    pub family: usize,
    pub values: &'a [f64],
    pub season: Option<usize>,
    pub timing: Option<Timing>,
}

/// The one metric name every series is profiled under.
fn metric() -> MetricName {
    MetricName::new("demand").unwrap_or_else(|_| unreachable!("a valid metric name"))
}

/// The profiles of each (fold, family) that asked for one, built once.
#[derive(Default)]
pub struct Profiles {
    built: BTreeMap<(usize, usize), Result<ClusterProfile, String>>,
}

impl Profiles {
    /// Builds the profile every series will borrow (call once, before scoring in parallel).
    pub fn build(jobs: &[ProfileJob<'_>], cfg: &BacktestConfig) -> Profiles {
        let mut built = BTreeMap::new();
        for (i, job) in jobs.iter().enumerate() {
            let fold = i % COLD_START_FOLDS;
            built
                .entry((fold, job.family))
                .or_insert_with(|| profile_for(jobs, fold, job, cfg));
        }
        Profiles { built }
    }

    /// Scores series `i` forecast from only `age` points by its family's profile; `Ok(None)` when
    /// the profile cannot forecast it.
    pub fn score(
        &self,
        jobs: &[ProfileJob<'_>],
        i: usize,
        cfg: &BacktestConfig,
        age: usize,
    ) -> Result<Option<Scores>, String> {
        let job = &jobs[i];
        let Some(timing) = job.timing else {
            return Ok(None);
        };
        let profile = match self.built.get(&(i % COLD_START_FOLDS, job.family)) {
            Some(Ok(p)) => p,
            Some(Err(e)) => return Err(e.clone()),
            None => return Ok(None),
        };
        let step = Interval::from_secs(timing.step).ok_or("no regular step")?;
        let metric = metric();
        cold_start_reference(job.values, cfg, age, |train, start| {
            let last = timing.first + (start + train.len()) as i64 * timing.step - timing.step;
            Ok(profile_forecast(
                profile,
                &metric,
                train,
                Timestamp::from_secs(last),
                step,
                cfg.horizon,
            )
            .ok())
        })
        .map_err(|e| e.to_string())
    }
}

/// The profile of `job`'s family built from the series outside `fold` (every series outside it
/// when the family has none there).
fn profile_for(
    jobs: &[ProfileJob<'_>],
    fold: usize,
    job: &ProfileJob<'_>,
    cfg: &BacktestConfig,
) -> Result<ClusterProfile, String> {
    let outside = |j: usize| j % COLD_START_FOLDS != fold;
    let mut members: Vec<usize> = (0..jobs.len())
        .filter(|&j| outside(j) && jobs[j].family == job.family)
        .collect();
    if members.is_empty() {
        members = (0..jobs.len()).filter(|&j| outside(j)).collect();
    }
    let data: Vec<(WorkloadId, Vec<Series>)> = members
        .iter()
        .filter_map(|&j| {
            let m = &jobs[j];
            let timing = m.timing?;
            let n = fleet_training_len(m.values.len(), cfg);
            let samples = m.values[..n]
                .iter()
                .enumerate()
                .map(|(k, &value)| Sample {
                    ts: Timestamp::from_secs(timing.first + k as i64 * timing.step),
                    value,
                })
                .collect();
            let w = WorkloadId::new(format!("m{j}")).ok()?;
            let key = SeriesKey::new(w.clone(), metric());
            Some((w, vec![Series::new(key, Labels::default(), samples).ok()?]))
        })
        .collect();
    let period = match (job.season, job.timing) {
        (Some(s), Some(t)) => Interval::from_secs(t.step * s as i64),
        _ => None,
    };
    let opts = ProfileOptions {
        period,
        level: cfg.level.percent(),
        ..ProfileOptions::default()
    };
    build_profile(None, &data, &opts).map_err(|e| e.to_string())
}

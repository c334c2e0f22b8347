//! The cold-start rule of a young workload: while its own history is too short to fit, it borrows
//! its nearest cluster's profile (the `like` workload's or labels' cluster, else its own once
//! fingerprinted), scaled to the level of the steps it has — looked up at most once a minute,
//! forecast once per step.

use crate::MemberPartial;
use crate::{cluster_profile_with, nearest_group, profile_forecast, ClusterProfile, Like};
use crate::{ProfileOptions, KMEANS};
use prescale_core::{Forecast, Interval, MetricName, Timestamp, WorkloadId};
use prescale_store::Store;
use std::collections::BTreeMap;

/// How long to wait before looking for a cluster profile again after not finding one.
pub const PROFILE_RETRY_MS: i64 = 60_000;
/// Most of the workload's own latest values the level is scaled from (a day of 5-minute steps).
const OWN_TAIL: usize = 288;

/// What the prior is made for.
#[derive(Debug, Clone, Copy)]
pub struct PriorTarget<'a> {
    pub workload: &'a WorkloadId,
    pub metric: &'a MetricName,
    /// The workload's season (Unix ms), the profile's period when given.
    pub season_ms: Option<i64>,
    pub step_ms: i64,
    /// Steps forecast.
    pub horizon: usize,
}

/// A forecast from the cluster's profile for the step ending at `end`.
#[derive(Debug, Clone)]
pub struct Prior {
    pub end: i64,
    pub forecast: Forecast,
    /// Which profile it came from (`profile of cluster 3 (12 members)`), for the explanation.
    pub label: String,
}

/// One workload's cold-start state: whose cluster it borrows from and what was found.
#[derive(Debug, Clone, Default)]
pub struct ClusterPrior {
    like: Option<Like>,
    profile: Option<(ClusterProfile, String)>,
    checked: Option<Timestamp>,
    last_end: Option<i64>,
}

impl ClusterPrior {
    /// `like`: whose cluster to borrow from; its own nearest when `None`.
    pub fn new(like: Option<Like>) -> ClusterPrior {
        ClusterPrior {
            like,
            ..ClusterPrior::default()
        }
    }

    /// The profile's label once one was found.
    pub fn label(&self) -> Option<&str> {
        self.profile.as_ref().map(|(_, l)| l.as_str())
    }

    /// The prior for the step ending at `end` (the controller's latest; the step holding `now`
    /// when it has none), given the workload's `recent` values: `None` when no profile is found
    /// yet, the profile lacks the metric, or this step already had one. Members whose history
    /// `store` lacks are taken from `published` (their owners' partials, by workload; empty for
    /// a lone instance).
    pub fn next(
        &mut self,
        store: &Store,
        published: &BTreeMap<WorkloadId, MemberPartial>,
        t: &PriorTarget<'_>,
        recent: &[f64],
        end: Option<i64>,
        now: Timestamp,
    ) -> Option<Prior> {
        let due = self
            .checked
            .is_none_or(|c| now.0.saturating_sub(c.0) >= PROFILE_RETRY_MS);
        if self.profile.is_none() && due {
            self.checked = Some(now);
            self.profile = self.find(store, published, t);
        }
        let (profile, label) = self.profile.as_ref()?;
        let step = Interval::from_millis(t.step_ms)?;
        let end = end.unwrap_or(now.0 - now.0.rem_euclid(t.step_ms));
        if self.last_end == Some(end) {
            return None;
        }
        let tail = &recent[recent.len().saturating_sub(OWN_TAIL)..];
        match profile_forecast(
            profile,
            t.metric,
            tail,
            Timestamp(end - t.step_ms),
            step,
            t.horizon,
        ) {
            Ok(forecast) => {
                self.last_end = Some(end);
                Some(Prior {
                    end,
                    forecast,
                    label: label.clone(),
                })
            }
            Err(e) => {
                tracing::debug!(workload = %t.workload, error = %e, "cold-start forecast");
                None
            }
        }
    }

    fn find(
        &self,
        store: &Store,
        published: &BTreeMap<WorkloadId, MemberPartial>,
        t: &PriorTarget<'_>,
    ) -> Option<(ClusterProfile, String)> {
        let like = self
            .like
            .clone()
            .unwrap_or_else(|| Like::Workload(t.workload.clone()));
        let opts = ProfileOptions {
            period: t.season_ms.and_then(Interval::from_millis),
            ..ProfileOptions::default()
        };
        let found = nearest_group(store, &like, KMEANS)
            .and_then(|g| cluster_profile_with(store, g.cluster, &g.members, published, &opts));
        match found {
            Ok(p) if p.metrics.contains_key(t.metric) => {
                let label = match p.cluster {
                    Some(c) => format!("profile of cluster {} ({} members)", c.0, p.members.len()),
                    None => format!("profile of the fleet ({} workloads)", p.members.len()),
                };
                tracing::info!(workload = %t.workload, like = %like, profile = %label, "cold start from a cluster profile");
                Some((p, label))
            }
            Ok(_) => {
                tracing::info!(workload = %t.workload, like = %like, metric = %t.metric, "cold start: the nearest cluster has no such metric");
                None
            }
            Err(e) => {
                tracing::debug!(workload = %t.workload, like = %like, error = %e, "cold start: no cluster profile yet");
                None
            }
        }
    }
}

//! Which models win in each cluster: the model kind each mature member's `auto` chose by
//! cross-validation, tallied per step length and k-means cluster, so a young member starts with
//! its cluster's winner before it has the history to choose for itself.

use prescale_forecast::ModelKind;
use serde::Serialize;
use std::collections::BTreeMap;

/// Fewest mature members that must agree before a kind counts as the cluster's winner.
pub const MIN_VOTES: usize = 2;

/// One controller's model as the control loop reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReport {
    pub workload: String,
    pub step_ms: i64,
    /// The kind its `auto` chose on a full (seasonal) history (for a combination, its
    /// top-ranked member, see [`chosen_kind`]); `None` while it is young.
    pub chosen: Option<ModelKind>,
}

/// What `/api/v1/models` shows of one cluster's tally.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterWinners {
    pub step_ms: i64,
    pub cluster: u32,
    /// Mature members per chosen kind.
    pub votes: BTreeMap<String, usize>,
    /// The kind a young member starts with (most votes, at least [`MIN_VOTES`]).
    pub winner: Option<String>,
}

/// The tallies by (step, cluster).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Winners {
    votes: BTreeMap<(i64, u32), BTreeMap<ModelKind, usize>>,
}

impl Winners {
    /// Tallies the reports of the workloads in `membership` (cluster of each workload).
    pub fn tally(reports: &[ModelReport], membership: &BTreeMap<String, u32>) -> Winners {
        let mut votes: BTreeMap<(i64, u32), BTreeMap<ModelKind, usize>> = BTreeMap::new();
        for r in reports {
            if let (Some(kind), Some(&c)) = (r.chosen, membership.get(&r.workload)) {
                *votes
                    .entry((r.step_ms, c))
                    .or_default()
                    .entry(kind)
                    .or_default() += 1;
            }
        }
        Winners { votes }
    }

    /// The most chosen kind of a cluster at a step (ties: the kind named first), when at least
    /// [`MIN_VOTES`] members chose it.
    pub fn winner(&self, step_ms: i64, cluster: u32) -> Option<ModelKind> {
        let votes = self.votes.get(&(step_ms, cluster))?;
        let (kind, n) = votes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))?;
        (*n >= MIN_VOTES).then_some(*kind)
    }

    /// Every cluster's tally.
    pub fn views(&self) -> Vec<ClusterWinners> {
        self.votes
            .iter()
            .map(|(&(step_ms, cluster), votes)| ClusterWinners {
                step_ms,
                cluster,
                votes: votes.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
                winner: self.winner(step_ms, cluster).map(|k| k.to_string()),
            })
            .collect()
    }
}

/// The kind a controller's model label names (`mstl`, `gbm`, ...), when it was chosen on a full
/// history. A combination (`mean(gbm,ets)`, `median(…)`) lists its members best first by `auto`'s
/// cross-validated error, so it votes for its first member: the one kind a young workload can
/// start with that did best on this member's history. A young path (`gbm-young`, `…@cluster`)
/// names none.
pub fn chosen_kind(label: &str) -> Option<ModelKind> {
    let first = ["mean(", "median("]
        .iter()
        .find_map(|merge| label.strip_prefix(merge)?.strip_suffix(')'))
        .map_or(label, |members| members.split(',').next().unwrap_or(""));
    first.trim().parse().ok().filter(|k| *k != ModelKind::Auto)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(w: &str, chosen: Option<ModelKind>) -> ModelReport {
        ModelReport {
            workload: w.into(),
            step_ms: 60_000,
            chosen,
        }
    }

    #[test]
    fn the_most_chosen_kind_of_a_cluster_wins_with_enough_votes() {
        let membership: BTreeMap<String, u32> = [
            ("a", 0),
            ("b", 0),
            ("c", 0),
            ("d", 1),
            ("e", 1),
            ("young", 0),
        ]
        .map(|(w, c)| (w.to_string(), c))
        .into();
        let reports = vec![
            report("a", Some(ModelKind::Mstl)),
            report("b", Some(ModelKind::Mstl)),
            report("c", Some(ModelKind::Gbm)),
            report("d", Some(ModelKind::Ets)),
            report("e", Some(ModelKind::Theta)),
            report("young", None),
            report("stranger", Some(ModelKind::Gbm)),
        ];
        let w = Winners::tally(&reports, &membership);
        assert_eq!(w.winner(60_000, 0), Some(ModelKind::Mstl));
        assert_eq!(w.winner(60_000, 1), None, "one vote each is no winner");
        assert_eq!(w.winner(300_000, 0), None, "another step length");
        let views = w.views();
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].votes.get("mstl"), Some(&2));
        assert_eq!(views[0].votes.get("gbm"), Some(&1));
        assert_eq!(views[0].winner.as_deref(), Some("mstl"));
    }

    #[test]
    fn young_paths_name_no_kind_and_combinations_their_best_member() {
        assert_eq!(chosen_kind("mstl"), Some(ModelKind::Mstl));
        assert_eq!(chosen_kind("gbm"), Some(ModelKind::Gbm));
        assert_eq!(chosen_kind("gbm-young"), None);
        assert_eq!(chosen_kind("mstl@cluster"), None);
        assert_eq!(chosen_kind("auto"), None);
        assert_eq!(chosen_kind("mean(ets,theta)"), Some(ModelKind::Ets));
        assert_eq!(chosen_kind("median(gbm,gru,ets)"), Some(ModelKind::Gbm));
        assert_eq!(
            chosen_kind("mean(seasonal_naive,ets)"),
            Some(ModelKind::SeasonalNaive)
        );
        // not a combination auto writes: no kind rather than a guess
        assert_eq!(chosen_kind("mean(young,ets)"), None);
        assert_eq!(chosen_kind("mean()"), None);
        assert_eq!(chosen_kind("mean(ets"), None);
        assert_eq!(chosen_kind("max(ets,theta)"), None);
    }

    #[test]
    fn combinations_vote_so_a_cluster_of_ensembles_has_a_winner() {
        // three members whose auto combined, led by gbm twice: gbm wins, where before no member
        // of the cluster voted and it had no winner
        let membership: BTreeMap<String, u32> = [("a", 0), ("b", 0), ("c", 0)]
            .map(|(w, c)| (w.to_string(), c))
            .into();
        let labels = ["median(gbm,ets,theta)", "mean(gbm,mstl)", "mean(mstl,gbm)"];
        let reports: Vec<ModelReport> = ["a", "b", "c"]
            .iter()
            .zip(labels)
            .map(|(w, l)| report(w, chosen_kind(l)))
            .collect();
        let w = Winners::tally(&reports, &membership);
        assert_eq!(w.winner(60_000, 0), Some(ModelKind::Gbm));
        assert_eq!(w.views()[0].votes.get("mstl"), Some(&1));
    }
}

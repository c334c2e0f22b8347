//! Stable cluster ids across re-clustering: match new clusters to old ones.

use prescale_core::{ClusterId, WorkloadId};
use prescale_math::euclidean;
use std::collections::BTreeSet;

/// A cluster from the previous run.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousCluster {
    pub id: ClusterId,
    pub centroid: Vec<f64>,
    pub members: Vec<WorkloadId>,
}

/// Ids for the new clusters (`new_centroids[i]` / `new_members[i]` describe new cluster `i`).
///
/// Greedy matching on the best pairs: first by member overlap (Jaccard > 0, highest first; ties by
/// centroid distance), then the still-unmatched clusters by centroid distance (nearest first; only
/// between centroids of the same length, as a changed PCA makes distances meaningless). Unmatched
/// new clusters get `max(old id) + 1, + 2, …` in their order. Never two new clusters with one id,
/// even when `previous` repeats an id. If the two slices differ in length, the missing parts count
/// as empty.
pub fn stable_ids(
    previous: &[PreviousCluster],
    new_centroids: &[Vec<f64>],
    new_members: &[Vec<WorkloadId>],
) -> Vec<ClusterId> {
    let m = new_centroids.len().max(new_members.len());
    let empty_c: Vec<f64> = Vec::new();
    let empty_m: Vec<WorkloadId> = Vec::new();
    let centroid = |i: usize| new_centroids.get(i).unwrap_or(&empty_c);
    let new_sets: Vec<BTreeSet<&WorkloadId>> = (0..m)
        .map(|i| new_members.get(i).unwrap_or(&empty_m).iter().collect())
        .collect();
    let old_sets: Vec<BTreeSet<&WorkloadId>> = previous
        .iter()
        .map(|p| p.members.iter().collect())
        .collect();
    let distance = |i: usize, o: usize| {
        let (a, b) = (centroid(i), &previous[o].centroid);
        if a.len() == b.len() && !a.is_empty() {
            let d = euclidean(a, b);
            d.is_finite().then_some(d)
        } else {
            None
        }
    };

    // Candidate pairs (new, old) with their scores.
    let mut by_overlap = Vec::new();
    let mut by_distance = Vec::new();
    for (i, new) in new_sets.iter().enumerate() {
        for (o, old) in old_sets.iter().enumerate() {
            let inter = new.intersection(old).count();
            let union = new.len() + old.len() - inter;
            let d = distance(i, o);
            if inter > 0 {
                by_overlap.push((
                    inter as f64 / union as f64,
                    d.unwrap_or(f64::INFINITY),
                    i,
                    o,
                ));
            }
            if let Some(d) = d {
                by_distance.push((d, i, o));
            }
        }
    }
    by_overlap.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

    let mut ids: Vec<Option<ClusterId>> = vec![None; m];
    let mut old_used = vec![false; previous.len()];
    let mut id_used = BTreeSet::new();
    let pairs = by_overlap
        .iter()
        .map(|&(_, _, i, o)| (i, o))
        .chain(by_distance.iter().map(|&(_, i, o)| (i, o)));
    for (i, o) in pairs {
        let id = previous[o].id;
        if ids[i].is_none() && !old_used[o] && !id_used.contains(&id) {
            ids[i] = Some(id);
            old_used[o] = true;
            id_used.insert(id);
        }
    }
    let mut next = previous
        .iter()
        .map(|p| p.id.0.saturating_add(1))
        .max()
        .unwrap_or(0);
    ids.into_iter()
        .map(|id| {
            id.unwrap_or_else(|| {
                while id_used.contains(&ClusterId(next)) {
                    next = next.wrapping_add(1);
                }
                let fresh = ClusterId(next);
                id_used.insert(fresh);
                fresh
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(names: &[&str]) -> Vec<WorkloadId> {
        names.iter().map(|n| WorkloadId::new(*n).unwrap()).collect()
    }

    fn previous() -> Vec<PreviousCluster> {
        vec![
            PreviousCluster {
                id: ClusterId(3),
                centroid: vec![0.0, 0.0],
                members: w(&["a", "b", "c"]),
            },
            PreviousCluster {
                id: ClusterId(7),
                centroid: vec![10.0, 0.0],
                members: w(&["d", "e"]),
            },
            PreviousCluster {
                id: ClusterId(5),
                centroid: vec![0.0, 10.0],
                members: w(&["f", "g", "h"]),
            },
        ]
    }

    #[test]
    fn ids_survive_permutation_and_perturbation() {
        let prev = previous();
        // Same clusters in a different order, centroids nudged, one member moved (c → d's cluster).
        let centroids = vec![vec![0.1, 10.2], vec![0.2, -0.1], vec![9.8, 0.3]];
        let members = vec![w(&["f", "g", "h"]), w(&["a", "b"]), w(&["c", "d", "e"])];
        let ids = stable_ids(&prev, &centroids, &members);
        assert_eq!(ids, vec![ClusterId(5), ClusterId(3), ClusterId(7)]);
    }

    #[test]
    fn centroid_distance_decides_without_overlap_and_new_ids_follow_the_max() {
        let prev = previous();
        // All-new members: matching falls back to centroids; a fourth cluster is new.
        let centroids = vec![
            vec![9.0, 1.0],
            vec![50.0, 50.0],
            vec![1.0, 1.0],
            vec![0.0, 9.0],
        ];
        let members = vec![w(&["x"]), w(&["y"]), w(&["z"]), w(&["q"])];
        let ids = stable_ids(&prev, &centroids, &members);
        // Nearest pairs first: [0, 9]→5 (1.0), [9, 1]→7 and [1, 1]→3 (√2); [50, 50] is new.
        assert_eq!(
            ids,
            vec![ClusterId(7), ClusterId(8), ClusterId(3), ClusterId(5)]
        );
        // No previous clusters: 0, 1, 2.
        assert_eq!(
            stable_ids(&[], &centroids[..3], &members[..3]),
            vec![ClusterId(0), ClusterId(1), ClusterId(2)]
        );
    }

    #[test]
    fn a_split_keeps_the_id_on_the_larger_overlap() {
        let prev = previous();
        let centroids = vec![vec![0.0, -1.0], vec![0.0, 1.0]];
        let members = vec![w(&["a"]), w(&["b", "c"])];
        let ids = stable_ids(&prev[..1], &centroids, &members);
        assert_eq!(ids, vec![ClusterId(4), ClusterId(3)]);
    }

    fn arb_prev() -> impl Strategy<Value = Vec<PreviousCluster>> {
        prop::collection::vec(
            (
                0u32..6,
                prop::collection::vec(-5f64..5.0, 2),
                prop::collection::vec(0u8..8, 0..4),
            ),
            0..6,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(id, centroid, m)| PreviousCluster {
                    id: ClusterId(id),
                    centroid,
                    members: m
                        .into_iter()
                        .map(|x| WorkloadId::new(format!("w{x}")).unwrap())
                        .collect(),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn ids_are_unique(
            prev in arb_prev(),
            new in prop::collection::vec(
                (prop::collection::vec(-5f64..5.0, 2), prop::collection::vec(0u8..8, 0..4)),
                0..8,
            ),
        ) {
            let centroids: Vec<Vec<f64>> = new.iter().map(|n| n.0.clone()).collect();
            let members: Vec<Vec<WorkloadId>> = new
                .iter()
                .map(|n| n.1.iter().map(|x| WorkloadId::new(format!("w{x}")).unwrap()).collect())
                .collect();
            let ids = stable_ids(&prev, &centroids, &members);
            prop_assert_eq!(ids.len(), new.len());
            let set: BTreeSet<_> = ids.iter().collect();
            prop_assert_eq!(set.len(), ids.len());
        }
    }
}

//! DBSCAN (linfa) with eps chosen, when not given, at the knee of the sorted k-distance curve.

use crate::points::{check_points, to_array};
use crate::ClusterError;
use linfa::traits::Transformer;
use linfa::ParamGuard;
use linfa_clustering::Dbscan;
use prescale_math::euclidean;

/// Outcome of DBSCAN.
#[derive(Debug, Clone, PartialEq)]
pub struct DbscanResult {
    /// Neighbourhood radius used (given or chosen at the knee).
    pub eps: f64,
    /// Points (the point itself included) a core point needs within `eps`.
    pub min_points: usize,
    /// Cluster of each point, `None` for noise; clusters are numbered `0..clusters`.
    pub labels: Vec<Option<usize>>,
    pub clusters: usize,
}

/// DBSCAN on `points`. A point is a core point when at least `min_points` (≥ 2) points, itself
/// included, lie within `eps`. With `eps = None`, eps is the knee of the sorted k-distance curve
/// (see [`knee_eps`]).
pub fn dbscan(
    points: &[Vec<f64>],
    eps: Option<f64>,
    min_points: usize,
) -> Result<DbscanResult, ClusterError> {
    let d = check_points(points)?;
    if min_points < 2 {
        return Err(ClusterError::InvalidMinPoints);
    }
    let eps = match eps {
        Some(e) if e.is_finite() && e > 0.0 => e,
        Some(e) => return Err(ClusterError::InvalidEps(e)),
        None => knee_eps(points, min_points),
    };
    let data = to_array(points, d);
    let params = Dbscan::params(min_points)
        .tolerance(eps)
        .check()
        .map_err(|e| ClusterError::Backend(e.to_string()))?;
    let raw = params.transform(&data);
    // Renumber clusters in order of first appearance (linfa already does; this keeps it explicit).
    let mut map: Vec<Option<usize>> = Vec::new();
    let mut next = 0;
    let labels: Vec<Option<usize>> = raw
        .iter()
        .map(|l| {
            l.map(|c| {
                if map.len() <= c {
                    map.resize(c + 1, None);
                }
                *map[c].get_or_insert_with(|| {
                    next += 1;
                    next - 1
                })
            })
        })
        .collect();
    Ok(DbscanResult {
        eps,
        min_points,
        labels,
        clusters: next,
    })
}

/// Distance from every point to its `k`-th nearest other point, sorted ascending.
pub fn k_distances(points: &[Vec<f64>], k: usize) -> Vec<f64> {
    let k = k.max(1);
    let mut out: Vec<f64> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let mut ds: Vec<f64> = points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, q)| euclidean(p, q))
                .collect();
            if ds.is_empty() {
                return None;
            }
            let idx = (k - 1).min(ds.len() - 1);
            ds.select_nth_unstable_by(idx, f64::total_cmp);
            Some(ds[idx])
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// Knee of the sorted `(min_points − 1)`-distance curve (at least the 1st neighbour, matching
/// DBSCAN's core-point rule that counts the point itself): the point furthest below the chord
/// from the first to the last value on normalised axes. Returns a small positive value when all
/// distances are 0.
pub fn knee_eps(points: &[Vec<f64>], min_points: usize) -> f64 {
    let kd = k_distances(points, min_points.saturating_sub(1));
    let floor = f64::EPSILON;
    let (Some(&lo), Some(&hi)) = (kd.first(), kd.last()) else {
        return floor;
    };
    if hi <= lo || kd.len() < 3 {
        return hi.max(floor);
    }
    let last = (kd.len() - 1) as f64;
    let knee = kd
        .iter()
        .enumerate()
        .map(|(i, &v)| (i, i as f64 / last - (v - lo) / (hi - lo)))
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(kd.len() - 1, |(i, _)| i);
    kd[knee].max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::testutil::blobs;
    use proptest::prelude::*;

    fn blobs_and_outliers() -> Vec<Vec<f64>> {
        let mut pts = blobs(&[[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]], 30, 2.0, 7);
        pts.push(vec![50.0, 50.0]);
        pts.push(vec![-40.0, 30.0]);
        pts.push(vec![35.0, -35.0]);
        pts
    }

    #[test]
    fn finds_blobs_and_marks_outliers_with_knee_eps() {
        let pts = blobs_and_outliers();
        let r = dbscan(&pts, None, 4).unwrap();
        assert_eq!(r.clusters, 3, "eps {}", r.eps);
        // Knee eps sits between the blobs' spacing and the blob separation.
        assert!(r.eps > 0.1 && r.eps < 10.0, "eps {}", r.eps);
        assert_eq!(&r.labels[90..], &[None, None, None]);
        for b in 0..3 {
            let l = r.labels[b * 30];
            assert!(l.is_some());
            assert!(r.labels[b * 30..(b + 1) * 30].iter().all(|&x| x == l));
        }
    }

    #[test]
    fn explicit_eps_and_errors() {
        let pts = blobs_and_outliers();
        let all_noise = dbscan(&pts, Some(1e-6), 3).unwrap();
        assert_eq!(all_noise.clusters, 0);
        assert!(all_noise.labels.iter().all(Option::is_none));
        let one = dbscan(&pts, Some(1e3), 3).unwrap();
        assert_eq!(one.clusters, 1);
        assert_eq!(
            dbscan(&pts, Some(-1.0), 3),
            Err(ClusterError::InvalidEps(-1.0))
        );
        assert_eq!(dbscan(&pts, None, 1), Err(ClusterError::InvalidMinPoints));
    }

    #[test]
    fn knee_of_a_hockey_stick() {
        // 1-D: nine points 1 apart, then one far away → the knee is the regular spacing.
        let mut pts: Vec<Vec<f64>> = (0..9).map(|i| vec![i as f64]).collect();
        pts.push(vec![100.0]);
        assert_eq!(knee_eps(&pts, 2), 1.0);
        assert_eq!(k_distances(&pts, 1).last(), Some(&92.0));
        assert_eq!(knee_eps(&[vec![1.0], vec![1.0]], 2), f64::EPSILON);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn labels_cover_every_point(
            pts in prop::collection::vec(prop::collection::vec(-50f64..50.0, 3), 1..40),
            min_points in 2usize..6,
        ) {
            let r = dbscan(&pts, None, min_points).unwrap();
            prop_assert_eq!(r.labels.len(), pts.len());
            prop_assert!(r.labels.iter().flatten().all(|&c| c < r.clusters));
            prop_assert!(r.eps > 0.0 && r.eps.is_finite());
        }
    }
}

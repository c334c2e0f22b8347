//! k-means (linfa, k-means++ init, seeded) with k chosen by the best silhouette.

use crate::points::{check_points, to_array};
use crate::{silhouette, ClusterError};
use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use prescale_math::squared_euclidean;
use rand::{rngs::StdRng, SeedableRng};

/// Largest k tried when k is chosen automatically.
pub const MAX_AUTO_K: usize = 10;
/// k-means restarts per k (the lowest inertia wins).
const RUNS: usize = 10;
const MAX_ITERATIONS: u64 = 300;
const TOLERANCE: f64 = 1e-6;

/// Outcome of k-means.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansResult {
    pub k: usize,
    /// Cluster of each point (index into `centroids`).
    pub labels: Vec<usize>,
    pub centroids: Vec<Vec<f64>>,
    /// Mean silhouette of this clustering; `None` where undefined (e.g. k = 1).
    pub silhouette: Option<f64>,
    /// Sum of squared distances of the points to their centroid.
    pub inertia: f64,
    /// Silhouette of every k tried (only defined ones), ascending k.
    pub silhouette_by_k: Vec<(usize, f64)>,
}

/// k-means on `points`. With `k = None`, every k in `2..=min(10, n − 1)` is tried and the best
/// mean silhouette wins (ties: the smaller k). Deterministic for a given `seed`.
pub fn kmeans(
    points: &[Vec<f64>],
    k: Option<usize>,
    seed: u64,
) -> Result<KMeansResult, ClusterError> {
    let d = check_points(points)?;
    let n = points.len();
    let data = to_array(points, d);
    match k {
        Some(k) => {
            if k == 0 || k > n {
                return Err(ClusterError::InvalidK { k, n });
            }
            let mut r = fit_k(points, &data, k, seed)?;
            r.silhouette_by_k = r.silhouette.map(|s| (k, s)).into_iter().collect();
            Ok(r)
        }
        None => {
            if n < 3 {
                return Err(ClusterError::TooFewPoints { need: 3, got: n });
            }
            let mut best: Option<KMeansResult> = None;
            let mut by_k = Vec::new();
            for k in 2..=MAX_AUTO_K.min(n - 1) {
                let r = fit_k(points, &data, k, seed)?;
                if let Some(s) = r.silhouette {
                    by_k.push((k, s));
                }
                let better = match (&best, r.silhouette) {
                    (None, _) => true,
                    (Some(b), Some(s)) => b.silhouette.is_none_or(|bs| s > bs),
                    (Some(_), None) => false,
                };
                if better {
                    best = Some(r);
                }
            }
            let mut r = best.ok_or(ClusterError::TooFewPoints { need: 3, got: n })?;
            r.silhouette_by_k = by_k;
            Ok(r)
        }
    }
}

/// One k-means fit with `k` clusters; labels, inertia and silhouette computed here.
fn fit_k(
    points: &[Vec<f64>],
    data: &ndarray::Array2<f64>,
    k: usize,
    seed: u64,
) -> Result<KMeansResult, ClusterError> {
    let dataset = DatasetBase::from(data.view());
    let model = KMeans::params_with_rng(k, StdRng::seed_from_u64(seed))
        .n_runs(RUNS)
        .max_n_iterations(MAX_ITERATIONS)
        .tolerance(TOLERANCE)
        .fit(&dataset)
        .map_err(|e| ClusterError::Backend(e.to_string()))?;
    let centroids: Vec<Vec<f64>> = model
        .centroids()
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    let mut labels = Vec::with_capacity(points.len());
    let mut inertia = 0.0;
    for p in points {
        let (c, d2) = centroids
            .iter()
            .enumerate()
            .map(|(c, m)| (c, squared_euclidean(p, m)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .ok_or(ClusterError::Backend(
                "k-means returned no centroids".into(),
            ))?;
        labels.push(c);
        inertia += d2;
    }
    let opt: Vec<Option<usize>> = labels.iter().copied().map(Some).collect();
    Ok(KMeansResult {
        k,
        silhouette: silhouette(points, &opt),
        labels,
        centroids,
        inertia,
        silhouette_by_k: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::testutil::blobs;
    use proptest::prelude::*;

    #[test]
    fn finds_well_separated_blobs_and_picks_k() {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]];
        let pts = blobs(&centres, 25, 1.0, 3);
        let r = kmeans(&pts, None, 42).unwrap();
        assert_eq!(r.k, 4, "{:?}", r.silhouette_by_k);
        assert!(r.silhouette.unwrap() > 0.8);
        assert_eq!(r.silhouette_by_k.first().map(|p| p.0), Some(2));
        assert_eq!(r.silhouette_by_k.last().map(|p| p.0), Some(10));
        // Each blob is one cluster.
        for b in 0..4 {
            let l = r.labels[b * 25];
            assert!(r.labels[b * 25..(b + 1) * 25].iter().all(|&x| x == l));
        }
        let mut distinct = r.labels.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 4);
        // Same seed, same answer.
        assert_eq!(kmeans(&pts, None, 42).unwrap(), r);
    }

    #[test]
    fn explicit_k_and_errors() {
        let pts = blobs(&[[0.0, 0.0], [5.0, 5.0]], 10, 0.5, 1);
        let r = kmeans(&pts, Some(2), 1).unwrap();
        assert_eq!(r.centroids.len(), 2);
        assert_eq!(r.silhouette_by_k.len(), 1);
        let one = kmeans(&pts, Some(1), 1).unwrap();
        assert_eq!(one.silhouette, None);
        assert!(one.inertia > r.inertia);
        assert_eq!(
            kmeans(&pts, Some(0), 1),
            Err(ClusterError::InvalidK { k: 0, n: 20 })
        );
        assert!(kmeans(&pts, Some(21), 1).is_err());
        assert!(kmeans(&pts[..2], None, 1).is_err());
        assert_eq!(kmeans(&[], None, 1), Err(ClusterError::NoPoints));
    }

    #[test]
    fn identical_points_do_not_panic() {
        let pts = vec![vec![1.0, 1.0]; 6];
        let r = kmeans(&pts, None, 3).unwrap();
        assert_eq!(r.labels.len(), 6);
        assert_eq!(r.inertia, 0.0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn labels_cover_every_point(
            pts in prop::collection::vec(prop::collection::vec(-50f64..50.0, 2), 3..30),
            seed in 0u64..1000,
        ) {
            let r = kmeans(&pts, None, seed).unwrap();
            prop_assert_eq!(r.labels.len(), pts.len());
            prop_assert!(r.labels.iter().all(|&l| l < r.k));
            prop_assert!(r.inertia.is_finite() && r.inertia >= 0.0);
        }
    }
}

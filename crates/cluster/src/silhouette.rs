//! Cluster quality (mean silhouette) and cluster centroids from labels.

use prescale_math::euclidean;

/// Mean silhouette coefficient over the labelled (non-noise) points, Euclidean distance.
///
/// A point alone in its cluster scores 0. `None` when it is undefined: fewer than two clusters, as
/// many clusters as labelled points, or `labels.len() != points.len()`.
pub fn silhouette(points: &[Vec<f64>], labels: &[Option<usize>]) -> Option<f64> {
    if points.len() != labels.len() {
        return None;
    }
    let idx: Vec<(usize, usize)> = labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.map(|c| (i, c)))
        .collect();
    let k = idx.iter().map(|&(_, c)| c + 1).max()?;
    let mut sizes = vec![0usize; k];
    for &(_, c) in &idx {
        sizes[c] += 1;
    }
    let clusters = sizes.iter().filter(|&&s| s > 0).count();
    if clusters < 2 || clusters >= idx.len() {
        return None;
    }
    let mut total = 0.0;
    let mut sums = vec![0.0; k];
    for &(i, ci) in &idx {
        if sizes[ci] == 1 {
            continue; // s(i) = 0
        }
        sums.iter_mut().for_each(|s| *s = 0.0);
        for &(j, cj) in &idx {
            if i != j {
                sums[cj] += euclidean(&points[i], &points[j]);
            }
        }
        let a = sums[ci] / (sizes[ci] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != ci && sizes[c] > 0)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let m = a.max(b);
        if m > 0.0 && m.is_finite() {
            total += (b - a) / m;
        }
    }
    Some(total / idx.len() as f64)
}

/// Centroid (coordinate-wise mean) of each label `0..=max label`; noise (`None`) is ignored. A
/// label with no members gets an empty vector. Points are assumed to share one length.
pub fn centroids_of(points: &[Vec<f64>], labels: &[Option<usize>]) -> Vec<Vec<f64>> {
    let k = labels.iter().flatten().map(|&c| c + 1).max().unwrap_or(0);
    let d = points.first().map_or(0, Vec::len);
    let mut sums = vec![vec![0.0; d]; k];
    let mut counts = vec![0usize; k];
    for (p, l) in points.iter().zip(labels) {
        if let Some(c) = *l {
            counts[c] += 1;
            for (s, x) in sums[c].iter_mut().zip(p) {
                *s += x;
            }
        }
    }
    sums.into_iter()
        .zip(counts)
        .map(|(s, n)| {
            if n == 0 {
                Vec::new()
            } else {
                s.into_iter().map(|x| x / n as f64).collect()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Two pairs on a line: {0, 1} and {10, 11}.
        let pts: Vec<Vec<f64>> = [0.0, 1.0, 10.0, 11.0].iter().map(|&x| vec![x]).collect();
        let labels = [Some(0), Some(0), Some(1), Some(1)];
        // Point 0: a = 1, b = (10 + 11) / 2 = 10.5 → s = 9.5 / 10.5; point 1: a = 1, b = 9.5 → 8.5/9.5.
        let expect = 2.0 * (9.5 / 10.5 + 8.5 / 9.5) / 4.0;
        assert!((silhouette(&pts, &labels).unwrap() - expect).abs() < 1e-12);
        // Noise is ignored; a single cluster is undefined.
        let with_noise = [Some(0), Some(0), Some(1), None];
        assert!(silhouette(&pts, &with_noise).is_some());
        assert_eq!(silhouette(&pts, &[Some(0); 4]), None);
        assert_eq!(silhouette(&pts, &[Some(0)]), None);
        assert_eq!(centroids_of(&pts, &labels), vec![vec![0.5], vec![10.5]]);
        assert_eq!(
            centroids_of(&pts, &[Some(2), None, Some(2), None]),
            vec![vec![], vec![], vec![5.0]]
        );
    }
}

//! Validation of point sets and conversion to the ndarray layout linfa expects.

use crate::ClusterError;
use ndarray::Array2;

/// Checks that `points` is non-empty, every point has the same non-zero length and all
/// coordinates are finite; returns the dimension.
pub(crate) fn check_points(points: &[Vec<f64>]) -> Result<usize, ClusterError> {
    let first = points.first().ok_or(ClusterError::NoPoints)?;
    let d = first.len();
    if d == 0 {
        return Err(ClusterError::ZeroDimension);
    }
    for (index, p) in points.iter().enumerate() {
        if p.len() != d {
            return Err(ClusterError::Dimension {
                index,
                expected: d,
                got: p.len(),
            });
        }
        if let Some((coord, &value)) = p.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ClusterError::NonFinite {
                index,
                coord,
                value,
            });
        }
    }
    Ok(d)
}

/// Row-major matrix of validated points.
pub(crate) fn to_array(points: &[Vec<f64>], d: usize) -> Array2<f64> {
    Array2::from_shape_fn((points.len(), d), |(i, j)| points[i][j])
}

#[cfg(test)]
pub(crate) mod testutil {
    /// Deterministic uniform noise in [-0.5, 0.5) (64-bit LCG).
    pub fn uniform(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    /// `per` points around each centre with uniform noise of width `spread`.
    pub fn blobs(centres: &[[f64; 2]], per: usize, spread: f64, seed: u64) -> Vec<Vec<f64>> {
        let mut s = seed;
        centres
            .iter()
            .flat_map(|c| {
                (0..per)
                    .map(|_| {
                        vec![
                            c[0] + spread * uniform(&mut s),
                            c[1] + spread * uniform(&mut s),
                        ]
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_sets() {
        assert_eq!(check_points(&[]), Err(ClusterError::NoPoints));
        assert_eq!(check_points(&[vec![]]), Err(ClusterError::ZeroDimension));
        assert!(matches!(
            check_points(&[vec![1.0], vec![1.0, 2.0]]),
            Err(ClusterError::Dimension { index: 1, .. })
        ));
        assert!(matches!(
            check_points(&[vec![1.0, f64::NAN]]),
            Err(ClusterError::NonFinite {
                index: 0,
                coord: 1,
                ..
            })
        ));
        assert_eq!(check_points(&[vec![1.0, 2.0]]), Ok(2));
    }
}

//! Nearest-cluster lookup for one fingerprint.

use crate::ClusterError;
use prescale_core::ClusterId;
use prescale_math::euclidean;

/// The nearest cluster of a point, its distance, and the second nearest.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub cluster: ClusterId,
    pub distance: f64,
    pub runner_up: Option<(ClusterId, f64)>,
}

/// Assigns `point` to the cluster with the nearest centroid (Euclidean; ties: the earlier entry).
pub fn assign_nearest(
    point: &[f64],
    clusters: &[(ClusterId, Vec<f64>)],
) -> Result<Assignment, ClusterError> {
    if clusters.is_empty() {
        return Err(ClusterError::NoClusters);
    }
    if let Some((coord, &value)) = point.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ClusterError::NonFinite {
            index: 0,
            coord,
            value,
        });
    }
    let mut ranked = Vec::with_capacity(clusters.len());
    for (id, c) in clusters {
        if c.len() != point.len() {
            return Err(ClusterError::CentroidDimension {
                cluster: id.to_string(),
                expected: point.len(),
                got: c.len(),
            });
        }
        ranked.push((*id, euclidean(point, c)));
    }
    // Stable sort keeps the earlier entry first on equal distances.
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (cluster, distance) = ranked[0];
    Ok(Assignment {
        cluster,
        distance,
        runner_up: ranked.get(1).copied(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        let clusters = vec![
            (ClusterId(1), vec![0.0, 0.0]),
            (ClusterId(2), vec![3.0, 4.0]),
            (ClusterId(9), vec![10.0, 10.0]),
        ];
        let a = assign_nearest(&[3.0, 3.0], &clusters).unwrap();
        assert_eq!(a.cluster, ClusterId(2));
        assert!((a.distance - 1.0).abs() < 1e-12);
        let (ru, rd) = a.runner_up.unwrap();
        assert_eq!(ru, ClusterId(1));
        assert!((rd - 18f64.sqrt()).abs() < 1e-12);
        let single = assign_nearest(&[0.0, 0.0], &clusters[..1]).unwrap();
        assert_eq!(single.runner_up, None);
        assert_eq!(single.distance, 0.0);
    }

    #[test]
    fn errors() {
        assert_eq!(assign_nearest(&[1.0], &[]), Err(ClusterError::NoClusters));
        assert!(matches!(
            assign_nearest(&[1.0], &[(ClusterId(0), vec![1.0, 2.0])]),
            Err(ClusterError::CentroidDimension { .. })
        ));
        assert!(assign_nearest(&[f64::NAN], &[(ClusterId(0), vec![1.0])]).is_err());
    }
}

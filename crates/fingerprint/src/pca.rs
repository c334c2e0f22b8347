//! Principal component analysis by symmetric eigen-decomposition.
//!
//! Own code rather than `linfa_reduction::Pca`: linfa's PCA (LOBPCG truncated SVD) reports
//! explained-variance ratios normalised over the *kept* components only (we need them over all
//! components to pick how many to keep), cannot return all components of a rank-deficient matrix
//! (fleets have fewer workloads than features), and is not serialisable without extra features.
//! Here the eigen-decomposition (`linfa_linalg::eigh`, pure Rust) runs on the smaller of the
//! covariance (d × d) and the Gram matrix (n × n, the "dual" trick for n < d).

use crate::FingerprintError;
use linfa_linalg::eigh::Eigh;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// How many components to keep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum PcaTarget {
    /// The fewest leading components whose explained-variance ratios sum to at least this share.
    VarianceShare(f64),
    /// Exactly this many (clipped to the number of components with non-zero variance).
    Components(usize),
}

/// A fitted PCA projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    /// Column means of the training rows.
    pub mean: Vec<f64>,
    /// Unit principal axes, strongest first: `max(kept, 2)` of them where available.
    pub axes: Vec<Vec<f64>>,
    /// Share of the total variance per component, strongest first, for every component with
    /// non-zero variance (at most `min(n − 1, d)`); sums to 1.
    pub explained_variance_ratio: Vec<f64>,
    /// Number of components [`Pca::transform`] returns.
    pub kept: usize,
}

impl Pca {
    /// Fits on `rows` (at least 2, same length, finite).
    pub fn fit(rows: &[Vec<f64>], target: PcaTarget) -> Result<Pca, FingerprintError> {
        let n = rows.len();
        if n < 2 {
            return Err(FingerprintError::TooFew { need: 2, got: n });
        }
        let d = rows[0].len();
        check_rows(rows, d)?;
        match target {
            PcaTarget::VarianceShare(t) if t.is_nan() || t <= 0.0 || t > 1.0 => {
                return Err(FingerprintError::Parameter {
                    what: "PCA variance share",
                    value: t,
                })
            }
            PcaTarget::Components(0) => {
                return Err(FingerprintError::Parameter {
                    what: "PCA components",
                    value: 0.0,
                })
            }
            _ => {}
        }
        let mean: Vec<f64> = (0..d)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        let x = Array2::from_shape_fn((n, d), |(i, j)| rows[i][j] - mean[j]);
        let (values, axes) = eigen_axes(&x)?;
        let total: f64 = values.iter().sum();
        if total <= 0.0 || values.is_empty() {
            return Err(FingerprintError::NoVariance);
        }
        let ratio: Vec<f64> = values.iter().map(|v| v / total).collect();
        let kept = match target {
            PcaTarget::Components(c) => c.min(ratio.len()),
            PcaTarget::VarianceShare(t) => {
                let mut acc = 0.0;
                ratio
                    .iter()
                    .position(|r| {
                        acc += r;
                        acc >= t - 1e-12
                    })
                    .map_or(ratio.len(), |i| i + 1)
            }
        };
        let stored = kept.max(2).min(axes.len());
        Ok(Pca {
            mean,
            axes: axes.into_iter().take(stored).collect(),
            explained_variance_ratio: ratio,
            kept,
        })
    }

    /// Number of input columns.
    pub fn dims(&self) -> usize {
        self.mean.len()
    }

    /// Coordinates of `row` on the first `n` axes.
    fn project(&self, row: &[f64], n: usize) -> Result<Vec<f64>, FingerprintError> {
        if row.len() != self.dims() {
            return Err(FingerprintError::Dimension {
                row: 0,
                expected: self.dims(),
                got: row.len(),
            });
        }
        Ok(self
            .axes
            .iter()
            .take(n)
            .map(|axis| {
                axis.iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(a, (x, m))| a * (x - m))
                    .sum()
            })
            .collect())
    }

    /// Coordinates of `row` on the kept components.
    pub fn transform(&self, row: &[f64]) -> Result<Vec<f64>, FingerprintError> {
        self.project(row, self.kept)
    }

    /// Mean squared difference per column between `row` and its reconstruction from the kept
    /// components: the share of the row the fingerprint does not describe.
    pub fn reconstruction_error(&self, row: &[f64]) -> Result<f64, FingerprintError> {
        let coords = self.project(row, self.kept)?;
        let mut residual: Vec<f64> = row.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        for (c, axis) in coords.iter().zip(&self.axes) {
            for (r, a) in residual.iter_mut().zip(axis) {
                *r -= c * a;
            }
        }
        Ok(residual.iter().map(|r| r * r).sum::<f64>() / self.dims().max(1) as f64)
    }

    /// Coordinates of `row` on the first two components (0 where only one exists).
    pub fn transform2(&self, row: &[f64]) -> Result<[f64; 2], FingerprintError> {
        let p = self.project(row, 2)?;
        Ok([
            p.first().copied().unwrap_or(0.0),
            p.get(1).copied().unwrap_or(0.0),
        ])
    }
}

/// Every row is `d` long and finite; the first that is not is named (row, index, value).
pub(crate) fn check_rows<R: AsRef<[f64]>>(rows: &[R], d: usize) -> Result<(), FingerprintError> {
    for (row, r) in rows.iter().enumerate() {
        let r = r.as_ref();
        if r.len() != d {
            return Err(FingerprintError::Dimension {
                row,
                expected: d,
                got: r.len(),
            });
        }
        if let Some((index, &value)) = r.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(FingerprintError::NonFinite {
                what: format!("row {row}"),
                index,
                value,
            });
        }
    }
    Ok(())
}

/// Non-zero eigenvalues of `XᵀX` (descending) and their unit eigenvectors, for centred `x`.
fn eigen_axes(x: &Array2<f64>) -> Result<(Vec<f64>, Vec<Vec<f64>>), FingerprintError> {
    let (n, d) = x.dim();
    let dual = n < d;
    let m = if dual { x.dot(&x.t()) } else { x.t().dot(x) };
    let (vals, vecs) = m
        .eigh()
        .map_err(|e| FingerprintError::Linalg(e.to_string()))?;
    let mut order: Vec<usize> = (0..vals.len()).collect();
    order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
    let largest = order.first().map_or(0.0, |&i| vals[i].max(0.0));
    let tol = largest * 1e-12 * n.max(d) as f64;
    let mut values = Vec::new();
    let mut axes = Vec::new();
    for i in order {
        let lambda = vals[i];
        if lambda.is_nan() || lambda <= tol || lambda.is_infinite() {
            break;
        }
        let mut axis: Vec<f64> = if dual {
            // v = Xᵀu / ‖Xᵀu‖ (= Xᵀu / √λ in exact arithmetic).
            let u = vecs.column(i);
            x.t().dot(&u).to_vec()
        } else {
            vecs.column(i).to_vec()
        };
        let norm = axis.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 0.0 {
            continue;
        }
        // Deterministic sign: the largest-magnitude coefficient is positive.
        let pivot = axis
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()).then(b.0.cmp(&a.0)))
            .map_or(1.0, |(_, v)| v.signum());
        for a in &mut axis {
            *a *= pivot / norm;
        }
        values.push(lambda);
        axes.push(axis);
    }
    Ok((values, axes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn recovers_known_covariance_exactly() {
        // Points ±3u and ±1v with u ⟂ v: variances 9·2 : 1·2 → ratios 0.9, 0.1; leading axis u.
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let (u, v) = ([s, s], [s, -s]);
        let rows = vec![
            vec![3.0 * u[0], 3.0 * u[1]],
            vec![-3.0 * u[0], -3.0 * u[1]],
            vec![v[0], v[1]],
            vec![-v[0], -v[1]],
        ];
        let pca = Pca::fit(&rows, PcaTarget::VarianceShare(0.95)).unwrap();
        assert_eq!(pca.explained_variance_ratio.len(), 2);
        assert!((pca.explained_variance_ratio[0] - 0.9).abs() < 1e-12);
        assert!((pca.explained_variance_ratio[1] - 0.1).abs() < 1e-12);
        assert_eq!(pca.kept, 2);
        assert!((pca.axes[0][0] - s).abs() < 1e-12 && (pca.axes[0][1] - s).abs() < 1e-12);
        let p = pca.transform(&rows[0]).unwrap();
        assert!((p[0] - 3.0).abs() < 1e-12 && p[1].abs() < 1e-12);
        assert!(pca.reconstruction_error(&rows[0]).unwrap() < 1e-24);
        let only = Pca::fit(&rows, PcaTarget::VarianceShare(0.9)).unwrap();
        assert_eq!(only.kept, 1);
        // Kept: u only. Row 2 is all v, length 1 in 2 columns: error 1 / 2; row 0 lies on u.
        assert!((only.reconstruction_error(&rows[2]).unwrap() - 0.5).abs() < 1e-12);
        assert!(only.reconstruction_error(&rows[0]).unwrap() < 1e-24);
        assert_eq!(only.transform(&rows[2]).unwrap().len(), 1);
        let m2 = only.transform2(&rows[2]).unwrap();
        assert!(m2[0].abs() < 1e-12 && (m2[1].abs() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn sampled_gaussian_with_known_covariance() {
        // 3-D data with standard deviations 4, 2, 1 along a rotated basis.
        let mut seed = 1u64;
        let mut gauss = || {
            // Sum of 12 uniforms − 6: approximately standard normal, deterministic.
            (0..12)
                .map(|_| crate::testutil::uniform(&mut seed))
                .sum::<f64>()
                - 6.0
        };
        let c = 0.6f64;
        let s = 0.8f64;
        let basis = [[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]];
        let sd = [4.0, 2.0, 1.0];
        let rows: Vec<Vec<f64>> = (0..4000)
            .map(|_| {
                let z = [gauss() * sd[0], gauss() * sd[1], gauss() * sd[2]];
                (0..3)
                    .map(|j| (0..3).map(|k| z[k] * basis[k][j]).sum::<f64>() + 10.0)
                    .collect()
            })
            .collect();
        let pca = Pca::fit(&rows, PcaTarget::Components(3)).unwrap();
        let expect = [16.0 / 21.0, 4.0 / 21.0, 1.0 / 21.0];
        for (r, e) in pca.explained_variance_ratio.iter().zip(expect) {
            assert!((r - e).abs() < 0.02, "{:?}", pca.explained_variance_ratio);
        }
        let dot: f64 = pca.axes[0].iter().zip(basis[0]).map(|(a, b)| a * b).sum();
        assert!(dot.abs() > 0.995, "{:?}", pca.axes[0]);
    }

    #[test]
    fn dual_and_direct_paths_agree() {
        let mut seed = 9u64;
        let wide: Vec<Vec<f64>> = (0..5)
            .map(|_| {
                (0..8)
                    .map(|_| crate::testutil::uniform(&mut seed))
                    .collect()
            })
            .collect();
        let a = Pca::fit(&wide, PcaTarget::Components(10)).unwrap();
        // Repeating the rows makes n > d (direct path) with the same covariance shape.
        let tall: Vec<Vec<f64>> = wide.iter().cycle().take(10).cloned().collect();
        let b = Pca::fit(&tall, PcaTarget::Components(10)).unwrap();
        assert_eq!(a.explained_variance_ratio.len(), 4);
        assert_eq!(b.explained_variance_ratio.len(), 4);
        for (x, y) in a
            .explained_variance_ratio
            .iter()
            .zip(&b.explained_variance_ratio)
        {
            assert!((x - y).abs() < 1e-9);
        }
        for (ax, bx) in a.axes.iter().zip(&b.axes) {
            let dot: f64 = ax.iter().zip(bx).map(|(p, q)| p * q).sum();
            assert!((dot - 1.0).abs() < 1e-9, "{dot}");
        }
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert!(matches!(
            Pca::fit(&[vec![1.0, 2.0]], PcaTarget::Components(1)),
            Err(FingerprintError::TooFew { .. })
        ));
        assert!(matches!(
            Pca::fit(&[vec![1.0, 2.0], vec![1.0, 2.0]], PcaTarget::Components(1)),
            Err(FingerprintError::NoVariance)
        ));
        assert!(Pca::fit(&[vec![1.0], vec![1.0, 2.0]], PcaTarget::Components(1)).is_err());
    }

    proptest! {
        #[test]
        fn ratios_sum_to_one_and_kept_within_bounds(
            rows in prop::collection::vec(prop::collection::vec(-100f64..100.0, 4), 2..20),
            t in 0.05f64..1.0,
        ) {
            if let Ok(p) = Pca::fit(&rows, PcaTarget::VarianceShare(t)) {
                let sum: f64 = p.explained_variance_ratio.iter().sum();
                prop_assert!((sum - 1.0).abs() < 1e-9);
                prop_assert!(p.kept >= 1 && p.kept <= p.explained_variance_ratio.len());
                prop_assert!(p.explained_variance_ratio.len() <= 4.min(rows.len() - 1));
                for r in &rows {
                    prop_assert!(p.transform(r).unwrap().iter().all(|v| v.is_finite()));
                }
            }
        }
    }
}

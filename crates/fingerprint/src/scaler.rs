//! Robust per-column scaling: subtract the median, divide by the interquartile range, then compress the
//! tails with `asinh` so a few extreme workloads cannot own the PCA (linear near 0, logarithmic beyond ±1).

use crate::FingerprintError;
use prescale_math::{median, quantile};
use serde::{Deserialize, Serialize};

/// Scaled values are clipped to ±`CLIP` so one extreme workload (e.g. a column whose IQR is 0 and
/// so keeps raw units) cannot dominate the PCA that follows.
pub const CLIP: f64 = 100.0;

/// Median / IQR scaler fitted per column. A column whose IQR is 0 gets scale 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustScaler {
    /// Column medians (also the value a missing feature is imputed with).
    pub center: Vec<f64>,
    /// Column interquartile ranges (1 where the IQR is 0).
    pub scale: Vec<f64>,
}

impl RobustScaler {
    /// Fits on complete rows (all the same length, finite).
    pub fn fit(rows: &[Vec<f64>]) -> Result<Self, FingerprintError> {
        let sparse: Vec<Vec<Option<f64>>> = rows
            .iter()
            .map(|r| r.iter().copied().map(Some).collect())
            .collect();
        Self::fit_sparse(&sparse)
    }

    /// Fits on rows with missing cells: each column's median and IQR come from its present values.
    /// A column with no present value gets center 0 and scale 1.
    pub fn fit_sparse(rows: &[Vec<Option<f64>>]) -> Result<Self, FingerprintError> {
        let first = rows
            .first()
            .ok_or(FingerprintError::TooFew { need: 1, got: 0 })?;
        let dims = first.len();
        for (row, r) in rows.iter().enumerate() {
            if r.len() != dims {
                return Err(FingerprintError::Dimension {
                    row,
                    expected: dims,
                    got: r.len(),
                });
            }
            if let Some((index, value)) = r
                .iter()
                .enumerate()
                .find_map(|(i, v)| v.filter(|x| !x.is_finite()).map(|x| (i, x)))
            {
                return Err(FingerprintError::NonFinite {
                    what: format!("row {row}"),
                    index,
                    value,
                });
            }
        }
        let mut center = Vec::with_capacity(dims);
        let mut scale = Vec::with_capacity(dims);
        let mut column = Vec::with_capacity(rows.len());
        for j in 0..dims {
            column.clear();
            column.extend(rows.iter().filter_map(|r| r[j]));
            center.push(median(&column).unwrap_or(0.0));
            let iqr = match (quantile(&column, 0.75), quantile(&column, 0.25)) {
                (Some(hi), Some(lo)) => hi - lo,
                _ => 0.0,
            };
            scale.push(if iqr.is_finite() && iqr > 0.0 {
                iqr
            } else if iqr.is_infinite() {
                f64::MAX
            } else {
                1.0
            });
        }
        Ok(RobustScaler { center, scale })
    }

    /// Number of columns.
    pub fn dims(&self) -> usize {
        self.center.len()
    }

    /// Scales one row: `asinh(clip((x − median) / IQR, ±CLIP))`.
    pub fn transform(&self, row: &[f64]) -> Result<Vec<f64>, FingerprintError> {
        if row.len() != self.dims() {
            return Err(FingerprintError::Dimension {
                row: 0,
                expected: self.dims(),
                got: row.len(),
            });
        }
        Ok(row
            .iter()
            .zip(self.center.iter().zip(&self.scale))
            .map(|(x, (c, s))| {
                let z = (x - c) / s;
                if z.is_nan() {
                    0.0
                } else {
                    z.clamp(-CLIP, CLIP).asinh()
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Column 0: 1..=5 → median 3, q25 2, q75 4 → IQR 2. Column 1 constant → scale 1.
        let rows: Vec<Vec<f64>> = (1..=5).map(|i| vec![i as f64, 7.0]).collect();
        let s = RobustScaler::fit(&rows).unwrap();
        assert_eq!(s.center, vec![3.0, 7.0]);
        assert_eq!(s.scale, vec![2.0, 1.0]);
        assert_eq!(
            s.transform(&[5.0, 9.0]).unwrap(),
            vec![1f64.asinh(), 2f64.asinh()]
        );
        assert_eq!(s.transform(&[1e9, 7.0]).unwrap(), vec![CLIP.asinh(), 0.0]);
        assert!(s.transform(&[1.0]).is_err());
    }

    #[test]
    fn sparse_columns_use_present_values() {
        let rows = vec![
            vec![Some(1.0), None],
            vec![Some(2.0), Some(10.0)],
            vec![Some(3.0), Some(20.0)],
            vec![Some(4.0), None],
        ];
        let s = RobustScaler::fit_sparse(&rows).unwrap();
        assert_eq!(s.center, vec![2.5, 15.0]);
        assert_eq!(s.scale, vec![1.5, 5.0]);
        assert!(RobustScaler::fit(&[]).is_err());
        assert!(RobustScaler::fit(&[vec![1.0], vec![1.0, 2.0]]).is_err());
    }
}

//! A dense row-major feature matrix; NaN marks a missing value.

use super::GbmError;

/// Rows of `cols` features each, stored row after row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// An empty matrix whose rows will have `cols` features.
    pub fn new(cols: usize) -> Matrix {
        Matrix {
            cols,
            data: Vec::new(),
        }
    }

    /// Appends one row; fails when its length differs from the matrix's or a value is infinite.
    pub fn push(&mut self, row: &[f64]) -> Result<(), GbmError> {
        if row.len() != self.cols {
            return Err(GbmError::FeatureCount {
                expected: self.cols,
                got: row.len(),
            });
        }
        if let Some(feature) = row.iter().position(|v| v.is_infinite()) {
            return Err(GbmError::InfiniteFeature {
                row: self.rows(),
                feature,
            });
        }
        self.data.extend_from_slice(row);
        Ok(())
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.cols).unwrap_or(0)
    }

    /// Features per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` (panics past the end, like slice indexing; callers index rows they counted).
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Value of feature `f` in row `i`.
    pub fn get(&self, i: usize, f: usize) -> f64 {
        self.data[i * self.cols + f]
    }
}

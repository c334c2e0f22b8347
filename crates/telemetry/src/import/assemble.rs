//! Turns rows in file order into time-ordered columns: stable sort, duplicates merged by their mean.

use prescale_math::mean;

/// Rows in file order: one timestamp per row and one value per column per row.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub ts: Vec<i64>,
    pub cols: Vec<Vec<f64>>,
    /// Rows whose timestamp was earlier than the row before.
    pub descents: usize,
}

/// Time-ordered, duplicate-free columns.
#[derive(Debug)]
pub(crate) struct Merged {
    pub ts: Vec<i64>,
    pub cols: Vec<Vec<f64>>,
    /// Rows merged into an earlier row with the same timestamp.
    pub merged: usize,
}

impl Columns {
    pub(crate) fn with_columns(n: usize) -> Self {
        Columns {
            ts: Vec::new(),
            cols: vec![Vec::new(); n],
            descents: 0,
        }
    }

    /// Appends one row; `values.len()` must equal the column count.
    pub(crate) fn push(&mut self, ts: i64, values: &[f64]) {
        if self.ts.last().is_some_and(|&last| ts < last) {
            self.descents += 1;
        }
        self.ts.push(ts);
        for (col, &v) in self.cols.iter_mut().zip(values) {
            col.push(v);
        }
    }

    /// Sorts rows by time (stable) and merges rows that share a timestamp into their mean.
    pub(crate) fn finish(self) -> Merged {
        let mut order: Vec<usize> = (0..self.ts.len()).collect();
        if self.descents > 0 {
            order.sort_by_key(|&i| self.ts[i]);
        }
        let mut ts = Vec::with_capacity(order.len());
        let mut cols = vec![Vec::with_capacity(order.len()); self.cols.len()];
        let mut merged = 0;
        let mut group = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let t = self.ts[order[start]];
            let mut end = start + 1;
            while end < order.len() && self.ts[order[end]] == t {
                end += 1;
            }
            merged += end - start - 1;
            ts.push(t);
            for (out, col) in cols.iter_mut().zip(&self.cols) {
                let v = if end - start == 1 {
                    col[order[start]]
                } else {
                    group.clear();
                    group.extend(order[start..end].iter().map(|&i| col[i]));
                    merged_value(&group)
                };
                out.push(v);
            }
            start = end;
        }
        Merged { ts, cols, merged }
    }
}

/// Mean of duplicates; scaled first when the plain sum of finite values would overflow.
fn merged_value(group: &[f64]) -> f64 {
    match mean(group) {
        Some(m) if m.is_finite() => m,
        _ => {
            let n = group.len() as f64;
            group.iter().map(|v| v / n).sum()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_merges_duplicates() {
        let mut c = Columns::with_columns(2);
        for (t, a, b) in [
            (3, 30.0, 1.0),
            (1, 10.0, 2.0),
            (3, 50.0, 3.0),
            (2, 20.0, 4.0),
        ] {
            c.push(t, &[a, b]);
        }
        assert_eq!(c.descents, 2);
        let m = c.finish();
        assert_eq!(m.ts, [1, 2, 3]);
        assert_eq!(m.cols[0], [10.0, 20.0, 40.0]);
        assert_eq!(m.cols[1], [2.0, 4.0, 2.0]);
        assert_eq!(m.merged, 1);
    }

    #[test]
    fn mean_of_huge_duplicates_stays_finite() {
        assert_eq!(merged_value(&[f64::MAX, f64::MAX]), f64::MAX);
    }
}

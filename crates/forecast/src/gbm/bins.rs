//! Per-feature quantile cut points and the binned (column-major, one byte a value) training matrix.
//!
//! Bin 0 holds missing values (NaN); bin `b ≥ 1` holds values in `(cut[b-2], cut[b-1]]`, the last bin
//! everything above the last cut. A split "left if bin ≤ b" is the raw rule "left if missing or
//! `x ≤ cut[b-1]`" (for `b = 0`: left only if missing), so trees predict on raw values.

use super::Matrix;

/// Most bins per feature, missing included (they fit a byte).
pub(crate) const MAX_BINS: usize = 256;

/// Cut points per feature and the binned values.
pub(crate) struct Binned {
    /// Ascending distinct cut values per feature (at most `MAX_BINS - 2`).
    pub cuts: Vec<Vec<f64>>,
    /// `bins[f * rows + i]`: the bin of feature `f` in row `i`.
    pub bins: Vec<u8>,
    pub rows: usize,
}

impl Binned {
    /// Bins every feature of `x` at up to `max_bins - 1` quantile cuts of a deterministic sample.
    pub fn new(x: &Matrix, max_bins: usize) -> Binned {
        let rows = x.rows();
        let max_bins = max_bins.clamp(3, MAX_BINS);
        let stride = (rows / 20_000).max(1);
        let mut cuts = Vec::with_capacity(x.cols());
        let mut bins = vec![0u8; rows * x.cols()];
        let mut sample = Vec::with_capacity(rows / stride + 1);
        for f in 0..x.cols() {
            sample.clear();
            sample.extend((0..rows).step_by(stride).map(|i| x.get(i, f)));
            sample.retain(|v| !v.is_nan());
            sample.sort_by(f64::total_cmp);
            let c = quantile_cuts(&sample, max_bins - 2);
            let col = &mut bins[f * rows..(f + 1) * rows];
            for (i, b) in col.iter_mut().enumerate() {
                *b = bin_of(&c, x.get(i, f));
            }
            cuts.push(c);
        }
        Binned { cuts, bins, rows }
    }

    /// The bins of feature `f`, one per row.
    pub fn column(&self, f: usize) -> &[u8] {
        &self.bins[f * self.rows..(f + 1) * self.rows]
    }

    /// Number of bins feature `f` uses (missing bin included).
    pub fn bins_of(&self, f: usize) -> usize {
        self.cuts[f].len() + 2
    }

    /// The raw threshold of the split "left if bin ≤ b" of feature `f`.
    pub fn threshold(&self, f: usize, b: u8) -> f64 {
        match (b as usize).checked_sub(1) {
            Some(k) => self.cuts[f][k],
            // missing only: the lowest finite value keeps a saved model plain JSON (no -inf)
            None => f64::MIN,
        }
    }
}

/// At most `k` distinct cut values at evenly spaced quantiles of sorted `s`.
fn quantile_cuts(s: &[f64], k: usize) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::with_capacity(k);
    if s.is_empty() {
        return out;
    }
    for j in 1..=k {
        let idx = (j * s.len() / (k + 1)).min(s.len() - 1);
        let v = s[idx];
        if out.last().is_none_or(|&l| v > l) {
            out.push(v);
        }
    }
    // a cut at the maximum separates nothing
    if out.last() == s.last() {
        out.pop();
    }
    out
}

/// The bin of `v` under `cuts`.
fn bin_of(cuts: &[f64], v: f64) -> u8 {
    if v.is_nan() {
        return 0;
    }
    (1 + cuts.partition_point(|&c| c < v)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_respect_their_thresholds() {
        let mut x = Matrix::new(1);
        for v in [5.0, 1.0, 3.0, f64::NAN, 3.0, 2.0, 4.0, 1.0] {
            x.push(&[v]).unwrap();
        }
        let b = Binned::new(&x, 256);
        assert_eq!(b.cuts[0], vec![1.0, 2.0, 3.0, 4.0]);
        let col = b.column(0);
        assert_eq!(col[3], 0, "NaN is bin 0");
        for (i, &bin) in col.iter().enumerate() {
            let v = x.get(i, 0);
            for split in 0..(b.bins_of(0) - 1) as u8 {
                let by_bin = bin <= split;
                let by_value = v.is_nan() || v <= b.threshold(0, split);
                assert_eq!(by_bin, by_value, "value {v} split {split}");
            }
        }
    }
}

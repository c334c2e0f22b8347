//! 2-D t-SNE maps of fingerprint vectors (offline reports: it is slow, O(n²) per iteration).
//!
//! Wraps `linfa_tsne` (bhtsne). Up to [`EXACT_LIMIT`] points the exact algorithm runs and the map
//! is fully determined by `seed`; above it Barnes-Hut (θ = 0.5) runs, whose vantage-point tree
//! (inside bhtsne) draws from the thread RNG, so large maps can differ in the last digits between
//! runs. Inputs bhtsne would panic or divide by zero on (too few points, identical points) are
//! handled here.

use crate::FingerprintError;
use linfa::traits::Transformer;
use linfa_tsne::TSneParams;
use ndarray::Array2;
use rand::{rngs::StdRng, SeedableRng};

/// Largest point count mapped with exact (deterministic) t-SNE.
pub const EXACT_LIMIT: usize = 1000;
/// Gradient-descent iterations.
const ITERATIONS: usize = 1000;

/// 2-D embedding of `vectors` (all the same length, finite, at least 4 of them).
///
/// `perplexity` must be positive; it is lowered to `(n − 1) / 3` when too large for `n` points.
pub fn tsne_2d(
    vectors: &[Vec<f64>],
    perplexity: f64,
    seed: u64,
) -> Result<Vec<[f64; 2]>, FingerprintError> {
    let n = vectors.len();
    if n < 4 {
        return Err(FingerprintError::TooFew { need: 4, got: n });
    }
    if perplexity.is_nan() || perplexity <= 0.0 || perplexity.is_infinite() {
        return Err(FingerprintError::Parameter {
            what: "perplexity",
            value: perplexity,
        });
    }
    let d = vectors[0].len();
    for (row, v) in vectors.iter().enumerate() {
        if v.len() != d {
            return Err(FingerprintError::Dimension {
                row,
                expected: d,
                got: v.len(),
            });
        }
        if let Some((index, &value)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(FingerprintError::NonFinite {
                what: format!("vector {row}"),
                index,
                value,
            });
        }
    }
    // Identical points (or zero-length vectors): nothing to separate, and bhtsne would divide by 0.
    if vectors.iter().all(|v| v == &vectors[0]) {
        return Ok(vec![[0.0, 0.0]; n]);
    }
    // The embedding may not have more dimensions than the input: pad 1-D input with a zero column.
    let cols = d.max(2);
    let data = Array2::from_shape_fn((n, cols), |(i, j)| {
        vectors[i].get(j).copied().unwrap_or(0.0)
    });
    // A hair below the limit so linfa's `n − 1 < 3 · perplexity` check cannot trip on rounding.
    let perplexity = perplexity.min((n - 1) as f64 / 3.0 * (1.0 - 1e-9));
    let theta = if n <= EXACT_LIMIT { 0.0 } else { 0.5 };
    let out = TSneParams::embedding_size_with_rng(2, StdRng::seed_from_u64(seed))
        .perplexity(perplexity)
        .approx_threshold(theta)
        .max_iter(ITERATIONS)
        .transform(data)
        .map_err(|e| FingerprintError::Tsne(e.to_string()))?;
    let points: Vec<[f64; 2]> = out.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    if points.iter().flatten().any(|v| !v.is_finite()) {
        return Err(FingerprintError::Tsne("non-finite coordinates".into()));
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<Vec<f64>> {
        let mut seed = 4u64;
        (0..30)
            .map(|i| {
                let c = if i < 15 { 0.0 } else { 20.0 };
                (0..5)
                    .map(|_| c + crate::testutil::uniform(&mut seed))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn separates_two_blobs_deterministically() {
        let v = blobs();
        let a = tsne_2d(&v, 5.0, 7).unwrap();
        let b = tsne_2d(&v, 5.0, 7).unwrap();
        assert_eq!(a, b);
        let dist =
            |p: [f64; 2], q: [f64; 2]| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
        let mut within = 0.0f64;
        let mut between = f64::INFINITY;
        for i in 0..30 {
            for j in 0..30 {
                if i != j && (i < 15) == (j < 15) {
                    within = within.max(dist(a[i], a[j]));
                } else if i != j {
                    between = between.min(dist(a[i], a[j]));
                }
            }
        }
        assert!(between > within, "between {between} within {within}");
    }

    #[test]
    fn edge_cases() {
        assert!(tsne_2d(&blobs()[..3], 5.0, 1).is_err());
        assert!(tsne_2d(&blobs(), -1.0, 1).is_err());
        assert_eq!(
            tsne_2d(&vec![vec![1.0]; 6], 30.0, 1).unwrap(),
            vec![[0.0, 0.0]; 6]
        );
        // 1-D input and a perplexity too large for 8 points still work.
        let line: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64]).collect();
        let m = tsne_2d(&line, 30.0, 1).unwrap();
        assert_eq!(m.len(), 8);
    }
}

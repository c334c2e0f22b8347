//! Isotonic regression: the best non-decreasing fit to weighted values (pool adjacent violators).

/// The weighted least-squares non-decreasing fit of `values` (in their given order, with
/// `weights`, each > 0): one fitted value per input. Empty in, empty out; lengths must match (the
/// shorter one bounds the fit).
pub fn increasing_fit(values: &[f64], weights: &[f64]) -> Vec<f64> {
    let n = values.len().min(weights.len());
    // Blocks of pooled neighbours: (weighted mean, total weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(n);
    for (&v, &w) in values.iter().zip(weights).take(n) {
        blocks.push((v, w, 1));
        while blocks.len() > 1 {
            let (b, a) = (blocks[blocks.len() - 1], blocks[blocks.len() - 2]);
            if a.0 <= b.0 {
                break;
            }
            let w = a.1 + b.1;
            let mean = (a.0 * a.1 + b.0 * b.1) / w;
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (mean, w, a.2 + b.2);
        }
    }
    blocks
        .into_iter()
        .flat_map(|(mean, _, count)| std::iter::repeat_n(mean, count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_increasing_input_is_kept_and_violators_are_pooled_by_weight() {
        assert_eq!(
            increasing_fit(&[1.0, 2.0, 3.0], &[1.0; 3]),
            vec![1.0, 2.0, 3.0]
        );
        // 3 then 1 pool to their mean; weights shift it.
        assert_eq!(increasing_fit(&[3.0, 1.0], &[1.0, 1.0]), vec![2.0, 2.0]);
        assert_eq!(increasing_fit(&[3.0, 1.0], &[3.0, 1.0]), vec![2.5, 2.5]);
        // A late dip pools backwards through several blocks.
        let fit = increasing_fit(&[1.0, 4.0, 5.0, 0.0, 6.0], &[1.0; 5]);
        assert_eq!(fit, vec![1.0, 3.0, 3.0, 3.0, 6.0]);
        assert!(fit.windows(2).all(|w| w[0] <= w[1]));
        assert!(increasing_fit(&[], &[]).is_empty());
    }
}

//! Distances between feature vectors.

/// Squared Euclidean distance; vectors of different length compare over the shorter prefix.
pub fn squared_euclidean(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Euclidean distance.
pub fn euclidean(a: &[f64], b: &[f64]) -> f64 {
    squared_euclidean(a, b).sqrt()
}

#[cfg(test)]
mod tests {
    #[test]
    fn three_four_five() {
        assert_eq!(super::euclidean(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
    }
}

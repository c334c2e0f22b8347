//! Naive (last value) and seasonal naive (value one season ago) forecasts.

use crate::path::PathModel;

/// Repeats the last observed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NaiveModel;

impl PathModel for NaiveModel {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        origins
            .iter()
            .map(|&o| {
                let last = o.min(y.len()).checked_sub(1).map_or(0.0, |i| y[i]);
                vec![last; h]
            })
            .collect()
    }
    fn spec(&self) -> String {
        "Naive".to_string()
    }
    fn params(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}

/// Repeats the last observed season of length `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeasonalNaiveModel {
    pub period: usize,
}

impl PathModel for SeasonalNaiveModel {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let m = self.period.max(1);
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                (0..h)
                    .map(|j| match (o + j % m).checked_sub(m) {
                        Some(i) => y[i],
                        None => o.checked_sub(1).map_or(0.0, |i| y[i]),
                    })
                    .collect()
            })
            .collect()
    }
    fn spec(&self) -> String {
        format!("SNaive[{}]", self.period)
    }
    fn params(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_paths() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            NaiveModel.paths(&y, &[5, 2], 2),
            vec![vec![5.0; 2], vec![2.0; 2]]
        );
        let s = SeasonalNaiveModel { period: 2 };
        assert_eq!(s.paths(&y, &[5], 5), vec![vec![4.0, 5.0, 4.0, 5.0, 4.0]]);
        assert_eq!(s.paths(&y, &[4], 3), vec![vec![3.0, 4.0, 3.0]]);
    }
}

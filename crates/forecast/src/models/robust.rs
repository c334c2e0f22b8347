//! Robust baseline forecasters used as `auto` candidates: the median of a recent window and the
//! per-phase median of the last few seasonal cycles. Medians are the MAE-optimal summary of bursty
//! series (CPU spikes), where mean-based models chase every burst.

use crate::path::PathModel;
use prescale_math::median;

/// Forecasts the median of the last `window` points, flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowMedian {
    pub window: usize,
}

impl PathModel for WindowMedian {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                let v = median(&y[o.saturating_sub(self.window.max(1))..o]).unwrap_or(0.0);
                vec![v; h]
            })
            .collect()
    }
    fn spec(&self) -> String {
        format!("Median[{}]", self.window)
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![("window".to_string(), self.window as f64)]
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}

/// Forecasts each step as the median of the same phase over the last `cycles` seasonal cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeasonalMedian {
    pub period: usize,
    pub cycles: usize,
}

impl PathModel for SeasonalMedian {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let m = self.period.max(1);
        let mut buf = Vec::with_capacity(self.cycles);
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                (0..h)
                    .map(|j| {
                        buf.clear();
                        // the same phase in each of the last `cycles` cycles before the origin
                        let mut t = o + j % m;
                        while buf.len() < self.cycles.max(1) && t >= m {
                            t -= m;
                            buf.push(y[t]);
                        }
                        median(&buf)
                            .or_else(|| o.checked_sub(1).map(|i| y[i]))
                            .unwrap_or(0.0)
                    })
                    .collect()
            })
            .collect()
    }
    fn spec(&self) -> String {
        format!("SMedian[{}x{}]", self.period, self.cycles)
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![("cycles".to_string(), self.cycles as f64)]
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_known_answers() {
        let y = [1.0, 100.0, 2.0, 3.0, 4.0];
        assert_eq!(
            WindowMedian { window: 3 }.paths(&y, &[5], 2),
            vec![vec![3.0; 2]]
        );
        assert_eq!(
            WindowMedian { window: 10 }.paths(&y, &[2], 1),
            vec![vec![50.5]]
        );
        // period 2, phases: even t -> 1, 2, 4 ; odd t -> 100, 3
        let s = SeasonalMedian {
            period: 2,
            cycles: 3,
        };
        assert_eq!(s.paths(&y, &[5], 2), vec![vec![51.5, 2.0]]);
    }
}

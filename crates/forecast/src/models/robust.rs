//! Robust baseline forecasters used as `auto` candidates: the median of a recent window and the
//! per-phase median of the last few seasonal cycles. Medians are the MAE-optimal summary of bursty
//! series (CPU spikes), where mean-based models chase every burst.

use crate::path::PathModel;
use prescale_math::{median, median_sorted};

/// Forecasts the median of the last `window` points, flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowMedian {
    pub window: usize,
}

impl PathModel for WindowMedian {
    /// The window slides along the origins: the points leaving it are taken out of a sorted
    /// copy and the points entering put in (binary searches), rather than every window copied
    /// and selected anew. The median of the sorted copy is `prescale_math::median`'s, bit for bit.
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let mut window = SortedWindow::default();
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                window.slide(y, o.saturating_sub(self.window.max(1)), o);
                vec![window.median().unwrap_or(0.0); h]
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

/// The values of `y[start..end]` sorted by `f64::total_cmp`, moved along `y` a few points at a
/// time.
#[derive(Debug, Default)]
struct SortedWindow {
    start: usize,
    end: usize,
    sorted: Vec<f64>,
}

impl SortedWindow {
    /// Makes the window `y[start..end]` (`start <= end <= y.len()`): a window overlapping the
    /// current one and ahead of it is moved point by point, any other is sorted afresh.
    fn slide(&mut self, y: &[f64], start: usize, end: usize) {
        let (leaving, entering) = (
            start.saturating_sub(self.start),
            end.saturating_sub(self.end),
        );
        let ahead = start >= self.start && end >= self.end && start <= self.end;
        if !ahead || leaving + entering > self.sorted.len().max(1) {
            self.sorted.clear();
            self.sorted.extend_from_slice(&y[start..end]);
            self.sorted.sort_unstable_by(f64::total_cmp);
        } else {
            for v in &y[self.start..start] {
                // values of equal `total_cmp` key have the same bits: any of them will do
                if let Ok(at) = self.sorted.binary_search_by(|x| x.total_cmp(v)) {
                    self.sorted.remove(at);
                }
            }
            for &v in &y[self.end..end] {
                let at = self.sorted.partition_point(|x| x.total_cmp(&v).is_lt());
                self.sorted.insert(at, v);
            }
        }
        (self.start, self.end) = (start, end);
    }

    /// The median of the window; `None` when it is empty.
    fn median(&self) -> Option<f64> {
        median_sorted(&self.sorted)
    }
}

/// Forecasts each step as the median of the same phase over the last `cycles` seasonal cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeasonalMedian {
    pub period: usize,
    pub cycles: usize,
}

impl SeasonalMedian {
    /// The median of `y[s − m]`, `y[s − 2m]`, … (at most `cycles` of them, none before the
    /// start); `None` when `s < m`. Step `j` from origin `o` reads it at `s = o + j mod m`.
    fn phase_median(&self, y: &[f64], s: usize, buf: &mut Vec<f64>) -> Option<f64> {
        let m = self.period.max(1);
        buf.clear();
        let mut t = s;
        while buf.len() < self.cycles.max(1) && t >= m {
            t -= m;
            buf.push(y[t]);
        }
        median(buf)
    }
}

impl PathModel for SeasonalMedian {
    /// Steps of nearby origins read the same phases (step `j` from `o` and step `j − 1` from
    /// `o + 1`), so each phase's median is taken once for all origins when they lie close together.
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let m = self.period.max(1);
        let mut buf = Vec::with_capacity(self.cycles);
        let reach = h.min(m);
        let first = origins.iter().map(|&o| o.min(y.len())).min().unwrap_or(0);
        let last = origins.iter().map(|&o| o.min(y.len())).max().unwrap_or(0);
        // one slot per phase start `s` in `first..last + reach`, when that is fewer than the
        // medians taken one by one
        let span = (last + reach).saturating_sub(first);
        let mut memo: Vec<Option<Option<f64>>> = if span <= origins.len().saturating_mul(h) {
            vec![None; span]
        } else {
            Vec::new()
        };
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                (0..h)
                    .map(|j| {
                        let s = o + j % m;
                        let v = match memo.get_mut(s.wrapping_sub(first)) {
                            Some(Some(v)) => *v,
                            Some(slot) => *slot.insert(self.phase_median(y, s, &mut buf)),
                            None => self.phase_median(y, s, &mut buf),
                        };
                        v.or_else(|| o.checked_sub(1).map(|i| y[i])).unwrap_or(0.0)
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

    /// `WindowMedian::paths` as it was: every window copied and its median selected.
    fn reference_window(m: WindowMedian, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                let v = median(&y[o.saturating_sub(m.window.max(1))..o]).unwrap_or(0.0);
                vec![v; h]
            })
            .collect()
    }

    /// `SeasonalMedian::paths` as it was: every step's median taken on its own.
    fn reference_seasonal(
        m: SeasonalMedian,
        y: &[f64],
        origins: &[usize],
        h: usize,
    ) -> Vec<Vec<f64>> {
        let p = m.period.max(1);
        let mut buf = Vec::with_capacity(m.cycles);
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                (0..h)
                    .map(|j| {
                        buf.clear();
                        let mut t = o + j % p;
                        while buf.len() < m.cycles.max(1) && t >= p {
                            t -= p;
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

    fn bits(paths: &[Vec<f64>]) -> Vec<Vec<u64>> {
        paths
            .iter()
            .map(|p| p.iter().map(|v| v.to_bits()).collect())
            .collect()
    }

    /// Series like the replays' (a daily wave with noise and bursts), one of few distinct
    /// values (ties everywhere), one with signed zeros and infinities, one constant.
    fn series() -> Vec<Vec<f64>> {
        let mut rng = prescale_math::SplitMix64(11);
        let wave: Vec<f64> = (0..900)
            .map(|t| {
                let burst = if rng.uniform() < 0.03 { 400.0 } else { 0.0 };
                100.0
                    + 40.0 * (t as f64 * std::f64::consts::TAU / 288.0).sin()
                    + 10.0 * rng.uniform()
                    + burst
            })
            .collect();
        let ties: Vec<f64> = (0..600).map(|_| (rng.uniform() * 4.0).floor()).collect();
        let odd = [0.0, -0.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, 0.5];
        let zeros: Vec<f64> = (0..400)
            .map(|_| odd[(rng.uniform() * odd.len() as f64) as usize % odd.len()])
            .collect();
        vec![wave, ties, zeros, vec![7.0; 300], vec![3.0], Vec::new()]
    }

    /// Origin sets: consecutive as `auto` asks them (with the end after a jump), from the
    /// start, with gaps, backwards, repeated and past the end.
    fn origin_sets(n: usize) -> Vec<Vec<usize>> {
        let tail: Vec<usize> = (n.saturating_sub(160)..=n.saturating_sub(12))
            .chain([n])
            .collect();
        vec![
            tail,
            (0..=n).collect(),
            (0..=n).step_by(7).collect(),
            (0..=n).rev().step_by(5).collect(),
            vec![n / 2, n / 2, n / 3, n + 5, 0, n / 2 + 1],
            Vec::new(),
        ]
    }

    #[test]
    fn the_sliding_window_median_equals_the_window_copied_and_selected() {
        for y in series() {
            for window in [0, 1, 2, 3, 4, 12, 48, 287, 288, 1000] {
                for origins in origin_sets(y.len()) {
                    for h in [1, 12] {
                        let m = WindowMedian { window };
                        assert_eq!(
                            bits(&m.paths(&y, &origins, h)),
                            bits(&reference_window(m, &y, &origins, h)),
                            "window {window}, h {h}, {} points, origins {origins:?}",
                            y.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_seasonal_median_taken_once_per_phase_equals_each_step_on_its_own() {
        for y in series() {
            for (period, cycles) in [(1, 1), (2, 3), (5, 2), (24, 7), (288, 3), (288, 7), (0, 4)] {
                for origins in origin_sets(y.len()) {
                    for h in [1, 3, 12, 30] {
                        let m = SeasonalMedian { period, cycles };
                        assert_eq!(
                            bits(&m.paths(&y, &origins, h)),
                            bits(&reference_seasonal(m, &y, &origins, h)),
                            "{period}x{cycles}, h {h}, {} points, origins {origins:?}",
                            y.len()
                        );
                    }
                }
            }
        }
    }
}

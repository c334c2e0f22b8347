//! The robust scale of recent residuals (MAD × 1.4826, floored relative to the demand level).

use crate::ScaleConfig;
use prescale_math::{autocorrelation, mad, median, MAD_TO_SIGMA};
use std::cell::Cell;
use std::collections::VecDeque;

/// Smallest scale ever returned, so a score is always finite.
const ABS_FLOOR: f64 = 1e-9;

/// Largest lag-1 autocorrelation whitening removes.
const MAX_RHO: f64 = 0.9;

/// A window of recent residuals and their actuals.
#[derive(Debug, Clone)]
pub struct RobustScale {
    window: usize,
    min_residuals: usize,
    floor_fraction: f64,
    residuals: VecDeque<f64>,
    actuals: VecDeque<f64>,
    /// [`scale`](Self::scale) since the last change (it is asked several times per step).
    cached: Cell<Option<Option<f64>>>,
}

impl RobustScale {
    pub fn new(cfg: &ScaleConfig) -> RobustScale {
        RobustScale {
            window: cfg.window.max(1),
            min_residuals: cfg.min_residuals,
            floor_fraction: cfg.floor_fraction,
            residuals: VecDeque::new(),
            actuals: VecDeque::new(),
            cached: Cell::new(None),
        }
    }

    /// Adds a residual and its actual (callers pass finite values).
    pub fn push(&mut self, residual: f64, actual: f64) {
        self.cached.set(None);
        self.residuals.push_back(residual);
        self.actuals.push_back(actual.abs());
        while self.residuals.len() > self.window {
            self.residuals.pop_front();
            self.actuals.pop_front();
        }
    }

    /// Residuals held.
    pub fn len(&self) -> usize {
        self.residuals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.residuals.is_empty()
    }

    /// The σ estimate `max(1.4826 · MAD, floor_fraction · median|actual|, 1e-9)`; `None` until
    /// `min_residuals` residuals are held.
    pub fn scale(&self) -> Option<f64> {
        if let Some(known) = self.cached.get() {
            return known;
        }
        let scale = self.compute_scale();
        self.cached.set(Some(scale));
        scale
    }

    fn compute_scale(&self) -> Option<f64> {
        if self.residuals.len() < self.min_residuals {
            return None;
        }
        let r: Vec<f64> = self.residuals.iter().copied().collect();
        let a: Vec<f64> = self.actuals.iter().copied().collect();
        let spread = mad(&r)? * MAD_TO_SIGMA;
        let floor = median(&a).map_or(0.0, |m| m * self.floor_fraction);
        Some(spread.max(floor).max(ABS_FLOOR))
    }

    /// The last residual pushed.
    pub fn last(&self) -> Option<f64> {
        self.residuals.back().copied()
    }

    /// For prewhitening autocorrelated residuals: the lag-1 autocorrelation `ρ` of the window
    /// (clamped to [0, 0.9]) and the robust scale of the innovations `eₜ − ρ eₜ₋₁`, floored as
    /// in [`scale`](Self::scale); `None` until `min_residuals` residuals are held.
    pub fn whitened(&self) -> Option<(f64, f64)> {
        if self.residuals.len() < self.min_residuals {
            return None;
        }
        let r: Vec<f64> = self.residuals.iter().copied().collect();
        let a: Vec<f64> = self.actuals.iter().copied().collect();
        let rho = autocorrelation(&r, 1).unwrap_or(0.0).clamp(0.0, MAX_RHO);
        let w: Vec<f64> = r.windows(2).map(|p| p[1] - rho * p[0]).collect();
        let spread = mad(&w)? * MAD_TO_SIGMA;
        let floor = median(&a).map_or(0.0, |m| m * self.floor_fraction);
        Some((rho, spread.max(floor).max(ABS_FLOOR)))
    }

    /// Forgets every residual.
    pub fn clear(&mut self) {
        self.cached.set(None);
        self.residuals.clear();
        self.actuals.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remembered_scale_follows_every_push_and_clear() {
        let cfg = ScaleConfig {
            window: 4,
            min_residuals: 2,
            floor_fraction: 0.0,
        };
        let mut s = RobustScale::new(&cfg);
        assert_eq!((s.scale(), s.scale()), (None, None));
        s.push(1.0, 1.0);
        s.push(-1.0, 1.0);
        let first = s.scale().unwrap();
        assert_eq!(s.scale(), Some(first), "asked again: the same");
        s.push(9.0, 1.0);
        s.push(-9.0, 1.0);
        assert!(s.scale().unwrap() > first, "a push is seen");
        s.clear();
        assert_eq!(s.scale(), None, "a clear is seen");
    }

    #[test]
    fn known_answers() {
        let cfg = ScaleConfig {
            window: 5,
            min_residuals: 3,
            floor_fraction: 0.01,
        };
        let mut s = RobustScale::new(&cfg);
        s.push(1.0, 100.0);
        s.push(-1.0, 100.0);
        assert_eq!(s.scale(), None);
        s.push(3.0, 100.0); // residuals [1, -1, 3]: median 1, MAD 2
        assert!((s.scale().unwrap() - 2.0 * MAD_TO_SIGMA).abs() < 1e-12);
        for _ in 0..5 {
            s.push(0.0, 100.0);
        }
        assert_eq!(s.len(), 5);
        assert_eq!(s.scale(), Some(1.0)); // MAD 0: the floor, 1% of 100
        assert_eq!(s.whitened(), Some((0.0, 1.0)));
        // alternating residuals: negative autocorrelation is not whitened (ρ clamped to 0)
        for i in 0..5 {
            s.push(if i % 2 == 0 { 2.0 } else { -2.0 }, 100.0);
        }
        let (rho, scale) = s.whitened().unwrap();
        assert_eq!(rho, 0.0);
        assert!((scale - 2.0 * MAD_TO_SIGMA).abs() < 1e-12); // innovations ±2: MAD 2
                                                             // a slow ramp is strongly autocorrelated: ρ at the clamp's ceiling or near it
        let mut ramp = RobustScale::new(&ScaleConfig { window: 50, ..cfg });
        for i in 0..50 {
            ramp.push(i as f64, 100.0);
        }
        let (rho, _) = ramp.whitened().unwrap();
        assert!(rho > 0.85, "rho {rho}");
    }
}

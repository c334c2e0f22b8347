//! A live demand pattern compressed to minutes: a repeating cycle (a smooth daily-like swing and a
//! sharp step that comes back at the same phase every cycle), short bursts and noise. It is a pure
//! function of time and seed, so a load generator, a test and a reader of its output agree on it.

use crate::synthetic::Rng;
use std::f64::consts::PI;

/// The pattern's parameters; demand is in units per second.
#[derive(Debug, Clone, PartialEq)]
pub struct CyclePattern {
    /// Length of one cycle in seconds.
    pub period_s: f64,
    /// Mean demand outside the step.
    pub base: f64,
    /// Relative amplitude of the smooth swing (0.3 = ±30% of `base`).
    pub swing: f64,
    /// The repeating step: demand is raised by `step_height` between these phases (0..1).
    pub step_from: f64,
    pub step_to: f64,
    pub step_height: f64,
    /// Probability that a given second starts a burst.
    pub burst_chance: f64,
    /// Burst length in seconds and the factor it multiplies demand by.
    pub burst_s: f64,
    pub burst_factor: f64,
    /// Relative standard deviation of the noise, drawn afresh every `noise_s` seconds.
    pub noise: f64,
    pub noise_s: f64,
    pub seed: u64,
}

impl Default for CyclePattern {
    fn default() -> Self {
        CyclePattern {
            period_s: 120.0,
            base: 150.0,
            swing: 0.3,
            step_from: 0.55,
            step_to: 0.8,
            step_height: 300.0,
            burst_chance: 0.01,
            burst_s: 4.0,
            burst_factor: 1.6,
            noise: 0.05,
            noise_s: 1.0,
            seed: 7,
        }
    }
}

impl CyclePattern {
    /// Checks the parameters; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let finite_pos = |v: f64| v.is_finite() && v > 0.0;
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        if !finite_pos(self.period_s) {
            return Err(format!("period_s = {} must be positive", self.period_s));
        }
        if !finite_nonneg(self.base) || !finite_nonneg(self.step_height) {
            return Err("base and step_height must be finite and not negative".into());
        }
        if !(0.0..=1.0).contains(&self.swing) {
            return Err(format!("swing = {} must lie in 0..=1", self.swing));
        }
        if !(0.0..=1.0).contains(&self.step_from)
            || !(0.0..=1.0).contains(&self.step_to)
            || self.step_from > self.step_to
        {
            return Err(format!(
                "step phases {}..{} must satisfy 0 <= from <= to <= 1",
                self.step_from, self.step_to
            ));
        }
        if !(0.0..=1.0).contains(&self.burst_chance)
            || !finite_nonneg(self.burst_s)
            || !finite_pos(self.burst_factor)
        {
            return Err("burst_chance must lie in 0..=1, burst_s >= 0, burst_factor > 0".into());
        }
        if !finite_nonneg(self.noise) || !finite_pos(self.noise_s) {
            return Err("noise must be >= 0 and noise_s > 0".into());
        }
        Ok(())
    }

    /// Where in its cycle `t` (seconds since the pattern started) falls, in `0..1`.
    pub fn phase(&self, t: f64) -> f64 {
        (t / self.period_s).rem_euclid(1.0)
    }

    /// Whether `t` lies inside the repeating step.
    pub fn in_step(&self, t: f64) -> bool {
        let p = self.phase(t);
        p >= self.step_from && p < self.step_to
    }

    /// Seconds since the pattern started at which the step of cycle `cycle` (0-based) begins.
    pub fn step_start(&self, cycle: u64) -> f64 {
        (cycle as f64 + self.step_from) * self.period_s
    }

    /// The demand without bursts and noise: what a perfect forecaster of the cycle would predict.
    pub fn expected(&self, t: f64) -> f64 {
        let swing = 1.0 + self.swing * (2.0 * PI * self.phase(t)).sin();
        let step = if self.in_step(t) {
            self.step_height
        } else {
            0.0
        };
        self.base * swing + step
    }

    /// Whether a burst covers `t`: each whole second starts one with `burst_chance`.
    pub fn bursting(&self, t: f64) -> bool {
        if self.burst_chance <= 0.0 || self.burst_s <= 0.0 || t < 0.0 {
            return false;
        }
        let now = t.floor() as i64;
        let first = (t - self.burst_s).floor().max(0.0) as i64;
        (first..=now).any(|sec| {
            let start = sec as f64;
            start <= t && t < start + self.burst_s && self.draw(1, sec) < self.burst_chance
        })
    }

    /// Demand at `t` seconds since start: the cycle, times a burst factor, times noise; never negative.
    pub fn demand(&self, t: f64) -> f64 {
        let burst = if self.bursting(t) {
            self.burst_factor
        } else {
            1.0
        };
        let bucket = (t / self.noise_s).floor() as i64;
        let mut rng = Rng(self.key(2, bucket));
        let noise = 1.0 + self.noise * rng.normal();
        (self.expected(t) * burst * noise).max(0.0)
    }

    fn key(&self, stream: u64, index: i64) -> u64 {
        let mut r = Rng(self.seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index as u64);
        r.next_u64()
    }

    /// A uniform draw in `0..1` fixed by `(stream, index)`.
    fn draw(&self, stream: u64, index: i64) -> f64 {
        let mut r = Rng(self.key(stream, index));
        r.uniform()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_repeats_at_the_same_phase() {
        let p = CyclePattern {
            noise: 0.0,
            burst_chance: 0.0,
            ..CyclePattern::default()
        };
        for cycle in 0..5u64 {
            let s = p.step_start(cycle);
            assert!(p.in_step(s + 0.01));
            assert!(!p.in_step(s - 0.01));
            assert!((p.demand(s + 0.01) - p.demand(s - 0.01) - p.step_height).abs() < 1.0);
        }
        // Same time in two cycles, same demand.
        assert!((p.demand(13.0) - p.demand(13.0 + 3.0 * p.period_s)).abs() < 1e-9);
    }

    #[test]
    fn demand_is_deterministic_and_bursts_happen_at_about_their_rate() {
        let p = CyclePattern::default();
        assert_eq!(p.demand(42.3), p.demand(42.3));
        let secs = 20_000;
        let bursting = (0..secs).filter(|&s| p.bursting(s as f64 + 0.5)).count() as f64;
        // Covered share ≈ 1 − (1 − chance)^burst_s ≈ 3.9%.
        let share = bursting / secs as f64;
        assert!((0.025..0.055).contains(&share), "{share}");
        assert!((0..secs).all(|s| p.demand(s as f64) >= 0.0));
    }

    #[test]
    fn noise_has_the_asked_spread() {
        let p = CyclePattern {
            burst_chance: 0.0,
            ..CyclePattern::default()
        };
        let rel: Vec<f64> = (0..5000)
            .map(|s| p.demand(s as f64 + 0.5) / p.expected(s as f64 + 0.5) - 1.0)
            .collect();
        let sd = prescale_math::std_dev(&rel).unwrap_or(0.0);
        assert!((0.04..0.06).contains(&sd), "{sd}");
    }

    #[test]
    fn bad_parameters_are_named() {
        let p = CyclePattern {
            period_s: 0.0,
            ..CyclePattern::default()
        };
        assert!(p.validate().unwrap_err().contains("period_s"));
        let p = CyclePattern {
            step_from: 0.9,
            step_to: 0.1,
            ..CyclePattern::default()
        };
        assert!(p.validate().unwrap_err().contains("step phases"));
        assert!(CyclePattern::default().validate().is_ok());
    }
}

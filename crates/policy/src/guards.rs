//! Shared guards every policy composes: bounds, cooldown, scale-in stabilization and rate/step limits.
//!
//! Order (as in the Kubernetes HPA): the raw wish is recorded and stabilized, then rate-limited,
//! then held by the cooldown, then clamped to the bounds.

use crate::error::invalid;
use crate::{Decision, Guard, PolicyError, Reason};
use std::collections::VecDeque;

/// Replica bounds, `min <= max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
}

impl Bounds {
    /// Validated bounds.
    pub fn new(min: u32, max: u32) -> Result<Self, PolicyError> {
        if min > max {
            return Err(invalid("min", min, "must not exceed max"));
        }
        Ok(Bounds { min, max })
    }

    /// `n` clamped into the bounds.
    pub fn clamp(&self, n: u32) -> u32 {
        n.clamp(self.min, self.max)
    }
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds { min: 1, max: 1000 }
    }
}

/// Scale-in stabilization: a scale-in goes no lower than the highest recommendation of the current
/// step and the `window_steps` steps before it (Kubernetes' scale-down stabilization window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stabilizer {
    window_steps: usize,
    recent: VecDeque<(usize, u32)>,
}

impl Stabilizer {
    /// A window over the current step and the `window_steps` steps before it.
    pub fn new(window_steps: usize) -> Self {
        Stabilizer {
            window_steps,
            recent: VecDeque::new(),
        }
    }

    /// A window of `seconds` at steps of `step_seconds`: `ceil(seconds / step_seconds)` past steps.
    pub fn from_seconds(seconds: f64, step_seconds: f64) -> Self {
        let steps = if seconds > 0.0 && step_seconds > 0.0 {
            (seconds / step_seconds - 1e-9).ceil().max(0.0) as usize
        } else {
            0
        };
        Stabilizer::new(steps)
    }

    /// Past steps the window covers besides the current one.
    pub fn window_steps(&self) -> usize {
        self.window_steps
    }

    /// Records `recommendation` at `step` and returns the highest recommendation in the window.
    pub fn record(&mut self, step: usize, recommendation: u32) -> u32 {
        while let Some(&(s, _)) = self.recent.front() {
            if s + self.window_steps < step {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        self.recent.push_back((step, recommendation));
        self.recent
            .iter()
            .map(|&(_, r)| r)
            .max()
            .unwrap_or(recommendation)
    }
}

/// A rate limit: per `period_seconds`, change by at most `max(pods, percent% of current)`
/// (Kubernetes' `selectPolicy: Max` over a Pods and a Percent policy). A step longer than the
/// period holds several periods, applied one after another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub pods: u32,
    pub percent: f64,
    pub period_seconds: f64,
}

impl RateLimit {
    /// Validated limit.
    pub fn new(pods: u32, percent: f64, period_seconds: f64) -> Result<Self, PolicyError> {
        if !(percent >= 0.0 && percent.is_finite()) {
            return Err(invalid("percent", percent, "must be finite and >= 0"));
        }
        if !(period_seconds > 0.0 && period_seconds.is_finite()) {
            return Err(invalid(
                "period_seconds",
                period_seconds,
                "must be positive",
            ));
        }
        Ok(RateLimit {
            pods,
            percent,
            period_seconds,
        })
    }

    fn periods(&self, step_seconds: f64) -> usize {
        ((step_seconds / self.period_seconds + 1e-9).floor() as usize).clamp(1, 10_000)
    }

    fn allowed(&self, current: u32) -> u32 {
        let pct = (f64::from(current) * self.percent / 100.0).floor();
        let pct = if pct >= u32::MAX as f64 {
            u32::MAX
        } else {
            pct as u32
        };
        self.pods.max(pct)
    }

    /// Highest count reachable from `current` in one step of `step_seconds`.
    pub fn up_to(&self, current: u32, step_seconds: f64) -> u32 {
        let mut n = current;
        for _ in 0..self.periods(step_seconds) {
            let next = n.saturating_add(self.allowed(n));
            if next == n {
                break;
            }
            n = next;
        }
        n
    }

    /// Lowest count reachable from `current` in one step of `step_seconds`.
    pub fn down_to(&self, current: u32, step_seconds: f64) -> u32 {
        let mut n = current;
        for _ in 0..self.periods(step_seconds) {
            let next = n.saturating_sub(self.allowed(n));
            if next == n {
                break;
            }
            n = next;
        }
        n
    }
}

/// Minimum steps after any change before the next scale-up / scale-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cooldown {
    pub up_steps: usize,
    pub down_steps: usize,
}

/// The guard chain a policy routes its wish through; holds the guards' state.
#[derive(Debug, Clone, PartialEq)]
pub struct Guards {
    pub bounds: Bounds,
    pub stabilizer: Option<Stabilizer>,
    pub up_limit: Option<RateLimit>,
    pub down_limit: Option<RateLimit>,
    pub cooldown: Option<Cooldown>,
    last_change: Option<usize>,
}

impl Guards {
    /// Only bounds.
    pub fn bounded(bounds: Bounds) -> Self {
        Guards {
            bounds,
            stabilizer: None,
            up_limit: None,
            down_limit: None,
            cooldown: None,
            last_change: None,
        }
    }

    /// Adds a scale-in stabilization window.
    pub fn with_stabilizer(mut self, s: Stabilizer) -> Self {
        self.stabilizer = Some(s);
        self
    }

    /// Adds rate/step limits.
    pub fn with_limits(mut self, up: Option<RateLimit>, down: Option<RateLimit>) -> Self {
        self.up_limit = up;
        self.down_limit = down;
        self
    }

    /// Adds a cooldown.
    pub fn with_cooldown(mut self, c: Cooldown) -> Self {
        self.cooldown = Some(c);
        self
    }

    /// Routes the wish `wanted` (explained by `cause`) from the currently requested `current`
    /// through every guard and returns the decision.
    pub fn apply(
        &mut self,
        step: usize,
        step_seconds: f64,
        current: u32,
        wanted: u32,
        cause: Reason,
    ) -> Decision {
        let mut reason = cause;
        let mut n = wanted;
        let note = |guard: Guard, before: u32, reason: Reason| Reason::Guarded {
            guard,
            wanted: before,
            cause: Box::new(reason),
        };
        if let Some(st) = self.stabilizer.as_mut() {
            let highest = st.record(step, wanted);
            if n < current {
                let held = current.min(highest);
                if held != n {
                    let g = Guard::Stabilization {
                        window_steps: st.window_steps(),
                    };
                    reason = note(g, n, reason);
                    n = held;
                }
            }
        }
        if n > current {
            if let Some(l) = self.up_limit {
                let cap = l.up_to(current, step_seconds);
                if n > cap {
                    reason = note(Guard::ScaleUpLimit { limit: cap }, n, reason);
                    n = cap;
                }
            }
        } else if n < current {
            if let Some(l) = self.down_limit {
                let floor = l.down_to(current, step_seconds);
                if n < floor {
                    reason = note(Guard::ScaleDownLimit { limit: floor }, n, reason);
                    n = floor;
                }
            }
        }
        if let (Some(c), Some(last)) = (self.cooldown, self.last_change) {
            let since = step.saturating_sub(last);
            let wait = if n > current {
                c.up_steps
            } else {
                c.down_steps
            };
            if n != current && since < wait {
                reason = note(
                    Guard::Cooldown {
                        steps_left: wait - since,
                    },
                    n,
                    reason,
                );
                n = current;
            }
        }
        let clamped = self.bounds.clamp(n);
        if clamped != n {
            reason = note(
                Guard::Bounds {
                    min: self.bounds.min,
                    max: self.bounds.max,
                },
                n,
                reason,
            );
            n = clamped;
        }
        if n != current {
            self.last_change = Some(step);
        }
        Decision::between(current, n, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_rate_limits_compound_per_period() {
        let up = RateLimit::new(4, 100.0, 15.0).unwrap();
        assert_eq!(up.up_to(1, 15.0), 5);
        assert_eq!(up.up_to(10, 15.0), 20);
        assert_eq!(up.up_to(1, 30.0), 10); // 1 -> 5 -> 10
        let down = RateLimit::new(0, 50.0, 60.0).unwrap();
        assert_eq!(down.down_to(10, 60.0), 5);
        assert_eq!(down.down_to(10, 120.0), 3); // 10 -> 5 -> 3 (floor of 2.5 removed = 2)
    }

    #[test]
    fn stabilizer_keeps_highest_in_window() {
        let mut s = Stabilizer::from_seconds(300.0, 300.0);
        assert_eq!(s.window_steps(), 1);
        assert_eq!(s.record(0, 5), 5);
        assert_eq!(s.record(1, 2), 5);
        assert_eq!(s.record(2, 2), 2);
        assert_eq!(Stabilizer::from_seconds(300.0, 15.0).window_steps(), 20);
    }

    #[test]
    fn guards_chain_in_order() {
        let mut g = Guards::bounded(Bounds::new(1, 8).unwrap())
            .with_stabilizer(Stabilizer::new(2))
            .with_cooldown(Cooldown {
                up_steps: 0,
                down_steps: 3,
            });
        let cause = || Reason::Peak { replicas: 0 };
        assert_eq!(g.apply(0, 60.0, 4, 12, cause()).replicas(), 8);
        assert_eq!(g.apply(1, 60.0, 8, 2, cause()).replicas(), 8); // stabilized at 12 → current
        assert_eq!(g.apply(2, 60.0, 8, 2, cause()).replicas(), 8);
        // window now holds steps 1..=3 (2, 2, 2) but the cooldown after step 0 ended at 3
        assert_eq!(g.apply(3, 60.0, 8, 2, cause()).replicas(), 2);
        assert!(Bounds::new(3, 2).is_err());
    }
}

//! The outcome of one policy step and the typed reasons that explain it.

use std::fmt;

/// What a policy decided at one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Keep the requested replica count.
    Hold { replicas: u32, reason: Reason },
    /// Change the requested replica count.
    Scale { from: u32, to: u32, reason: Reason },
}

impl Decision {
    /// A `Scale` when `to != from`, else a `Hold`.
    pub fn between(from: u32, to: u32, reason: Reason) -> Self {
        if to == from {
            Decision::Hold {
                replicas: to,
                reason,
            }
        } else {
            Decision::Scale { from, to, reason }
        }
    }

    /// The replica count requested after this decision.
    pub fn replicas(&self) -> u32 {
        match self {
            Decision::Hold { replicas, .. } => *replicas,
            Decision::Scale { to, .. } => *to,
        }
    }

    /// Why.
    pub fn reason(&self) -> &Reason {
        match self {
            Decision::Hold { reason, .. } | Decision::Scale { reason, .. } => reason,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Hold { replicas, reason } => write!(f, "hold {replicas}: {reason}"),
            Decision::Scale { from, to, reason } => write!(f, "scale {from} -> {to}: {reason}"),
        }
    }
}

/// A shared guard that changed a policy's wish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The min/max replica bounds.
    Bounds { min: u32, max: u32 },
    /// Scale-in held at the highest recommendation of the stabilization window.
    Stabilization { window_steps: usize },
    /// The scale-up rate/step limit.
    ScaleUpLimit { limit: u32 },
    /// The scale-down rate/step limit.
    ScaleDownLimit { limit: u32 },
    /// Too few steps since the last change.
    Cooldown { steps_left: usize },
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guard::Bounds { min, max } => write!(f, "bounds [{min}, {max}]"),
            Guard::Stabilization { window_steps } => {
                write!(f, "scale-in stabilization over {window_steps} past steps")
            }
            Guard::ScaleUpLimit { limit } => write!(f, "scale-up limit {limit}"),
            Guard::ScaleDownLimit { limit } => write!(f, "scale-down limit {limit}"),
            Guard::Cooldown { steps_left } => write!(f, "cooldown, {steps_left} steps left"),
        }
    }
}

/// Why a policy decided what it did. Each variant explains itself through `Display`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// HPA: the utilization ratio is within the tolerance of the target.
    WithinTolerance { utilization: f64, target: f64 },
    /// HPA: desired = ceil(ready × utilization / target).
    Utilization {
        utilization: f64,
        target: f64,
        desired: u32,
    },
    /// Threshold: the forecast exceeds the scale-up threshold of current capacity.
    ForecastAbove { forecast: f64, threshold: f64 },
    /// Threshold: the forecast is below the scale-down threshold of current capacity.
    ForecastBelow { forecast: f64, threshold: f64 },
    /// Threshold: the forecast lies between the thresholds.
    ForecastInBand { forecast: f64 },
    /// Threshold: the prediction interval is too wide to act on.
    ForecastTooUncertain { relative_width: f64, bound: f64 },
    /// Predictive: sized for the forecast upper bound at the lead time times the learned headroom.
    ForecastNeed {
        upper: f64,
        headroom: f64,
        need: u32,
    },
    /// Predictive: the reactive need on observed demand exceeded the forecast need.
    ReactiveNeed {
        demand: f64,
        headroom: f64,
        need: u32,
    },
    /// No forecast yet (too little history): the reactive rule on observed demand decided.
    ReactiveFallback { demand: f64, target: f64, need: u32 },
    /// Oracle: the largest need from now until the added replicas are ready.
    Foresight { need: u32 },
    /// Oracle without a lookahead: only the current need is known.
    NoLookahead { need: u32 },
    /// Static: the peak need of the whole trace.
    Peak { replicas: u32 },
    /// A guard changed the wish `wanted` that `cause` produced.
    Guarded {
        guard: Guard,
        wanted: u32,
        cause: Box<Reason>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::WithinTolerance {
                utilization,
                target,
            } => write!(
                f,
                "utilization {utilization:.3} within tolerance of target {target:.2}"
            ),
            Reason::Utilization {
                utilization,
                target,
                desired,
            } => write!(
                f,
                "utilization {utilization:.3} vs target {target:.2} wants {desired} replicas"
            ),
            Reason::ForecastAbove {
                forecast,
                threshold,
            } => write!(f, "forecast {forecast:.3} above scale-up threshold {threshold:.3}"),
            Reason::ForecastBelow {
                forecast,
                threshold,
            } => write!(
                f,
                "forecast {forecast:.3} below scale-down threshold {threshold:.3}"
            ),
            Reason::ForecastInBand { forecast } => {
                write!(f, "forecast {forecast:.3} between the thresholds")
            }
            Reason::ForecastTooUncertain {
                relative_width,
                bound,
            } => write!(
                f,
                "forecast interval too wide (relative width {relative_width:.2} > {bound:.2})"
            ),
            Reason::ForecastNeed {
                upper,
                headroom,
                need,
            } => write!(
                f,
                "forecast upper bound {upper:.3} × learned headroom {headroom:.3} needs {need} replicas"
            ),
            Reason::ReactiveNeed {
                demand,
                headroom,
                need,
            } => write!(
                f,
                "observed demand {demand:.3} × headroom {headroom:.3} needs {need} replicas (above the forecast need)"
            ),
            Reason::ReactiveFallback {
                demand,
                target,
                need,
            } => write!(
                f,
                "no forecast yet: reactive rule on observed demand {demand:.3} at target {target:.2} needs {need} replicas"
            ),
            Reason::Foresight { need } => {
                write!(f, "perfect foresight: peak need until ready is {need}")
            }
            Reason::NoLookahead { need } => {
                write!(f, "no lookahead given: current need {need}")
            }
            Reason::Peak { replicas } => write!(f, "static peak provisioning of {replicas}"),
            Reason::Guarded {
                guard,
                wanted,
                cause,
            } => write!(f, "{cause}; {guard} changed {wanted}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_itself() {
        let d = Decision::between(
            3,
            5,
            Reason::Guarded {
                guard: Guard::Bounds { min: 1, max: 5 },
                wanted: 7,
                cause: Box::new(Reason::Foresight { need: 7 }),
            },
        );
        assert_eq!(d.replicas(), 5);
        assert_eq!(
            d.to_string(),
            "scale 3 -> 5: perfect foresight: peak need until ready is 7; bounds [1, 5] changed 7"
        );
        assert!(matches!(
            Decision::between(2, 2, Reason::Peak { replicas: 2 }),
            Decision::Hold { replicas: 2, .. }
        ));
    }
}

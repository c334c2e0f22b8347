//! Policy selection by name and construction with the trace-level context.

use crate::error::invalid;
use crate::{
    Bounds, Hpa, HpaConfig, Oracle, Policy, PolicyError, Predictive, PredictiveConfig, StaticPeak,
    Threshold, ThresholdConfig,
};
use std::fmt;
use std::str::FromStr;

/// Which policy to run, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyKind {
    Hpa(HpaConfig),
    Threshold(ThresholdConfig),
    Predictive(PredictiveConfig),
    Oracle,
    /// The peak need of the whole trace.
    Static,
}

/// What building a policy needs to know about the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildContext {
    pub bounds: Bounds,
    pub step_seconds: f64,
    /// Peak need of the whole trace (for `Static`).
    pub peak_need: u32,
}

impl PolicyKind {
    /// The default five: hpa, threshold, predictive, oracle, static.
    pub fn all_defaults() -> Vec<PolicyKind> {
        vec![
            PolicyKind::Hpa(HpaConfig::default()),
            PolicyKind::Threshold(ThresholdConfig::default()),
            PolicyKind::Predictive(PredictiveConfig::default()),
            PolicyKind::Oracle,
            PolicyKind::Static,
        ]
    }

    /// HPA policies at each utilization target (for the HPA trade-off curve).
    pub fn hpa_curve(targets: &[f64]) -> Vec<PolicyKind> {
        targets
            .iter()
            .map(|&t| PolicyKind::Hpa(HpaConfig::with_target(t)))
            .collect()
    }

    /// The name results are keyed by: `hpa`, `threshold`, `predictive`, `oracle`, `static`, and
    /// `hpa@0.50` for an HPA whose target is not the default 0.7, `predictive@0.04` for a predictive
    /// policy whose violation budget is not the default 0.01, `threshold@1.3/0.7` for a threshold
    /// policy whose scale-up / scale-down thresholds are not the defaults 1.2 / 0.8.
    pub fn label(&self) -> String {
        match self {
            PolicyKind::Hpa(c) if (c.target - HpaConfig::default().target).abs() > 1e-12 => {
                format!("hpa@{:.2}", c.target)
            }
            PolicyKind::Hpa(_) => "hpa".into(),
            PolicyKind::Threshold(c) => {
                let d = ThresholdConfig::default();
                if (c.up - d.up).abs() > 1e-12 || (c.down - d.down).abs() > 1e-12 {
                    format!("threshold@{}/{}", c.up, c.down)
                } else {
                    "threshold".into()
                }
            }
            PolicyKind::Predictive(c)
                if (c.headroom.budget - PredictiveConfig::default().headroom.budget).abs()
                    > 1e-12 =>
            {
                format!("predictive@{}", c.headroom.budget)
            }
            PolicyKind::Predictive(_) => "predictive".into(),
            PolicyKind::Oracle => "oracle".into(),
            PolicyKind::Static => "static".into(),
        }
    }

    /// Sets the violation budget of a predictive policy; other kinds are returned unchanged.
    pub fn with_budget(self, budget: f64) -> Result<Self, PolicyError> {
        match self {
            PolicyKind::Predictive(mut c) => {
                c.headroom.budget = budget;
                c.validate()?;
                Ok(PolicyKind::Predictive(c))
            }
            other => Ok(other),
        }
    }

    /// The violation budget of a predictive policy (`None` for kinds without one).
    pub fn budget(&self) -> Option<f64> {
        match self {
            PolicyKind::Predictive(c) => Some(c.headroom.budget),
            _ => None,
        }
    }

    /// Sets the utilization target of an HPA policy; other kinds are returned unchanged.
    pub fn with_target(self, target: f64) -> Result<Self, PolicyError> {
        match self {
            PolicyKind::Hpa(mut c) => {
                c.target = target;
                c.validate()?;
                Ok(PolicyKind::Hpa(c))
            }
            other => Ok(other),
        }
    }

    /// Builds a fresh policy value.
    pub fn build(&self, ctx: &BuildContext) -> Result<Box<dyn Policy>, PolicyError> {
        if !(ctx.step_seconds > 0.0 && ctx.step_seconds.is_finite()) {
            return Err(invalid(
                "step_seconds",
                ctx.step_seconds,
                "must be positive",
            ));
        }
        Ok(match self {
            PolicyKind::Hpa(c) => Box::new(Hpa::new(*c, ctx.bounds, ctx.step_seconds)?),
            PolicyKind::Threshold(c) => Box::new(Threshold::new(*c, ctx.bounds)?),
            PolicyKind::Predictive(c) => Box::new(Predictive::new(*c, ctx.bounds)?),
            PolicyKind::Oracle => Box::new(Oracle::new(ctx.bounds)),
            PolicyKind::Static => Box::new(StaticPeak::new(ctx.peak_need, ctx.bounds)),
        })
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FromStr for PolicyKind {
    type Err = PolicyError;
    /// Parses `hpa`, `threshold`, `predictive`, `oracle`, `static` (default settings), `hpa@0.6`,
    /// `predictive@0.02` or `threshold@1.3/0.7`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if let Some(target) = t.strip_prefix("hpa@") {
            let v: f64 = target
                .parse()
                .map_err(|_| invalid("hpa target", target, "not a number"))?;
            return PolicyKind::Hpa(HpaConfig::default()).with_target(v);
        }
        if let Some(rest) = t.strip_prefix("threshold@") {
            let (up, down) = rest.split_once('/').ok_or_else(|| {
                invalid("threshold", rest, "write threshold@UP/DOWN, e.g. 1.3/0.7")
            })?;
            let num = |field, v: &str| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| invalid(field, v, "not a number"))
            };
            let c = ThresholdConfig {
                up: num("threshold up", up)?,
                down: num("threshold down", down)?,
                ..ThresholdConfig::default()
            };
            c.validate()?;
            return Ok(PolicyKind::Threshold(c));
        }
        if let Some(budget) = t.strip_prefix("predictive@") {
            let v: f64 = budget
                .parse()
                .map_err(|_| invalid("predictive budget", budget, "not a number"))?;
            return PolicyKind::Predictive(PredictiveConfig::default()).with_budget(v);
        }
        match t.as_str() {
            "hpa" => Ok(PolicyKind::Hpa(HpaConfig::default())),
            "threshold" => Ok(PolicyKind::Threshold(ThresholdConfig::default())),
            "predictive" => Ok(PolicyKind::Predictive(PredictiveConfig::default())),
            "oracle" => Ok(PolicyKind::Oracle),
            "static" => Ok(PolicyKind::Static),
            _ => Err(PolicyError::Unknown(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in PolicyKind::all_defaults() {
            assert_eq!(k.label().parse::<PolicyKind>(), Ok(k));
        }
        let h: PolicyKind = "hpa@0.5".parse().unwrap();
        assert_eq!(h.label(), "hpa@0.50");
        let p: PolicyKind = "predictive@0.04".parse().unwrap();
        assert_eq!(p.label(), "predictive@0.04");
        assert_eq!(p.label().parse::<PolicyKind>(), Ok(p));
        assert!("predictive@7".parse::<PolicyKind>().is_err());
        assert!("hpa@2".parse::<PolicyKind>().is_err());
        assert!("magic".parse::<PolicyKind>().is_err());
    }
}

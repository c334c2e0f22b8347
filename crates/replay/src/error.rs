//! Typed errors of the replay harness.

use thiserror::Error;

/// Why a simulation could not run.
#[derive(Debug, Error, PartialEq)]
pub enum ReplayError {
    /// The demand series is empty.
    #[error("the demand series is empty")]
    EmptyDemand,
    /// A demand value is NaN, infinite or negative.
    #[error("demand at step {index} is {value}: demand must be finite and >= 0")]
    BadDemand { index: usize, value: f64 },
    /// The capacity per replica is unusable (given or derived as p99/10).
    #[error("capacity per replica {0} must be finite and positive (all-zero demand needs --capacity-per-replica)")]
    BadCapacity(f64),
    /// A configuration field is invalid.
    #[error("invalid simulator configuration: {field} = {value}: {reason}")]
    InvalidConfig {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// No policies were asked for.
    #[error("no policies to simulate")]
    NoPolicies,
    /// The controller refused its spec or a policy.
    #[error(transparent)]
    Control(#[from] prescale_control::ControlError),
    /// A policy configuration is invalid.
    #[error(transparent)]
    Policy(#[from] prescale_policy::PolicyError),
    /// A purchase setting does not fit the pricing catalogue.
    #[error(transparent)]
    Pricing(#[from] prescale_policy::PricingError),
}

//! prescale-policy: pure, synchronous scaling policies and the guards they share.
//!
//! A [`Policy`] turns a [`PolicyInput`] (what is observed now, what is forecast, what is provisioned)
//! into a [`Decision`] with a typed [`Reason`]. Every policy routes its wish through the same
//! [`Guards`] (bounds, cooldown, scale-in stabilization, step/rate limits), so guard behaviour is
//! written once. No policy reads the clock or does I/O; state (stabilization history, the online
//! headroom controller) lives inside the policy value, so the simulator and the live loop call the
//! very same code.

pub mod decision;
pub mod error;
pub mod guards;
pub mod headroom;
pub mod hedge;
pub mod hpa;
pub mod input;
pub mod instances;
pub mod kind;
pub mod need;
pub mod oracle;
pub mod predictive;
pub mod pricing;
pub mod purchase;
pub mod spec;
pub mod static_peak;
pub mod threshold;

pub use decision::{Decision, Guard, Reason};
pub use error::PolicyError;
pub use guards::{Bounds, Cooldown, Guards, RateLimit, Stabilizer};
pub use headroom::{HeadroomConfig, HeadroomController, HeadroomState};
pub use hedge::{HedgeConfig, HedgeController, LevelScale, Outcome};
pub use hpa::{Hpa, HpaConfig};
pub use input::{Policy, PolicyInput};
pub use instances::{InstanceCatalogue, InstanceType};
pub use kind::{BuildContext, PolicyKind};
pub use need::replicas_for;
pub use oracle::Oracle;
pub use predictive::{ControllerKind, Predictive, PredictiveConfig};
pub use pricing::{
    PricedInstance, PricingCatalogue, PricingError, Spot, SpotPrice, SpotPriceHistory,
};
pub use purchase::{Mix, PlannerParams, PurchasePlanner, PurchaseSpec};
pub use static_peak::StaticPeak;
pub use threshold::{Threshold, ThresholdConfig};

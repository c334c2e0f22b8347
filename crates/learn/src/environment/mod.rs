//! Environment matching: which environment (instance type, node class or host) each workload runs
//! in, the capacity one replica serves there learned from its telemetry, and the instance type
//! chosen by measured cost per unit of work, with a cold-start guess from similar workloads.

pub mod capacity;
pub mod choice;
pub mod error;
pub mod key;
pub mod measure;
pub mod speeds;

pub use capacity::{fit_capacity, CapacityFit, Observation, MIN_OBSERVATIONS};
pub use choice::{choose_by_cost, CapacitySource, EnvironmentChoice, InstanceCost, Need, Unfit};
pub use error::EnvironmentError;
pub use key::{workload_environment, EnvironmentKey, INSTANCE_TYPE_LABELS, NODE_CLASS_LABELS};
pub use measure::{measure_environments, EnvironmentReport, MeasureOptions, Measurement, Skipped};
pub use speeds::instance_speeds;

#[cfg(test)]
mod tests;

//! Live telemetry decoding: Prometheus exposition text, remote-write payloads, and sample admission.
//!
//! The crate is pure and synchronous: bytes in, typed samples or typed errors out. The three stages are
//! [`exposition`] (scraped `/metrics` text), [`remote_write`] (protobuf + snappy pushes) and [`admit`]
//! (validation, series mapping and counter rates turning [`RawSample`]s into `prescale_core::Point`s).
//! [`gc`] reads the Go and JVM garbage-collector metrics among one workload's samples as a typed
//! live-heap-after-GC estimate.

pub mod admit;
pub mod exposition;
#[doc(hidden)]
pub mod fuzzing;
pub mod gc;
mod kind;
pub mod remote_write;
mod sample;

pub use kind::{KindIndex, MetricKind};
pub use sample::RawSample;

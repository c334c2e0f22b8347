//! Prometheus-compatible remote stores: back-fill via query_range, window reads, remote-write export.
//!
//! Everything here talks to a Prometheus HTTP API (Prometheus, VictoriaMetrics, Thanos, Mimir...)
//! synchronously with `ureq`:
//! - [`PromClient`]: `query_range` (chunked under the 11,000 points limit), `query`, `series`,
//!   raw window reads;
//! - [`backfill`]: configured [`BackfillQuery`]s → validated `prescale_core::Series`;
//! - [`RemoteWriter`]: remote-write 1.0 pushes with retries; [`naming`] fixes the exported names;
//! - [`PromWindowSource`]: a remote server as the place windows are read from (`prescale_core::WindowSource`).

mod api;
pub mod backfill;
mod base64;
pub mod client;
pub mod config;
pub mod error;
mod http;
pub mod naming;
pub mod options;
pub mod payload;
pub mod range;
pub mod template;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
pub mod window;
pub mod writer;

pub use api::{ms_to_seconds_text, parse_value, seconds_to_ms, InstantSample, RangeSeries};
pub use backfill::{backfill, backfill_report, BackfillQuery, BackfillReport};
pub use client::{InstantAnswer, Progress, PromClient, RangeAnswer};
pub use config::{BackfillConfig, BackfillPlan, EndpointConfig, RemoteWriteConfig};
pub use error::RemoteError;
pub use naming::PromSample;
pub use options::{Auth, ClientOptions};
pub use range::{TimeRange, PROMETHEUS_MAX_POINTS};
pub use template::Template;
pub use window::{PromWindowSource, RemoteLayout};
pub use writer::{PushStats, RemoteWriter, RetryPolicy, WriterOptions};

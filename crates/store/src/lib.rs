//! The embedded prescale store: series, fingerprint runs, clusterings, models, forecasts, control
//! decisions and operator annotations in SQLite.
//!
//! Samples rest in compressed chunks per series (`chunks.rs`, `chunk_codec.rs`). Live telemetry
//! arrives through `append_points` (batched, one transaction a batch): each batch is one compressed
//! row of a write-ahead log (`wal_log.rs`), committed before the call returns, kept decoded in
//! memory by every handle (`head.rs`) and flushed into chunks once large; `apply_retention` keeps it
//! bounded by rolling raw samples up into per-step min/mean/max/count rows and deleting old ones;
//! `load_window` reads raw and rollups together, while `load_series` stays raw-only so that the
//! later stages see one regular sampling step.
//!
//! One file, WAL journal, `synchronous=FULL`, foreign keys on; every write is one transaction, so a
//! write that fails (or a process killed mid-write) leaves the file as it was before that write.
//! Appends commit without waiting for the disk and are made durable by one fsync of the journal for
//! all the appends waiting at the time (group commit, `group_commit.rs`), before they return
//! (`append_batch`) or before their `PendingCommit::wait` returns (`append_batch_deferred`).

mod annotations;
mod append;
mod bits;
mod chunk_codec;
mod chunks;
mod clusterings;
mod codec;
mod convert;
mod decisions;
mod error;
mod fingerprints;
mod fleet_models;
mod forecasts;
mod group_commit;
mod head;
mod open;
mod options;
mod outbox;
mod read_pool;
mod records;
mod retention;
mod schema;
mod series;
mod series_stats;
mod summaries;
mod wal_log;
mod window;

pub use annotations::AnnotationRow;
pub use append::AppendStats;
pub use chunk_codec::chunk_sizes;
pub use convert::convert_some;
pub use decisions::{DecidedReplicas, DecisionRow};
pub use error::StoreError;
pub use fingerprints::{basis_id, BasisFingerprint, StoredBasis};
pub use fleet_models::{FleetModelRow, FLEET_MODELS_KEPT};
pub use group_commit::PendingCommit;
pub use open::Store;
pub use options::{StoreOptions, Synchronous};
pub use read_pool::ReadPool;
pub use records::{
    ClusterRecord, ClusteringRun, FingerprintRun, FingerprintScores, ForecastRecord, ModelRecord,
    SeriesInfo, UpsertStats,
};
pub use retention::{Retention, RetentionStats};
pub use schema::SCHEMA_VERSION;
pub use summaries::{SeriesSpan, SeriesSummary, WorkloadSummary};
pub use window::Rollup;

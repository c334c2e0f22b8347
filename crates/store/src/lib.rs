//! The embedded prescale store: series, fingerprint runs, clusterings, models and forecasts in SQLite.
//!
//! One file, WAL journal, `synchronous=FULL`, foreign keys on; every write is one transaction, so a
//! write that fails (or a process killed mid-write) leaves the file as it was before that write.

mod clusterings;
mod codec;
mod error;
mod fingerprints;
mod forecasts;
mod open;
mod records;
mod schema;
mod series;

pub use error::StoreError;
pub use open::Store;
pub use records::{
    ClusterRecord, ClusteringRun, FingerprintRun, ForecastRecord, ModelRecord, SeriesInfo,
    UpsertStats,
};
pub use schema::SCHEMA_VERSION;

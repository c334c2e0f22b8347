//! prescale telemetry: sources that turn recorded or live measurements into validated series.

pub mod cycle;
pub mod import;
pub mod resample;
pub mod synthetic;

pub use import::{
    csv_files, format_iso8601, import_file, import_reader, parse_timestamp, CsvShape, ImportError,
    ImportOptions, ImportSummary, Imported, TimeKind,
};
pub use resample::{resample, Agg};

//! Errors of CSV import and resampling; each names the file (and line) and what was wrong.

use prescale_core::CoreError;
use thiserror::Error;

/// Why an import (or a resample) failed.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The file could not be read (or a directory could not be listed).
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Nothing but blank lines.
    #[error("{file}: file is empty")]
    Empty { file: String },
    /// A header row and no data rows.
    #[error("{file}: has a header but no data rows")]
    HeaderOnly { file: String },
    /// Every data row was bad and skipped.
    #[error("{file}: no valid data rows ({skipped} bad rows skipped)")]
    NoValidRows { file: String, skipped: usize },
    /// One bad data row (line is 1-based and counts the header).
    #[error("{file}:{line}: {reason}")]
    BadRow {
        file: String,
        line: usize,
        reason: String,
    },
    /// The header names no metric column, or the first data row has no number in any of them.
    #[error("{file}: no numeric columns: {detail}")]
    NoNumericColumns { file: String, detail: String },
    /// The header row is unusable (numeric, duplicate or empty names, wrong shape for the one asked for).
    #[error("{file}:{line}: header: {reason}")]
    Header {
        file: String,
        line: usize,
        reason: String,
    },
    /// `ImportOptions::columns` names a column the file does not have.
    #[error("{file}: column {column:?} not found (metric columns: {available})")]
    UnknownColumn {
        file: String,
        column: String,
        available: String,
    },
    /// A name or series built from the file is invalid (e.g. an empty workload id).
    #[error("{file}: {what}: {source}")]
    Invalid {
        file: String,
        what: String,
        #[source]
        source: CoreError,
    },
    /// Resampling could not produce a valid series.
    #[error("resampling {key}: {reason}")]
    Resample { key: String, reason: String },
}

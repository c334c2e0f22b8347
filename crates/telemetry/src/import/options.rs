//! What an import is asked to do (`ImportOptions`) and what it reports back (`ImportSummary`).

use prescale_core::{Interval, Labels, Series, Timestamp};
use std::fmt;
use std::path::PathBuf;

/// The layout of a CSV trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsvShape {
    /// `timestamp,value`: a time column and one column named `value` (NAB).
    Nab,
    /// `;`- (or `;\t`-) separated, a time column and many metric columns per VM (Bitbrains GWA-T-12).
    Bitbrains,
    /// A time column and one column per metric, or no time column (row index).
    Wide,
    /// `timestamp,app,metric,value`: one series per (app, metric).
    Long,
}

impl CsvShape {
    /// The value of the `format` label.
    pub fn as_str(self) -> &'static str {
        match self {
            CsvShape::Nab => "nab",
            CsvShape::Bitbrains => "bitbrains",
            CsvShape::Wide => "wide",
            CsvShape::Long => "long",
        }
    }
}

impl fmt::Display for CsvShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the rows of a file were placed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeKind {
    /// ISO-8601 dates or date-times (no offset = UTC).
    Iso8601,
    /// Unix epoch seconds (integer or decimal).
    UnixSeconds,
    /// Unix epoch milliseconds.
    UnixMillis,
    /// No time column: row i is at `start + i * interval`.
    RowIndex,
}

/// Options of one import; `ImportOptions::default()` detects everything.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `None`: detect from the header and separator.
    pub shape: Option<CsvShape>,
    /// Workload id; default: the file stem. Ignored for `Long` files, which take it from the app column.
    pub workload: Option<String>,
    /// Row spacing of row-index files (row i → `start + i * interval`); default 60 s, reported in
    /// `ImportSummary::assumed_interval`. Ignored when the file has a time column.
    pub interval: Option<Interval>,
    /// Time of row 0 of row-index files (default 0 = the Unix epoch).
    pub start: Timestamp,
    /// Import only these metric columns (header text; for `Long` files: these metric names).
    pub columns: Option<Vec<String>>,
    /// Skip bad rows (counted, first few reported) instead of failing on the first one.
    pub skip_bad: bool,
    /// Added to every imported series; they override `source_file`/`format`/`unit` when names clash.
    pub extra_labels: Labels,
    /// Longest line (and quoted multi-line record) read, in bytes (default 1 MiB): a longer one is
    /// a bad row `file:line: line longer than N bytes` (the header: a header error), never held
    /// in memory whole.
    pub max_line_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            shape: None,
            workload: None,
            interval: None,
            start: Timestamp(0),
            columns: None,
            skip_bad: false,
            extra_labels: Labels::new(),
            max_line_bytes: super::record::DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    pub file: PathBuf,
    pub shape: CsvShape,
    /// Data rows read (blank lines and the header excluded, bad rows included).
    pub rows: usize,
    pub series: usize,
    pub samples: usize,
    pub skipped_bad: usize,
    /// The first few bad rows as `file:line: reason`.
    pub bad_examples: Vec<String>,
    /// Rows (Long: samples) whose timestamp repeated an earlier one and were merged into it (mean).
    pub duplicates_merged: usize,
    /// Rows (Long: samples per series) whose timestamp was earlier than the row before; all were sorted.
    pub out_of_order_sorted: usize,
    /// The row interval used for a row-index file when none was given.
    pub assumed_interval: Option<Interval>,
    pub time_kind: TimeKind,
    /// Metric columns imported (Table shapes) or metric names seen (Long), in output order.
    pub metric_columns: Vec<String>,
}

/// Series read from one file plus the summary of how.
#[derive(Debug, Clone)]
pub struct Imported {
    pub series: Vec<Series>,
    pub summary: ImportSummary,
}

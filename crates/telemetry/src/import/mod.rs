//! CSV trace import: NAB, Bitbrains, wide and long files into validated series with a summary.

mod assemble;
mod error;
mod files;
#[doc(hidden)]
pub mod fuzzing;
mod layout;
mod options;
mod reader;
mod record;
mod timeparse;

pub use error::ImportError;
pub use files::{csv_files, import_file};
pub use options::{CsvShape, ImportOptions, ImportSummary, Imported, TimeKind};
pub use reader::import_reader;
pub use timeparse::{format_iso8601, parse_timestamp};

#[cfg(test)]
mod tests;

//! File-system entry points: import one file, or list the CSV files under a directory.

use super::error::ImportError;
use super::options::{ImportOptions, Imported};
use super::reader::import_reader;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Imports one CSV file (see [`import_reader`]); messages and labels use the path as given.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| ImportError::Io {
        file: name.clone(),
        source,
    })?;
    import_reader(&name, BufReader::with_capacity(1 << 16, file), opts)
}

/// `path` itself when it is a file, else every `*.csv` below the directory (recursive, sorted).
/// Symbolic links to directories are not followed.
pub fn csv_files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let io = |p: &Path, source| ImportError::Io {
        file: p.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let p = entry.path();
            let kind = entry.file_type().map_err(|e| io(&p, e))?;
            if kind.is_dir() {
                dirs.push(p);
            } else if is_csv(&p) && (kind.is_file() || p.is_file()) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn is_csv(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

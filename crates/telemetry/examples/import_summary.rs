//! Imports every CSV under the given paths (default: ../shared/data) and prints each summary and its time.

use prescale_telemetry::{csv_files, import_file, ImportOptions};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        paths.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    }
    let opts = ImportOptions {
        skip_bad: true,
        ..ImportOptions::default()
    };
    let (mut rows, started) = (0usize, Instant::now());
    for path in paths {
        for file in csv_files(&path)? {
            let t = Instant::now();
            let imp = import_file(&file, &opts)?;
            let s = &imp.summary;
            rows += s.rows;
            println!(
                "{:>9.1} ms  {:<10} {:<11} rows {:>8}  series {:>2}  samples {:>8}  dup {:>3}  unordered {:>4}  bad {}  {}",
                t.elapsed().as_secs_f64() * 1e3,
                s.shape.as_str(),
                format!("{:?}", s.time_kind),
                s.rows,
                s.series,
                s.samples,
                s.duplicates_merged,
                s.out_of_order_sorted,
                s.skipped_bad,
                file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{rows} rows in {secs:.2} s ({:.0} rows/s)",
        rows as f64 / secs
    );
    Ok(())
}

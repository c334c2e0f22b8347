//! Invariant checks of the CSV importer shared by its cargo-fuzz target and the corpus-replay test
//! (not a stable API): `Err` describes a broken invariant; the fuzz target panics on it.

use super::{import_reader, CsvShape, ImportOptions};

const SHAPES: [Option<CsvShape>; 5] = [
    None,
    Some(CsvShape::Nab),
    Some(CsvShape::Bitbrains),
    Some(CsvShape::Wide),
    Some(CsvShape::Long),
];

/// Imports `data` in every shape, failing on or skipping bad rows, and with a tiny line limit:
/// an import either fails with a message naming the file, or yields non-empty, time-ordered,
/// finite series whose summary adds up.
pub fn csv_import(data: &[u8]) -> Result<(), String> {
    let mut cases: Vec<ImportOptions> = SHAPES
        .iter()
        .flat_map(|&shape| {
            [false, true].map(|skip_bad| ImportOptions {
                shape,
                skip_bad,
                ..ImportOptions::default()
            })
        })
        .collect();
    cases.push(ImportOptions {
        max_line_bytes: 16,
        skip_bad: true,
        ..ImportOptions::default()
    });
    for opts in &cases {
        let what = format!(
            "shape {:?}, skip_bad {}, max_line_bytes {}",
            opts.shape, opts.skip_bad, opts.max_line_bytes
        );
        match import_reader("fuzz.csv", data, opts) {
            Err(e) => {
                let msg = e.to_string();
                if !msg.starts_with("fuzz.csv") {
                    return Err(format!("{what}: error does not name the file: {msg}"));
                }
            }
            Ok(imp) => {
                let s = &imp.summary;
                let samples: usize = imp.series.iter().map(|x| x.len()).sum();
                if samples != s.samples || samples == 0 || s.series != imp.series.len() {
                    return Err(format!(
                        "{what}: summary says {} samples in {} series, got {samples} in {}",
                        s.samples,
                        s.series,
                        imp.series.len()
                    ));
                }
                if s.skipped_bad > s.rows || (!opts.skip_bad && s.skipped_bad > 0) {
                    return Err(format!(
                        "{what}: {} bad rows skipped of {} rows",
                        s.skipped_bad, s.rows
                    ));
                }
                for series in &imp.series {
                    let pts = series.samples();
                    if series.is_empty()
                        || !pts.windows(2).all(|w| w[0].ts < w[1].ts)
                        || !pts.iter().all(|p| p.value.is_finite())
                    {
                        return Err(format!(
                            "{what}: series {} empty, unordered or not finite",
                            series.key
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

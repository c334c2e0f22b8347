//! `prescale import`: CSV traces into the embedded store, with a per-file summary.

use crate::args::{AggArg, ImportArgs, ReadArgs, ShapeArg};
use crate::output::table;
use crate::timearg;
use anyhow::{Context, Result};
use prescale_core::Series;
use prescale_store::Store;
use prescale_telemetry::{
    csv_files, import_file, resample, Agg, CsvShape, ImportOptions, ImportSummary,
};
use std::path::{Path, PathBuf};

/// Import options from the shared read flags.
pub fn options(read: &ReadArgs) -> Result<ImportOptions> {
    Ok(ImportOptions {
        shape: read.shape.map(|s| match s {
            ShapeArg::Nab => CsvShape::Nab,
            ShapeArg::Bitbrains => CsvShape::Bitbrains,
            ShapeArg::Wide => CsvShape::Wide,
            ShapeArg::Long => CsvShape::Long,
        }),
        workload: read.workload.clone(),
        interval: read
            .interval
            .as_deref()
            .map(|t| timearg::duration("--interval", t))
            .transpose()?,
        columns: (!read.columns.is_empty()).then(|| read.columns.clone()),
        skip_bad: read.skip_bad,
        ..ImportOptions::default()
    })
}

/// Reads every CSV under `paths`, resampled if asked: the one reading path for import and backtest.
pub fn read_all(paths: &[PathBuf], read: &ReadArgs) -> Result<Vec<(Vec<Series>, ImportSummary)>> {
    let opts = options(read)?;
    let step = read
        .resample
        .as_deref()
        .map(|t| timearg::duration("--resample", t))
        .transpose()?;
    let agg = match read.agg {
        AggArg::Sum => Agg::Sum,
        AggArg::Mean => Agg::Mean,
        AggArg::Max => Agg::Max,
        AggArg::Last => Agg::Last,
    };
    let mut files = Vec::new();
    for p in paths {
        files.extend(csv_files(p)?);
    }
    let mut out = Vec::with_capacity(files.len());
    for f in &files {
        let imported = import_file(f, &opts)?;
        let series = match step {
            Some(step) => imported
                .series
                .iter()
                .map(|s| resample(s, step, agg))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("resampling {}", f.display()))?,
            None => imported.series,
        };
        out.push((series, imported.summary));
    }
    Ok(out)
}

pub fn run(store: &mut Store, args: &ImportArgs) -> Result<()> {
    let batches = read_all(&args.paths, &args.read)?;
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    for (series, summary) in &batches {
        let (mut inserted, mut replaced) = (0, 0);
        for s in series {
            let st = store
                .upsert_series(s)
                .with_context(|| format!("storing {}", s.key))?;
            inserted += st.inserted;
            replaced += st.replaced;
        }
        rows.push(summary_row(summary, inserted, replaced));
        json_rows.push(serde_json::json!({
            "file": summary.file, "format": format!("{:?}", summary.shape), "rows": summary.rows,
            "series": summary.series, "samples": summary.samples, "inserted": inserted, "replaced": replaced,
            "skipped_bad": summary.skipped_bad, "bad_examples": summary.bad_examples,
            "duplicates_merged": summary.duplicates_merged, "out_of_order_sorted": summary.out_of_order_sorted,
            "assumed_interval_ms": summary.assumed_interval.map(|i| i.millis()),
        }));
    }
    if args.json {
        return super::print_json(&crate::output::json_result(&json_rows)?);
    }
    print!(
        "{}",
        table(
            &[
                "file",
                "format",
                "rows",
                "series",
                "samples",
                "new",
                "replaced",
                "bad skipped",
                "dup merged",
                "reordered"
            ],
            &rows
        )
    );
    for (_, s) in &batches {
        for ex in &s.bad_examples {
            println!("skipped: {ex}");
        }
        if let Some(i) = s.assumed_interval {
            println!(
                "note: {} has no timestamps; assumed one row every {} s (set --interval)",
                s.file.display(),
                i.secs_f64()
            );
        }
    }
    Ok(())
}

fn summary_row(s: &ImportSummary, inserted: usize, replaced: usize) -> Vec<String> {
    vec![
        short(&s.file),
        format!("{:?}", s.shape).to_lowercase(),
        s.rows.to_string(),
        s.series.to_string(),
        s.samples.to_string(),
        inserted.to_string(),
        replaced.to_string(),
        s.skipped_bad.to_string(),
        s.duplicates_merged.to_string(),
        s.out_of_order_sorted.to_string(),
    ]
}

/// File name for tables.
pub fn short(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

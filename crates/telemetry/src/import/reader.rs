//! The import loop: header → layout → rows (checked, skipped or rejected) → sorted, merged series.

use super::assemble::Columns;
use super::error::ImportError;
use super::layout::{plan, Layout, MetricColumn};
use super::options::{CsvShape, ImportOptions, ImportSummary, Imported, TimeKind};
use super::record::{Record, RecordReader, Sep};
use super::timeparse::TimeParser;
use prescale_core::{Interval, Labels, MetricName, Sample, Series, SeriesKey, WorkloadId};
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Bad-row messages kept in `ImportSummary::bad_examples`.
const BAD_EXAMPLES: usize = 5;
/// Row spacing assumed for row-index files when none is given.
const DEFAULT_ROW_INTERVAL_MS: i64 = 60_000;

/// Bad-row bookkeeping: fail on the first one, or count and keep a few examples.
struct BadRows<'a> {
    file: &'a str,
    skip: bool,
    skipped: usize,
    examples: Vec<String>,
}

impl BadRows<'_> {
    fn report(&mut self, line: usize, reason: String) -> Result<(), ImportError> {
        if !self.skip {
            return Err(ImportError::BadRow {
                file: self.file.to_string(),
                line,
                reason,
            });
        }
        self.skipped += 1;
        if self.examples.len() < BAD_EXAMPLES {
            self.examples
                .push(format!("{}:{line}: {reason}", self.file));
        }
        Ok(())
    }
}

fn parse_value(column: &str, text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err(format!("column {column:?}: empty value"));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "column {column:?}: {text:?} is not a finite number"
        )),
        Err(_) => Err(format!("column {column:?}: {text:?} is not a number")),
    }
}

fn io_error(file: &str, source: std::io::Error) -> ImportError {
    ImportError::Io {
        file: file.to_string(),
        source,
    }
}

fn next(
    records: &mut RecordReader<impl BufRead>,
    file: &str,
) -> Result<Option<Record>, ImportError> {
    records.next_record().map_err(|e| io_error(file, e))
}

/// Imports one CSV trace from `reader`; `name` is the file name used in labels, messages and the default workload.
pub fn import_reader(
    name: &str,
    reader: impl BufRead,
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    let file = name;
    let mut records = RecordReader::new(reader, opts.max_line_bytes);
    let sep = match records.peek_first_line().map_err(|e| io_error(file, e))? {
        None => {
            return Err(ImportError::Empty {
                file: file.to_string(),
            })
        }
        Some((_, Ok(text))) => Sep::detect(&text),
        Some((line, Err(reason))) => {
            return Err(ImportError::Header {
                file: file.to_string(),
                line,
                reason,
            })
        }
    };
    records.set_sep(sep);
    let Some(header) = next(&mut records, file)? else {
        return Err(ImportError::Empty {
            file: file.to_string(),
        });
    };
    let header_line = header.line;
    let header_fields = header.fields.map_err(|reason| ImportError::Header {
        file: file.to_string(),
        line: header_line,
        reason,
    })?;
    let first = next(&mut records, file)?;
    let Some(first) = first else {
        return Err(ImportError::HeaderOnly {
            file: file.to_string(),
        });
    };
    let first_fields = first.fields.as_ref().ok().map(Vec::as_slice);
    let (shape, layout) = plan(file, header_line, &header_fields, sep, first_fields, opts)?;
    if let (Layout::Table { metrics, .. }, Some(row)) = (&layout, first_fields) {
        check_some_numeric(file, metrics, row)?;
    }

    let mut bad = BadRows {
        file,
        skip: opts.skip_bad,
        skipped: 0,
        examples: Vec::new(),
    };
    let mut state = RowState {
        width: header_fields.len(),
        times: TimeParser::default(),
        rows: 0,
        interval: opts
            .interval
            .map_or(DEFAULT_ROW_INTERVAL_MS, Interval::millis),
        start: opts.start.millis(),
    };
    let mut record = Some(first);
    let base_labels = |shape: CsvShape| {
        let mut labels = Labels::new();
        let source = Path::new(file)
            .file_name()
            .map_or_else(|| file.to_string(), |n| n.to_string_lossy().into_owned());
        labels.insert("source_file".to_string(), source);
        labels.insert("format".to_string(), shape.as_str().to_string());
        labels
    };

    let (series, duplicates, descents, metric_columns) = match &layout {
        Layout::Table { time, metrics } => {
            let mut cols = Columns::with_columns(metrics.len());
            let mut values = vec![0.0; metrics.len()];
            while let Some(rec) = record {
                if let Err(reason) = state
                    .table_row(&rec, *time, metrics, &mut values)
                    .map(|ts| cols.push(ts, &values))
                {
                    bad.report(rec.line, reason)?;
                }
                record = next(&mut records, file)?;
            }
            let descents = cols.descents;
            let merged = cols.finish();
            let workload_text = match &opts.workload {
                Some(w) => w.clone(),
                None => Path::new(file)
                    .file_stem()
                    .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned()),
            };
            let workload = WorkloadId::new(workload_text).map_err(|e| ImportError::Invalid {
                file: file.to_string(),
                what: "workload id".to_string(),
                source: e,
            })?;
            let mut out = Vec::with_capacity(metrics.len());
            for (m, col) in metrics.iter().zip(&merged.cols) {
                let mut labels = base_labels(shape);
                labels.extend(m.labels.clone());
                labels.extend(opts.extra_labels.clone());
                let samples = merged
                    .ts
                    .iter()
                    .zip(col)
                    .map(|(&ts, &value)| Sample {
                        ts: prescale_core::Timestamp(ts),
                        value,
                    })
                    .collect();
                let key = SeriesKey::new(workload.clone(), m.metric.clone());
                out.push(build(file, key, labels, samples)?);
            }
            let names = metrics.iter().map(|m| m.header.clone()).collect();
            (out, merged.merged, descents, names)
        }
        Layout::Long {
            time,
            app,
            metric,
            value,
        } => {
            let mut by_key: BTreeMap<(WorkloadId, MetricName), Columns> = BTreeMap::new();
            let mut seen: BTreeSet<String> = BTreeSet::new();
            while let Some(rec) = record {
                match state.long_row(&rec, [*time, *app, *metric, *value]) {
                    Ok((ts, key, v)) => {
                        if !seen.contains(key.1.as_str()) {
                            seen.insert(key.1.to_string());
                        }
                        let wanted = opts
                            .columns
                            .as_ref()
                            .is_none_or(|c| c.iter().any(|n| n == key.1.as_str()));
                        if wanted {
                            by_key
                                .entry(key)
                                .or_insert_with(|| Columns::with_columns(1))
                                .push(ts, &[v]);
                        }
                    }
                    Err(reason) => bad.report(rec.line, reason)?,
                }
                record = next(&mut records, file)?;
            }
            if let Some(missing) = opts.columns.iter().flatten().find(|c| !seen.contains(*c)) {
                return Err(ImportError::UnknownColumn {
                    file: file.to_string(),
                    column: missing.clone(),
                    available: seen
                        .iter()
                        .map(|m| format!("{m:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            let (mut out, mut dups, mut descents, mut names) = (Vec::new(), 0, 0, Vec::new());
            for ((w, m), cols) in by_key {
                descents += cols.descents;
                let merged = cols.finish();
                dups += merged.merged;
                let mut labels = base_labels(shape);
                labels.extend(opts.extra_labels.clone());
                let samples = merged
                    .ts
                    .iter()
                    .zip(merged.cols.first().into_iter().flatten())
                    .map(|(&ts, &value)| Sample {
                        ts: prescale_core::Timestamp(ts),
                        value,
                    })
                    .collect();
                if !names.contains(&m.to_string()) {
                    names.push(m.to_string());
                }
                out.push(build(file, SeriesKey::new(w, m), labels, samples)?);
            }
            (out, dups, descents, names)
        }
    };

    let samples: usize = series.iter().map(Series::len).sum();
    if samples == 0 {
        return Err(ImportError::NoValidRows {
            file: file.to_string(),
            skipped: bad.skipped,
        });
    }
    let row_index = matches!(layout, Layout::Table { time: None, .. });
    let time_kind = if row_index {
        TimeKind::RowIndex
    } else {
        state.times.kind().unwrap_or(TimeKind::Iso8601)
    };
    let summary = ImportSummary {
        file: PathBuf::from(file),
        shape,
        rows: state.rows,
        series: series.len(),
        samples,
        skipped_bad: bad.skipped,
        bad_examples: bad.examples,
        duplicates_merged: duplicates,
        out_of_order_sorted: descents,
        assumed_interval: if row_index && opts.interval.is_none() {
            Interval::from_millis(DEFAULT_ROW_INTERVAL_MS)
        } else {
            None
        },
        time_kind,
        metric_columns,
    };
    Ok(Imported { series, summary })
}

fn build(
    file: &str,
    key: SeriesKey,
    labels: Labels,
    samples: Vec<Sample>,
) -> Result<Series, ImportError> {
    let what = format!("series {key}");
    Series::new(key, labels, samples).map_err(|e| ImportError::Invalid {
        file: file.to_string(),
        what,
        source: e,
    })
}

/// A first data row whose metric cells are all non-empty text means the file has no numeric columns.
fn check_some_numeric(
    file: &str,
    metrics: &[MetricColumn],
    row: &[String],
) -> Result<(), ImportError> {
    let cells: Vec<&String> = metrics.iter().filter_map(|m| row.get(m.index)).collect();
    if !cells.is_empty()
        && cells
            .iter()
            .all(|c| !c.is_empty() && c.parse::<f64>().is_err())
    {
        let names: Vec<String> = metrics.iter().map(|m| format!("{:?}", m.header)).collect();
        return Err(ImportError::NoNumericColumns {
            file: file.to_string(),
            detail: format!("the first data row has no number in {}", names.join(", ")),
        });
    }
    Ok(())
}

/// Per-row parsing state shared by both layouts.
struct RowState {
    width: usize,
    times: TimeParser,
    /// Data rows seen so far (bad ones included): the row index of the next row.
    rows: usize,
    interval: i64,
    start: i64,
}

impl RowState {
    fn fields<'r>(&mut self, rec: &'r Record) -> Result<&'r [String], String> {
        self.rows += 1;
        let fields = rec.fields.as_ref().map_err(Clone::clone)?;
        if fields.len() != self.width {
            return Err(format!(
                "expected {} fields, found {}",
                self.width,
                fields.len()
            ));
        }
        Ok(fields)
    }

    fn table_row(
        &mut self,
        rec: &Record,
        time: Option<usize>,
        metrics: &[MetricColumn],
        values: &mut [f64],
    ) -> Result<i64, String> {
        let index = self.rows as i64;
        let fields = self.fields(rec)?;
        let ts = match time {
            Some(t) => self.times.parse(&fields[t])?,
            None => index
                .checked_mul(self.interval)
                .and_then(|o| o.checked_add(self.start))
                .ok_or_else(|| format!("row {index} lies beyond the representable time range"))?,
        };
        for (slot, m) in values.iter_mut().zip(metrics) {
            *slot = parse_value(&m.header, &fields[m.index])?;
        }
        Ok(ts)
    }

    fn long_row(
        &mut self,
        rec: &Record,
        [time, app, metric, value]: [usize; 4],
    ) -> Result<(i64, (WorkloadId, MetricName), f64), String> {
        let fields = self.fields(rec)?;
        let ts = self.times.parse(&fields[time])?;
        let w =
            WorkloadId::new(fields[app].as_str()).map_err(|e| format!("column \"app\": {e}"))?;
        let m = MetricName::new(fields[metric].as_str())
            .map_err(|e| format!("column \"metric\": {e}"))?;
        let v = parse_value("value", &fields[value])?;
        Ok((ts, (w, m), v))
    }
}

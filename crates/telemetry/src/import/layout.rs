//! Reads a header (and the first data row) into a layout: the shape, the time column and the metric columns.

use super::error::ImportError;
use super::options::{CsvShape, ImportOptions};
use super::record::Sep;
use super::timeparse::parse_iso8601;
use prescale_core::{Labels, MetricName};

/// One metric column of a table-shaped file.
#[derive(Debug, Clone)]
pub(crate) struct MetricColumn {
    pub index: usize,
    pub header: String,
    pub metric: MetricName,
    /// Labels the header implies (`unit` from a trailing `[...]`).
    pub labels: Labels,
}

/// Where the data sits in each row.
#[derive(Debug, Clone)]
pub(crate) enum Layout {
    /// A time column (or none: row index) and one column per metric.
    Table {
        time: Option<usize>,
        metrics: Vec<MetricColumn>,
    },
    /// `timestamp, app, metric, value` columns (by position).
    Long {
        time: usize,
        app: usize,
        metric: usize,
        value: usize,
    },
}

/// Lowercased header text without a trailing `[unit]`.
fn normalize(h: &str) -> String {
    let base = match (h.rfind('['), h.ends_with(']')) {
        (Some(i), true) => &h[..i],
        _ => h,
    };
    base.trim().to_ascii_lowercase()
}

fn is_time_name(h: &str) -> bool {
    matches!(
        normalize(h).as_str(),
        "timestamp"
            | "time"
            | "ts"
            | "ds"
            | "date"
            | "datetime"
            | "date_time"
            | "epoch"
            | "time_stamp"
    )
}

fn unit_of(h: &str) -> Option<&str> {
    let open = h.rfind('[')?;
    let unit = h.get(open + 1..h.len().checked_sub(1)?)?.trim();
    (h.ends_with(']') && !unit.is_empty()).then_some(unit)
}

fn find(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.contains(&normalize(h).as_str()))
}

fn long_by_name(header: &[String]) -> Option<(usize, usize, usize, usize)> {
    if header.len() != 4 {
        return None;
    }
    let time = header.iter().position(|h| is_time_name(h))?;
    let app = find(header, &["app", "workload", "application", "service"])?;
    let metric = find(header, &["metric", "metric_name"])?;
    let value = find(header, &["value"])?;
    let mut all = [time, app, metric, value];
    all.sort_unstable();
    (all == [0, 1, 2, 3]).then_some((time, app, metric, value))
}

fn header_error(file: &str, line: usize, reason: impl Into<String>) -> ImportError {
    ImportError::Header {
        file: file.to_string(),
        line,
        reason: reason.into(),
    }
}

/// Decides the shape and layout from the header, the separator and (for value sniffing) the first data row.
pub(crate) fn plan(
    file: &str,
    header_line: usize,
    header: &[String],
    sep: Sep,
    first_row: Option<&[String]>,
    opts: &ImportOptions,
) -> Result<(CsvShape, Layout), ImportError> {
    if header.iter().all(|h| h.parse::<f64>().is_ok()) {
        return Err(header_error(
            file,
            header_line,
            "the first line holds numbers, not column names; add a header row",
        ));
    }
    if let Some((i, _)) = header.iter().enumerate().find(|(_, h)| h.is_empty()) {
        return Err(header_error(
            file,
            header_line,
            format!("column {} has no name", i + 1),
        ));
    }
    for (i, h) in header.iter().enumerate() {
        if header[..i].contains(h) {
            return Err(header_error(
                file,
                header_line,
                format!("column {h:?} appears twice"),
            ));
        }
    }

    let long = long_by_name(header);
    let shape = match opts.shape {
        Some(s) => s,
        None if long.is_some() => CsvShape::Long,
        None => {
            let time = header.iter().position(|h| is_time_name(h));
            if sep == Sep::Semicolon && time.is_some() {
                CsvShape::Bitbrains
            } else if header.len() == 2 && time == Some(0) && normalize(&header[1]) == "value" {
                CsvShape::Nab
            } else {
                CsvShape::Wide
            }
        }
    };

    if shape == CsvShape::Long {
        let (time, app, metric, value) = match long {
            Some(cols) => cols,
            None if header.len() == 4 => (0, 1, 2, 3),
            None => {
                return Err(header_error(
                    file,
                    header_line,
                    format!(
                        "a Long file needs 4 columns (timestamp,app,metric,value), found {}",
                        header.len()
                    ),
                ))
            }
        };
        return Ok((
            shape,
            Layout::Long {
                time,
                app,
                metric,
                value,
            },
        ));
    }

    // Table shapes: find the time column by name, else by an ISO date in the first column's first value.
    let mut time = header.iter().position(|h| is_time_name(h));
    if time.is_none() {
        let sniffed = first_row
            .and_then(|r| r.first())
            .is_some_and(|v| v.parse::<f64>().is_err() && parse_iso8601(v).is_ok());
        if sniffed || shape != CsvShape::Wide {
            time = Some(0);
        }
    }
    let mut metrics = Vec::new();
    for (index, h) in header.iter().enumerate() {
        if Some(index) == time {
            continue;
        }
        let metric = MetricName::new(h.as_str()).map_err(|e| ImportError::Invalid {
            file: file.to_string(),
            what: format!("column {}", index + 1),
            source: e,
        })?;
        let mut labels = Labels::new();
        if let Some(unit) = unit_of(h) {
            labels.insert("unit".to_string(), unit.to_string());
        }
        metrics.push(MetricColumn {
            index,
            header: h.clone(),
            metric,
            labels,
        });
    }
    if let Some(wanted) = &opts.columns {
        let available = metrics
            .iter()
            .map(|m| format!("{:?}", m.header))
            .collect::<Vec<_>>()
            .join(", ");
        for w in wanted {
            if !metrics.iter().any(|m| &m.header == w) {
                return Err(ImportError::UnknownColumn {
                    file: file.to_string(),
                    column: w.clone(),
                    available,
                });
            }
        }
        metrics.retain(|m| wanted.contains(&m.header));
    }
    if metrics.is_empty() {
        return Err(ImportError::NoNumericColumns {
            file: file.to_string(),
            detail: "the header names no metric column besides the time column".to_string(),
        });
    }
    if shape == CsvShape::Nab && metrics.len() != 1 {
        return Err(header_error(
            file,
            header_line,
            format!("a Nab file has one value column, found {}", metrics.len()),
        ));
    }
    Ok((shape, Layout::Table { time, metrics }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(cols: &[&str]) -> Vec<String> {
        cols.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn detects_each_shape() {
        let o = ImportOptions::default();
        let (s, _) = plan("f", 1, &h(&["timestamp", "value"]), Sep::Comma, None, &o).unwrap();
        assert_eq!(s, CsvShape::Nab);
        let (s, l) = plan(
            "f",
            1,
            &h(&["Timestamp [ms]", "CPU usage [MHZ]"]),
            Sep::Semicolon,
            None,
            &o,
        )
        .unwrap();
        assert_eq!(s, CsvShape::Bitbrains);
        let Layout::Table { time, metrics } = l else {
            panic!("table expected")
        };
        assert_eq!(time, Some(0));
        assert_eq!(metrics[0].metric.as_str(), "CPU usage [MHZ]");
        assert_eq!(
            metrics[0].labels.get("unit").map(String::as_str),
            Some("MHZ")
        );
        let (s, l) = plan(
            "f",
            1,
            &h(&["cpu", "mem"]),
            Sep::Comma,
            Some(&h(&["1", "2"])),
            &o,
        )
        .unwrap();
        assert_eq!(s, CsvShape::Wide);
        assert!(matches!(l, Layout::Table { time: None, .. }));
        let (s, l) = plan(
            "f",
            1,
            &h(&["when", "cpu"]),
            Sep::Comma,
            Some(&h(&["2014-01-01", "2"])),
            &o,
        )
        .unwrap();
        assert_eq!(s, CsvShape::Wide);
        assert!(matches!(l, Layout::Table { time: Some(0), .. }));
        let (s, l) = plan(
            "f",
            1,
            &h(&["app", "timestamp", "value", "metric"]),
            Sep::Comma,
            None,
            &o,
        )
        .unwrap();
        assert_eq!(s, CsvShape::Long);
        assert!(matches!(
            l,
            Layout::Long {
                time: 1,
                app: 0,
                metric: 3,
                value: 2
            }
        ));
    }

    #[test]
    fn rejects_bad_headers() {
        let o = ImportOptions::default();
        assert!(plan("f", 1, &h(&["1", "2"]), Sep::Comma, None, &o).is_err());
        assert!(plan("f", 1, &h(&["a", "a"]), Sep::Comma, None, &o).is_err());
        assert!(plan("f", 1, &h(&["a", ""]), Sep::Comma, None, &o).is_err());
        assert!(matches!(
            plan("f", 1, &h(&["timestamp"]), Sep::Comma, None, &o),
            Err(ImportError::NoNumericColumns { .. })
        ));
        let only = ImportOptions {
            columns: Some(vec!["nope".into()]),
            ..ImportOptions::default()
        };
        assert!(matches!(
            plan("f", 1, &h(&["timestamp", "value"]), Sep::Comma, None, &only),
            Err(ImportError::UnknownColumn { .. })
        ));
        let nab = ImportOptions {
            shape: Some(CsvShape::Nab),
            ..ImportOptions::default()
        };
        assert!(plan("f", 1, &h(&["t", "a", "b"]), Sep::Comma, None, &nab).is_err());
    }
}

//! One exposition line: a sample, or a `#` comment carrying HELP/TYPE/UNIT/EOF metadata.

use super::cursor::{unescape_help, Cursor};
use super::error::{excerpt, Problem};
use super::{Format, ParseLimits};
use crate::{MetricKind, RawSample};

/// What a comment line says.
#[derive(Debug, PartialEq)]
pub(crate) enum Comment<'a> {
    Help {
        name: &'a str,
        text: String,
    },
    Type {
        name: &'a str,
        kind: MetricKind,
    },
    Unit {
        name: &'a str,
        unit: &'a str,
    },
    Eof,
    /// Any other comment: ignored.
    Other,
}

/// Parses a line starting with `#`.
pub(crate) fn comment(line: &str, format: Format) -> Result<Comment<'_>, Problem> {
    let mut c = Cursor::new(line);
    c.bump(); // '#'
    c.skip_blank();
    let keyword = c.token();
    match keyword {
        "HELP" => {
            let name = metadata_name(&mut c, "HELP")?;
            if !c.at_end() && !c.skip_blank() {
                return Err(Problem::MalformedComment { keyword: "HELP" });
            }
            Ok(Comment::Help {
                name,
                text: unescape_help(c.rest()),
            })
        }
        "TYPE" => {
            let name = metadata_name(&mut c, "TYPE")?;
            if !c.skip_blank() {
                return Err(Problem::MalformedComment { keyword: "TYPE" });
            }
            let word = c.token();
            c.skip_blank();
            if !c.at_end() {
                return Err(Problem::MalformedComment { keyword: "TYPE" });
            }
            let kind = MetricKind::from_type_keyword(word)
                .ok_or_else(|| Problem::UnknownType(excerpt(word)))?;
            Ok(Comment::Type { name, kind })
        }
        "UNIT" if format == Format::OpenMetrics => {
            let name = metadata_name(&mut c, "UNIT")?;
            if !c.at_end() && !c.skip_blank() {
                return Err(Problem::MalformedComment { keyword: "UNIT" });
            }
            Ok(Comment::Unit {
                name,
                unit: c.rest().trim_end(),
            })
        }
        "EOF" if format == Format::OpenMetrics => {
            c.skip_blank();
            if c.at_end() {
                Ok(Comment::Eof)
            } else {
                Err(Problem::MalformedComment { keyword: "EOF" })
            }
        }
        _ => Ok(Comment::Other),
    }
}

fn metadata_name<'a>(c: &mut Cursor<'a>, keyword: &'static str) -> Result<&'a str, Problem> {
    if !c.skip_blank() {
        return Err(Problem::MalformedComment { keyword });
    }
    c.metric_name()
        .map_err(|_| Problem::MalformedComment { keyword })
}

/// Parses a sample line: `name[{labels}] value [timestamp] [# exemplar]` (exemplars: OpenMetrics).
pub(crate) fn sample(
    line: &str,
    format: Format,
    limits: &ParseLimits,
) -> Result<RawSample, Problem> {
    let mut c = Cursor::new(line);
    let name = c.metric_name()?;
    c.skip_blank();
    let mut labels = Vec::new();
    if c.peek() == Some(b'{') {
        c.bump();
        c.labels(
            &mut labels,
            limits.max_labels_per_sample,
            limits.max_label_value_bytes,
        )?;
        if !c.skip_blank() {
            return Err(if c.at_end() {
                Problem::MissingValue
            } else {
                Problem::ExpectedBlank {
                    found: excerpt(c.rest()),
                }
            });
        }
    }
    let value_tok = c.token();
    if value_tok.is_empty() {
        return Err(Problem::MissingValue);
    }
    let value = parse_value(value_tok)?;
    c.skip_blank();
    let mut timestamp_ms = None;
    // OpenMetrics exemplar (` # {labels} value [ts]`): ignored by design.
    let exemplar_next = |c: &Cursor<'_>| format == Format::OpenMetrics && c.peek() == Some(b'#');
    if !c.at_end() && !exemplar_next(&c) {
        let ts_tok = c.token();
        timestamp_ms = Some(match format {
            Format::Text => parse_ms(ts_tok)?,
            Format::OpenMetrics => parse_secs(ts_tok)?,
        });
        c.skip_blank();
    }
    if !c.at_end() && !exemplar_next(&c) {
        return Err(Problem::TrailingText(excerpt(c.rest())));
    }
    sort_and_check(&mut labels)?;
    Ok(RawSample {
        name: name.to_owned(),
        labels,
        value,
        timestamp_ms,
    })
}

/// Sorts labels by name (usually already sorted) and rejects duplicate names.
fn sort_and_check(labels: &mut [(String, String)]) -> Result<(), Problem> {
    if !labels.windows(2).all(|w| w[0].0 < w[1].0) {
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Problem::DuplicateLabel(w[0].0.clone()));
        }
    }
    Ok(())
}

/// A sample value: decimal or exponent notation, `NaN`, `+Inf`, `-Inf` (any case, as Go accepts).
pub(crate) fn parse_value(tok: &str) -> Result<f64, Problem> {
    // Rust's parser also takes "infinity"/"nan" in any case, as Go's ParseFloat does; it rejects
    // Go-only forms (hex floats, underscores), which no exposition writer emits.
    tok.parse::<f64>()
        .map_err(|_| Problem::InvalidValue(excerpt(tok)))
}

/// Prometheus text timestamps: integer milliseconds.
fn parse_ms(tok: &str) -> Result<i64, Problem> {
    tok.parse::<i64>()
        .map_err(|_| Problem::InvalidTimestamp(excerpt(tok)))
}

/// OpenMetrics timestamps: seconds, possibly fractional; rounded to milliseconds.
fn parse_secs(tok: &str) -> Result<i64, Problem> {
    let bad = || Problem::InvalidTimestamp(excerpt(tok));
    if let Ok(secs) = tok.parse::<i64>() {
        return secs.checked_mul(1000).ok_or_else(bad);
    }
    let secs: f64 = tok.parse().map_err(|_| bad())?;
    let ms = (secs * 1000.0).round();
    // i64::MAX is not exactly representable; stay strictly inside the range.
    if !ms.is_finite() || ms.abs() >= 9.2e18 {
        return Err(bad());
    }
    Ok(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(line: &str) -> Result<RawSample, Problem> {
        sample(line, Format::Text, &ParseLimits::default())
    }
    fn om(line: &str) -> Result<RawSample, Problem> {
        sample(line, Format::OpenMetrics, &ParseLimits::default())
    }

    #[test]
    fn plain_samples() {
        let r = s("up 1").unwrap();
        assert_eq!(
            (r.name.as_str(), r.value, r.timestamp_ms),
            ("up", 1.0, None)
        );
        let r = s(r#"http_requests_total{method="post",code="200"} 1027 1395066363000"#).unwrap();
        assert_eq!(r.labels[0], ("code".into(), "200".into()));
        assert_eq!(r.labels[1], ("method".into(), "post".into()));
        assert_eq!(r.value, 1027.0);
        assert_eq!(r.timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(s("x\t 1.5e3\t").unwrap().value, 1500.0);
        assert_eq!(s("x {a=\"b\"} -0.25").unwrap().value, -0.25);
        assert_eq!(s("x{} 3").unwrap().labels, vec![]);
        assert_eq!(s("ns:metric:rate5m 2").unwrap().name, "ns:metric:rate5m");
    }

    #[test]
    fn special_values() {
        assert!(s("x NaN").unwrap().value.is_nan());
        assert_eq!(s("x +Inf").unwrap().value, f64::INFINITY);
        assert_eq!(s("x -Inf").unwrap().value, f64::NEG_INFINITY);
        assert_eq!(s("x Inf").unwrap().value, f64::INFINITY);
        assert!(matches!(s("x one"), Err(Problem::InvalidValue(_))));
        assert!(matches!(s("x 0x10"), Err(Problem::InvalidValue(_))));
    }

    #[test]
    fn timestamps() {
        assert_eq!(s("x 1 -5").unwrap().timestamp_ms, Some(-5));
        assert!(matches!(s("x 1 1.5"), Err(Problem::InvalidTimestamp(_))));
        assert_eq!(om("x 1 1.5").unwrap().timestamp_ms, Some(1500));
        assert_eq!(
            om("x 1 1700000000.123").unwrap().timestamp_ms,
            Some(1_700_000_000_123)
        );
        assert_eq!(
            om("x 1 1700000000").unwrap().timestamp_ms,
            Some(1_700_000_000_000)
        );
        assert!(matches!(om("x 1 NaN"), Err(Problem::InvalidTimestamp(_))));
        assert!(matches!(om("x 1 1e300"), Err(Problem::InvalidTimestamp(_))));
        assert!(matches!(
            om("x 1 9223372036854775807"),
            Err(Problem::InvalidTimestamp(_))
        ));
    }

    #[test]
    fn exemplars_only_in_openmetrics() {
        let line = r#"foo_bucket{le="0.5"} 3 # {trace_id="KOO5S4vxi0o"} 0.67"#;
        let r = om(line).unwrap();
        assert_eq!((r.value, r.timestamp_ms), (3.0, None));
        let r = om(r#"foo_total 3 1520879607.789 # {id="a"} 1 1520879607.7"#).unwrap();
        assert_eq!(r.timestamp_ms, Some(1_520_879_607_789));
        assert!(s(line).is_err());
        assert!(matches!(s("x 1 2 3"), Err(Problem::TrailingText(_))));
    }

    #[test]
    fn sample_errors() {
        assert!(matches!(s("1x 1"), Err(Problem::ExpectedMetricName { .. })));
        assert_eq!(s("x"), Err(Problem::MissingValue));
        assert_eq!(s("x{a=\"1\"}"), Err(Problem::MissingValue));
        assert!(matches!(
            s("x{a=\"1\"}2"),
            Err(Problem::ExpectedBlank { .. })
        ));
        assert_eq!(
            s("x{a=\"1\",a=\"2\"} 1"),
            Err(Problem::DuplicateLabel("a".into()))
        );
        assert_eq!(
            s("x{b=\"1\",a=\"2\",b=\"3\"} 1"),
            Err(Problem::DuplicateLabel("b".into()))
        );
        assert_eq!(s("x{a=\"1 2"), Err(Problem::UnterminatedLabelValue));
    }

    #[test]
    fn comments() {
        assert_eq!(
            comment("# HELP x Some \\\\ help\\n.", Format::Text).unwrap(),
            Comment::Help {
                name: "x",
                text: "Some \\ help\n.".into()
            }
        );
        assert_eq!(
            comment("# HELP x", Format::Text).unwrap(),
            Comment::Help {
                name: "x",
                text: String::new()
            }
        );
        assert_eq!(
            comment("# TYPE x counter ", Format::Text).unwrap(),
            Comment::Type {
                name: "x",
                kind: MetricKind::Counter
            }
        );
        assert_eq!(
            comment("# TYPE x hist", Format::Text),
            Err(Problem::UnknownType("hist".into()))
        );
        assert!(comment("# TYPE x", Format::Text).is_err());
        assert!(comment("# TYPE x gauge extra", Format::Text).is_err());
        assert!(comment("# HELP", Format::Text).is_err());
        assert_eq!(
            comment("# just words", Format::Text).unwrap(),
            Comment::Other
        );
        assert_eq!(comment("#", Format::Text).unwrap(), Comment::Other);
        assert_eq!(comment("# EOF", Format::Text).unwrap(), Comment::Other);
        assert_eq!(comment("# EOF", Format::OpenMetrics).unwrap(), Comment::Eof);
        assert_eq!(
            comment("# UNIT x_seconds seconds", Format::OpenMetrics).unwrap(),
            Comment::Unit {
                name: "x_seconds",
                unit: "seconds"
            }
        );
    }
}

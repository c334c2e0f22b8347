//! The one writer of Prometheus text exposition: `# HELP`/`# TYPE` lines, sample lines with
//! escaped label values, and values spelled as Prometheus reads them. Every `/metrics` section
//! and exposition prescale renders goes through here.

use std::fmt::Write as _;

/// Escapes a label value for a PromQL string literal or the exposition format.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A float as the exposition format writes it (`NaN`, `+Inf`, `-Inf`, shortest round-trip text).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

/// The `# HELP` and `# TYPE` lines of family `name` (`kind`: `gauge`, `counter`, ...).
pub fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    type_line(o, name, kind);
}

/// The `# TYPE` line alone, for a family without help text.
pub fn type_line(o: &mut String, name: &str, kind: &str) {
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// One sample line, labels in the order given.
pub fn line(o: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    line_at(o, name, labels, value, None);
}

/// One sample line with an explicit timestamp (Unix ms) when `ts` is given.
pub fn line_at(o: &mut String, name: &str, labels: &[(&str, &str)], value: f64, ts: Option<i64>) {
    o.push_str(name);
    if !labels.is_empty() {
        o.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str(k);
            o.push_str("=\"");
            o.push_str(&escape_label_value(v));
            o.push('"');
        }
        o.push('}');
    }
    o.push(' ');
    o.push_str(&format_value(value));
    if let Some(ts) = ts {
        let _ = write!(o, " {ts}");
    }
    o.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_lines_are_written_as_prometheus_reads_them() {
        let mut o = String::new();
        family(&mut o, "x_total", "counter", "Things.");
        line(&mut o, "x_total", &[("w", "a\"b\\c\nd"), ("k", "v")], 3.0);
        line(&mut o, "x_total", &[], f64::NAN);
        line_at(&mut o, "y", &[], f64::NEG_INFINITY, Some(1_700_000_000_000));
        line(&mut o, "y", &[], 0.25);
        assert_eq!(
            o,
            "# HELP x_total Things.\n# TYPE x_total counter\n\
             x_total{w=\"a\\\"b\\\\c\\nd\",k=\"v\"} 3\nx_total NaN\n\
             y -Inf 1700000000000\ny 0.25\n"
        );
    }
}

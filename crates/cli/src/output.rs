//! Terminal output: plain-text tables and numbers, and the one meaning of `--json`.
//!
//! `--json` means the same in every command: the command's result as JSON on stdout and nothing
//! else there — one document, or for a command that streams (`demo`, `agent`) one object per line,
//! keyed by what it is. Messages, notes and progress go to stderr. Times are Unix milliseconds,
//! as in the HTTP API, each with its RFC 3339 text beside it in a field named `<field>_rfc3339`
//! ([`with_rfc3339`]). `simulate` and `backtest` instead write their JSON to the file `--json` names.

use serde_json::Value;

/// The names of the time fields (Unix ms) that [`with_rfc3339`] gives a text twin.
const TIME_FIELDS: [&str; 7] = [
    "at",
    "first_ts",
    "last_ts",
    "fitted_at",
    "issued_at",
    "created",
    "taken_at",
];

/// `ms` as RFC 3339 UTC with milliseconds (`2026-01-10T00:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    let secs = prescale_telemetry::format_iso8601(prescale_core::Timestamp(ms));
    let base = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{base}.{:03}Z", ms.rem_euclid(1000))
}

/// `value` with an RFC 3339 twin beside every time field (an integer under one of the
/// [`TIME_FIELDS`] names, at any depth) that has none yet: `at` gains `at_rfc3339`.
pub fn with_rfc3339(mut value: Value) -> Value {
    add_twins(&mut value);
    value
}

fn add_twins(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let twins: Vec<(String, String)> = TIME_FIELDS
                .iter()
                .filter_map(|&k| {
                    let ms = map.get(k)?.as_i64()?;
                    let twin = format!("{k}_rfc3339");
                    (!map.contains_key(&twin)).then(|| (twin, rfc3339(ms)))
                })
                .collect();
            for child in map.values_mut() {
                add_twins(child);
            }
            for (k, t) in twins {
                map.insert(k, Value::String(t));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_twins),
        _ => {}
    }
}

/// `value` (any serialisable result) as the JSON a `--json` command prints: with the RFC 3339 twins.
pub fn json_result(value: &impl serde::Serialize) -> anyhow::Result<Value> {
    Ok(with_rfc3339(serde_json::to_value(value)?))
}

/// A whole number with thousands separated by commas (`12,345`).
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// Renders rows as an aligned table; numeric-looking cells are right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let numeric = |s: &str| s == "-" || s.parse::<f64>().is_ok();
    // A column whose cells are all numbers is right-aligned, header included.
    let right: Vec<bool> = (0..cols)
        .map(|i| !rows.is_empty() && rows.iter().all(|r| r.get(i).is_some_and(|c| numeric(c))))
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if right[i] {
                    format!("{:>w$}", c, w = width[i])
                } else {
                    format!("{:<w$}", c, w = width[i])
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// Formats a float with `digits` decimals, or `-` when absent.
pub fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn time_fields_get_an_rfc3339_twin_at_any_depth() {
        let v = super::with_rfc3339(json!({
            "at": 1_768_003_200_123i64,
            "points": [{"at": 0, "value": 1.5}],
            "first_ts": null,
            "last_ts": 5,
            "last_ts_rfc3339": "kept",
            "created": "not a number",
        }));
        assert_eq!(v["at_rfc3339"], "2026-01-10T00:00:00.123Z");
        assert_eq!(v["points"][0]["at_rfc3339"], "1970-01-01T00:00:00.000Z");
        assert!(v.get("first_ts_rfc3339").is_none());
        assert_eq!(v["last_ts_rfc3339"], "kept");
        assert!(v.get("created_rfc3339").is_none());
        assert!(v["points"][0].get("value_rfc3339").is_none());
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0.0), "0");
        assert_eq!(super::thousands(999.4), "999");
        assert_eq!(super::thousands(1234567.0), "1,234,567");
        assert_eq!(super::thousands(-1000.0), "-1,000");
        assert_eq!(super::thousands(f64::NAN), "-");
    }

    #[test]
    fn aligns_columns() {
        let t = super::table(
            &["name", "x"],
            &[
                vec!["a".into(), "1.5".into()],
                vec!["bbb".into(), "10".into()],
            ],
        );
        assert_eq!(t, "name    x\n----  ---\na     1.5\nbbb    10\n");
    }
}

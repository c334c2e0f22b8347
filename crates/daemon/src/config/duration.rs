//! Durations written in the config file (`"15s"`, `"5m"`, `"250ms"`), checked against a lower bound.

use std::time::Duration;

/// Parses `text` as a duration at least `min` long; the error says what was wrong, without the path.
pub fn parse_at_least(text: &str, min: Duration) -> Result<Duration, String> {
    match prescale_core::time::parse_duration(text) {
        Some(iv) => {
            let d = Duration::from_millis(iv.millis().unsigned_abs());
            if d < min {
                Err(format!("{text:?} must be ≥ {}", show(min)))
            } else {
                Ok(d)
            }
        }
        None if is_zero(text) => Err(format!("{text:?} must be ≥ {}", show(min))),
        None => Err(format!(
            "{text:?} is not a duration (examples: 250ms, 15s, 5m, 1h, 7d)"
        )),
    }
}

/// `0`, `0s`, `0.0ms`, ...: a well-formed duration that `parse_duration` refuses because it is not positive.
fn is_zero(text: &str) -> bool {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_ok = matches!(
        unit.trim(),
        "" | "ms" | "s" | "sec" | "m" | "min" | "h" | "d" | "w"
    );
    unit_ok && num.parse::<f64>().is_ok_and(|n| n == 0.0)
}

/// A duration the way the config writes it: `1s`, `250ms`, `5m`.
pub fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(86_400_000) && ms > 0 {
        format!("{}d", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_garbage() {
        let s = Duration::from_secs(1);
        assert_eq!(parse_at_least("15s", s), Ok(Duration::from_secs(15)));
        assert_eq!(parse_at_least("0s", s), Err("\"0s\" must be ≥ 1s".into()));
        assert_eq!(
            parse_at_least("500ms", s),
            Err("\"500ms\" must be ≥ 1s".into())
        );
        assert!(parse_at_least("soon", s)
            .unwrap_err()
            .contains("is not a duration"));
        assert_eq!(show(Duration::from_millis(10)), "10ms");
        assert_eq!(show(Duration::from_secs(120)), "2m");
    }
}

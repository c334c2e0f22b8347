//! Timestamps (Unix milliseconds) and sampling intervals.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time as Unix milliseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
    pub fn plus(self, interval: Interval) -> Self {
        Timestamp(self.0.saturating_add(interval.millis()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A positive sampling interval in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval(i64);

impl Interval {
    /// `None` unless `millis > 0`.
    pub fn from_millis(millis: i64) -> Option<Self> {
        (millis > 0).then_some(Interval(millis))
    }
    pub fn from_secs(secs: i64) -> Option<Self> {
        Self::from_millis(secs.checked_mul(1000)?)
    }
    pub fn millis(self) -> i64 {
        self.0
    }
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// Number of whole samples of this interval in `span` (at least 1).
    pub fn steps_in(self, span: Interval) -> usize {
        ((span.0 + self.0 / 2) / self.0).max(1) as usize
    }
}

/// Parse a duration such as `300`, `300s`, `5m`, `1h`, `1d`, `1w`, `250ms` (bare numbers are seconds).
pub fn parse_duration(text: &str) -> Option<Interval> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "ms" => 1.0,
        "" | "s" | "sec" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        "w" => 604_800_000.0,
        _ => return None,
    };
    let ms = n * mult;
    if !ms.is_finite() || !(1.0..=1e15).contains(&ms) {
        return None;
    }
    Interval::from_millis(ms.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("5m"), Interval::from_secs(300));
        assert_eq!(parse_duration("300"), Interval::from_secs(300));
        assert_eq!(parse_duration("1h"), Interval::from_secs(3600));
        assert_eq!(parse_duration("250ms"), Interval::from_millis(250));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn steps_round_to_nearest() {
        let five = Interval::from_secs(300).unwrap();
        assert_eq!(five.steps_in(Interval::from_secs(3600).unwrap()), 12);
        assert_eq!(five.steps_in(Interval::from_secs(86_400).unwrap()), 288);
    }
}

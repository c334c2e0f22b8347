//! Parsing of time and duration arguments given on the command line.

use anyhow::{anyhow, Result};
use prescale_core::{time::parse_duration, Interval, Timestamp};

/// A duration such as `5m`, `1h`, `300` (seconds).
pub fn duration(flag: &str, text: &str) -> Result<Interval> {
    parse_duration(text)
        .ok_or_else(|| anyhow!("{flag} {text:?} is not a duration (try 300s, 5m, 1h, 1d)"))
}

/// A point in time: Unix seconds, or an ISO-8601 date or date-time.
pub fn timestamp(flag: &str, text: &str) -> Result<Timestamp> {
    if let Ok(secs) = text.trim().parse::<i64>() {
        return Ok(Timestamp::from_secs(secs));
    }
    prescale_telemetry::parse_timestamp(text.trim())
        .ok_or_else(|| anyhow!("{flag} {text:?} is neither Unix seconds nor an ISO-8601 time"))
}

/// One day of samples, or a week for daily (or coarser) data: the default season.
pub fn default_season(interval: Interval) -> usize {
    let day_ms = 86_400_000;
    if interval.millis() >= day_ms {
        7
    } else {
        (day_ms / interval.millis()).max(1) as usize
    }
}

//! Wall time for the live loops: the daemon's one place that reads the clock.

use prescale_core::Timestamp;

/// Now as Unix milliseconds.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}

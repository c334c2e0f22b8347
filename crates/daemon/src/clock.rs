//! Wall time for the live loops: the daemon's one place that reads the clock (prescale-core's
//! `SystemClock`; the control loop takes any `Clock`, so a test can set its time).

use prescale_core::{Clock, SystemClock, Timestamp};

/// Now as Unix milliseconds.
pub fn now() -> Timestamp {
    SystemClock.now()
}

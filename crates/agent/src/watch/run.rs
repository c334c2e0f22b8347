//! The watcher's own thread: readings at absolute monotonic deadlines, its CPU measured per step.
//!
//! The loop is what every reading pays on top of the reads: one CLOCK_MONOTONIC read (vDSO), one
//! relaxed atomic load for the stop flag and one `clock_nanosleep(TIMER_ABSTIME)`. The wall clock
//! that stamps steps is read once per [`WALL_EVERY_NS`] and carried forward on the monotonic clock
//! in between; the thread's own CPU clock (a system call) is read once per step.

use super::{WatchStep, Watcher};
use crate::overhead::thread_cpu_seconds;
use prescale_core::{Clock, SystemClock, Timestamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How often the wall clock is read again (steps are stamped in whole milliseconds; over 100 ms
/// the monotonic and wall clocks drift apart by far less than that, even while NTP slews).
pub const WALL_EVERY_NS: u64 = 100_000_000;

/// Ends the watcher thread when dropped (or by [`Stop::stop`]); the thread sees it before its
/// next reading, so within one interval.
#[derive(Debug)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Ask the thread to end (the same as dropping this handle).
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running watcher thread; dropping `stop` ends it, `join` waits for it.
pub struct WatchThread {
    pub stop: Stop,
    pub join: JoinHandle<()>,
}

/// Nanoseconds on CLOCK_MONOTONIC.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Sleep until CLOCK_MONOTONIC reaches `deadline_ns` (absolute, so lateness does not add up).
pub fn sleep_until(deadline_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        // SAFETY: `ts` is a valid timespec; the remaining-time pointer may be null with TIMER_ABSTIME.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        if rc != libc::EINTR {
            return;
        }
    }
}

/// Wall time carried forward on the monotonic clock between reads of the wall clock.
struct WallClock {
    /// Wall milliseconds and monotonic nanoseconds read together.
    anchor: Option<(i64, u64)>,
}

impl WallClock {
    fn at(&mut self, t_ns: u64) -> Timestamp {
        match self.anchor {
            Some((ms, t0)) if t_ns.saturating_sub(t0) < WALL_EVERY_NS => {
                Timestamp(ms.saturating_add((t_ns.saturating_sub(t0) / 1_000_000) as i64))
            }
            _ => {
                let now = SystemClock.now();
                self.anchor = Some((now.0, t_ns));
                now
            }
        }
    }
}

/// Read every `interval` on a thread named `prescale-watch` and hand each finished step to
/// `sink`; the thread ends when `sink` returns false or `stop` is signalled or dropped. A reading
/// that falls more than one interval behind skips the missed ones (counted in `late`).
pub fn spawn(
    mut watcher: Watcher,
    mut sink: impl FnMut(WatchStep) -> bool + Send + 'static,
) -> std::io::Result<WatchThread> {
    let stopped = Arc::new(AtomicBool::new(false));
    let stop = Stop(stopped.clone());
    let join = std::thread::Builder::new()
        .name("prescale-watch".into())
        .spawn(move || {
            let interval = u64::try_from(watcher.config().interval.as_nanos()).unwrap_or(u64::MAX);
            let mut cpu0 = thread_cpu_seconds().unwrap_or(0.0);
            let mut late = 0u64;
            let mut wall = WallClock { anchor: None };
            let mut next = monotonic_ns();
            while !stopped.load(Ordering::Relaxed) {
                let t = monotonic_ns();
                if t > next.saturating_add(interval) {
                    late += 1;
                    next = t;
                }
                if let Some(mut step) = watcher.tick(wall.at(t), t) {
                    let cpu = thread_cpu_seconds().unwrap_or(cpu0);
                    step.stats.cpu_seconds = (cpu - cpu0).max(0.0);
                    step.stats.late = std::mem::take(&mut late);
                    cpu0 = cpu;
                    if !sink(step) {
                        break;
                    }
                }
                next = next.saturating_add(interval);
                sleep_until(next);
            }
        })?;
    Ok(WatchThread { stop, join })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_is_carried_on_the_monotonic_clock_and_read_again_every_100_ms() {
        let mut w = WallClock {
            anchor: Some((5_000, 1_000_000_000)),
        };
        assert_eq!(w.at(1_000_000_000), Timestamp(5_000));
        assert_eq!(w.at(1_042_900_000), Timestamp(5_042));
        assert_eq!(w.at(1_099_999_999), Timestamp(5_099));
        // 100 ms on: the wall clock is read again (the real one, far from 5 s after the epoch).
        let fresh = w.at(1_100_000_000);
        assert!(fresh.0 > 1_600_000_000_000, "{fresh:?}");
        assert_eq!(w.anchor, Some((fresh.0, 1_100_000_000)));
    }
}

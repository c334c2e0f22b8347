//! The watcher's own thread: readings at absolute monotonic deadlines, its CPU measured per step.

use super::{WatchStep, Watcher};
use crate::overhead::thread_cpu_seconds;
use prescale_core::{Clock, SystemClock};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// A running watcher thread; dropping `stop` (or sending on it) ends it.
pub struct WatchThread {
    pub stop: mpsc::Sender<()>,
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
fn sleep_until(deadline_ns: u64) {
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

/// Read every `interval` on a thread named `prescale-watch` and hand each finished step to
/// `sink`; the thread ends when `sink` returns false or `stop` is signalled or dropped. A reading
/// that falls more than one interval behind skips the missed ones (counted in `late`).
pub fn spawn(
    mut watcher: Watcher,
    mut sink: impl FnMut(WatchStep) -> bool + Send + 'static,
) -> std::io::Result<WatchThread> {
    let (stop, stopped) = mpsc::channel::<()>();
    let join = std::thread::Builder::new()
        .name("prescale-watch".into())
        .spawn(move || {
            let interval = u64::try_from(watcher.config().interval.as_nanos()).unwrap_or(u64::MAX);
            let mut cpu0 = thread_cpu_seconds().unwrap_or(0.0);
            let mut late = 0u64;
            let mut next = monotonic_ns();
            while let Err(mpsc::TryRecvError::Empty) = stopped.try_recv() {
                let t = monotonic_ns();
                if t > next.saturating_add(interval) {
                    late += 1;
                    next = t;
                }
                if let Some(mut step) = watcher.tick(SystemClock.now(), t) {
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

//! The agent's own cost: CPU time of the sampling thread and wall time per sample.

use std::time::Instant;

/// What one call to [`crate::Agent::sample`] cost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Overhead {
    /// CPU seconds the sampling thread used (user + system).
    pub cpu_seconds: f64,
    /// Wall-clock seconds the sample took.
    pub wall_seconds: f64,
    /// Processes whose files were read in this sample.
    pub processes: usize,
}

/// CPU time consumed so far by the calling thread, in seconds (`None` if the clock is unavailable).
pub fn thread_cpu_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is always defined on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Seconds since boot on the clock `/proc/<pid>/stat` start times use (CLOCK_BOOTTIME).
pub fn boot_seconds() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as above; CLOCK_BOOTTIME exists since Linux 2.6.39.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
}

/// Measures one sample from start to finish.
pub(crate) struct Meter {
    cpu0: Option<f64>,
    wall0: Instant,
}

impl Meter {
    pub fn start() -> Self {
        Meter {
            cpu0: thread_cpu_seconds(),
            wall0: Instant::now(),
        }
    }
    pub fn finish(&self, processes: usize) -> Overhead {
        let cpu = match (self.cpu0, thread_cpu_seconds()) {
            (Some(a), Some(b)) => (b - a).max(0.0),
            _ => 0.0,
        };
        Overhead {
            cpu_seconds: cpu,
            wall_seconds: self.wall0.elapsed().as_secs_f64(),
            processes,
        }
    }
}

/// Clock ticks per second (`_SC_CLK_TCK`), 100 on every mainstream Linux build.
pub(crate) fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Page size in bytes.
pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|p| *p > 0).unwrap_or(4096)
}

/// Whether `path` is on a proc file system (where `/proc/<pid>/fd`'s size is its entry count).
pub(crate) fn is_procfs(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: zeroed statfs is a valid out-parameter; `c` is a NUL-terminated path.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut s) };
    // `f_type`'s integer type differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    let is_proc = s.f_type as i64 == libc::PROC_SUPER_MAGIC as i64;
    rc == 0 && is_proc
}

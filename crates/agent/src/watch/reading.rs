//! One watched process: its files kept open, one reading per interval and the rates between two.

use crate::parse;
use crate::reader::{ProcReader, ReadError};
use std::fs::File;

/// Where a watched process's CPU time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// The kernel's per-process CPU clock (`clock_getcpuclockid`): nanoseconds summed over every
    /// thread, up to date at the call, one system call. Used when the watched /proc is this
    /// process's own pid namespace.
    ProcessClock,
    /// `run_ns` of `/proc/<pid>/schedstat`: nanoseconds of the main thread only, up to date at the
    /// last scheduler event or tick. Used for another namespace's /proc and fake trees.
    Schedstat,
}

/// Counter values read at one instant (`None`: that file was not readable, or io was not due).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reading {
    pub t_ns: u64,
    pub cpu_ns: u64,
    pub sched: parse::Schedstat,
    pub io: Option<parse::Io>,
    pub ctx: Option<(u64, u64)>,
}

/// Rates between two readings, in the order of [`super::step::RATES`].
pub(crate) type Rates = [Option<f64>; super::step::RATES.len()];

/// A process being watched.
#[derive(Debug)]
pub(crate) struct Watched {
    pub pid: u32,
    pub workload: u32,
    clock: Option<libc::clockid_t>,
    schedstat: File,
    io: Option<File>,
    status: Option<File>,
    pub prev: Option<Reading>,
    /// The last io reading and when: io rates run from it (it may be older than `prev`).
    pub io_prev: Option<(u64, parse::Io)>,
}

/// Why a reading failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    Gone,
    Unreadable,
    Malformed,
}

impl From<ReadError> for ReadFailure {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Gone => ReadFailure::Gone,
            _ => ReadFailure::Unreadable,
        }
    }
}

/// The CPU clock of another process, or `None` where the kernel refuses it.
fn process_clock(pid: u32) -> Option<libc::clockid_t> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut id: libc::clockid_t = 0;
    // SAFETY: `id` is a valid out-parameter; the call has no other preconditions.
    let rc = unsafe { libc::clock_getcpuclockid(pid, &mut id) };
    (rc == 0).then_some(id)
}

fn clock_ns(id: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; a stale clock id fails with EINVAL.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    if rc != 0 {
        return None;
    }
    let s = u64::try_from(ts.tv_sec).ok()?;
    let n = u64::try_from(ts.tv_nsec).ok()?;
    s.checked_mul(1_000_000_000)?.checked_add(n)
}

impl Watched {
    /// Open the files of `pid` (schedstat is required; io and status are read when they open).
    pub fn open(
        reader: &mut ProcReader,
        pid: u32,
        workload: u32,
        source: CpuSource,
        status: bool,
    ) -> Result<Watched, ReadFailure> {
        let schedstat = reader.open(pid, "schedstat")?;
        let io = reader.open(pid, "io").ok();
        let status = if status {
            reader.open(pid, "status").ok()
        } else {
            None
        };
        let clock = match source {
            CpuSource::ProcessClock => process_clock(pid),
            CpuSource::Schedstat => None,
        };
        Ok(Watched {
            pid,
            workload,
            clock,
            schedstat,
            io,
            status,
            prev: None,
            io_prev: None,
        })
    }

    /// Read the counters now (io only when `read_io`). The schedstat file, opened on the process
    /// itself, fails once the process has exited, even if its pid is reused.
    pub fn read(
        &mut self,
        reader: &mut ProcReader,
        t_ns: u64,
        read_io: bool,
    ) -> Result<Reading, ReadFailure> {
        let clock_cpu = self.clock.and_then(clock_ns);
        let sched = parse::parse_schedstat(reader.pread(&self.schedstat)?)
            .map_err(|_| ReadFailure::Malformed)?;
        let cpu_ns = clock_cpu.unwrap_or(sched.run_ns);
        let io = match self.io.as_ref().filter(|_| read_io) {
            Some(f) => match reader.pread(f) {
                Ok(b) => parse::parse_io(b).ok(),
                Err(ReadError::Gone) => return Err(ReadFailure::Gone),
                Err(_) => None,
            },
            None => None,
        };
        let ctx = match &self.status {
            Some(f) => match reader.pread(f) {
                Ok(b) => parse::parse_status_ctxt(b).ok(),
                Err(ReadError::Gone) => return Err(ReadFailure::Gone),
                Err(_) => None,
            },
            None => None,
        };
        Ok(Reading {
            t_ns,
            cpu_ns,
            sched,
            io,
            ctx,
        })
    }
}

/// Per-second rates from `before` to `now`, the io ones from `io_before` (the last io reading
/// and its time); `None` for a counter missing in either or that went backwards.
pub(crate) fn rates(
    before: &Reading,
    now: &Reading,
    io_before: Option<(u64, parse::Io)>,
) -> Option<Rates> {
    let dt_ns = now.t_ns.checked_sub(before.t_ns).filter(|d| *d > 0)?;
    let dt = dt_ns as f64 * 1e-9;
    let per_s = |a: u64, b: u64| b.checked_sub(a).map(|d| d as f64 / dt);
    let ns_per_s = |a: u64, b: u64| b.checked_sub(a).map(|d| d as f64 / dt_ns as f64);
    let io = io_before.zip(now.io).and_then(|((t0, a), b)| {
        let dt = now.t_ns.checked_sub(t0).filter(|d| *d > 0)? as f64 * 1e-9;
        Some((a, b, dt))
    });
    let io_per_s = |a: u64, b: u64, dt: f64| b.checked_sub(a).map(|d| d as f64 / dt);
    let ctx = before.ctx.zip(now.ctx);
    Some([
        ns_per_s(before.cpu_ns, now.cpu_ns),
        ns_per_s(before.sched.wait_ns, now.sched.wait_ns),
        per_s(before.sched.timeslices, now.sched.timeslices),
        io.and_then(|(a, b, dt)| io_per_s(a.syscr, b.syscr, dt)),
        io.and_then(|(a, b, dt)| io_per_s(a.syscw, b.syscw, dt)),
        io.and_then(|(a, b, dt)| io_per_s(a.rchar, b.rchar, dt)),
        io.and_then(|(a, b, dt)| io_per_s(a.wchar, b.wchar, dt)),
        ctx.and_then(|(a, b)| per_s(a.0, b.0)),
        ctx.and_then(|(a, b)| per_s(a.1, b.1)),
    ])
}

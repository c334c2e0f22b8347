//! Signalling whole process groups, so a command's children die with it.

use std::process::Child;

/// Sends `sig` to the process group led by `pid` (children are spawned as group leaders).
/// Returns `false` when no such group exists any more.
pub(crate) fn signal_group(pid: u32, sig: libc::c_int) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill(2) with a negative pid only sends a signal; it touches no memory of ours.
    unsafe { libc::kill(-pgid, sig) == 0 }
}

pub(crate) fn terminate_group(pid: u32) -> bool {
    signal_group(pid, libc::SIGTERM)
}

pub(crate) fn kill_group(pid: u32) -> bool {
    signal_group(pid, libc::SIGKILL)
}

/// Whether `child` is still running (reaps it when it has exited).
pub(crate) fn is_running(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// Whether `pid` (our child) has exited, without reaping it: while it is an unreaped zombie its
/// process group id cannot be reused, so the group can still be signalled safely.
/// `None` when the state cannot be read.
pub(crate) fn has_exited_unreaped(pid: u32) -> Option<bool> {
    let id = libc::id_t::try_from(pid).ok()?;
    // SAFETY: siginfo_t is plain data; zeroed is a valid value and waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child with WNOWAIT only inspects its state.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: after a successful waitid the pid field is initialised (0 when nothing changed).
    Some(unsafe { info.si_pid() } != 0)
}

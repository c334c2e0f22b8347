//! The process pool's record of its replicas (pid and kernel start time), so a restarted prescale
//! adopts the replicas a crashed one left running instead of starting copies beside them.

use crate::ActuateError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A replica as the kernel knows it: the pid and its start time (clock ticks since boot, field 22
/// of `/proc/<pid>/stat`). The pair names one process even after the pid is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcIdentity {
    pub pid: u32,
    pub start_ticks: u64,
}

/// What `/proc/<pid>/stat` says of a process.
struct ProcStat {
    state: char,
    pgrp: i64,
    start_ticks: u64,
}

fn read_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `fields[0]` is field 3 (state); field N is `fields[N - 3]`.
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

impl ProcIdentity {
    /// The identity of a running process, `None` when it is gone.
    pub fn of(pid: u32) -> Option<ProcIdentity> {
        read_stat(pid).map(|s| ProcIdentity {
            pid,
            start_ticks: s.start_ticks,
        })
    }

    /// Whether this very process still runs (not a zombie, pid not reused).
    pub fn is_alive(&self) -> bool {
        read_stat(self.pid)
            .is_some_and(|s| s.start_ticks == self.start_ticks && !matches!(s.state, 'Z' | 'X'))
    }

    /// Whether this process runs and still leads its own process group, as the pool's replicas do.
    pub fn is_group_leader(&self) -> bool {
        self.is_alive() && read_stat(self.pid).is_some_and(|s| s.pgrp == i64::from(self.pid))
    }
}

/// One replica in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedReplica {
    pub workload: String,
    pub index: u32,
    #[serde(flatten)]
    pub process: ProcIdentity,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    replicas: Vec<RecordedReplica>,
}

const VERSION: u32 = 1;

/// Tries at taking a state file's lock, 10 ms apart.
const LOCK_ATTEMPTS: usize = 20;

/// An exclusive lock on `<state file>.lock`, held while a pool records to the state file: a
/// second prescale on the same file is refused instead of adopting (and later stopping) replicas
/// another one still manages. The kernel drops the lock when the holder dies, `kill -9` included.
#[derive(Debug)]
pub(crate) struct StateLock {
    _file: std::fs::File,
}

impl StateLock {
    pub fn acquire(state: &Path) -> Result<StateLock, ActuateError> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        let mut path = state.to_path_buf();
        path.as_mut_os_string().push(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| ActuateError::PoolState {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        // A lock released a moment ago can still be held for a few microseconds by a copy of its
        // descriptor in a child being started by another thread (between fork and exec): a few
        // short retries tell that apart from a prescale that really holds it.
        let mut rc = -1;
        for attempt in 0..LOCK_ATTEMPTS {
            // SAFETY: flock(2) on a descriptor we own; it touches no memory of ours.
            rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            let busy =
                rc != 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock;
            if !busy || attempt + 1 == LOCK_ATTEMPTS {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            let reason = if e.kind() == std::io::ErrorKind::WouldBlock {
                "locked by another running prescale that manages these replicas".to_string()
            } else {
                e.to_string()
            };
            return Err(ActuateError::PoolState { path, reason });
        }
        Ok(StateLock { _file: file })
    }
}

/// The environment variable every replica of a pool with a state file is started with: the state
/// file's path ([`identity`]). A replica started but not yet written down when its prescale died
/// (killed between the fork and the save) is found by it, instead of running on unrecorded while the
/// next prescale starts a copy beside it.
pub(crate) const STATE_ENV: &str = "PRESCALE_POOL_STATE";

/// The state file's path as replicas carry it: absolute, its directory resolved, so a prescale
/// started from another directory (or through a symlink) recognises the same file.
pub(crate) fn identity(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
}

/// Running process-group leaders whose environment says they were started as replicas under the
/// state file `identity` (with their workload and index), whether or not the file lists them.
/// Processes whose environment cannot be read (another user's) are skipped.
pub(crate) fn started_under(identity: &Path) -> Vec<RecordedReplica> {
    use std::os::unix::ffi::OsStrExt;
    let mut want = format!("{STATE_ENV}=").into_bytes();
    want.extend_from_slice(identity.as_os_str().as_bytes());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
        if !vars.contains(&want.as_slice()) {
            continue;
        }
        let value = |name: &str| {
            let prefix = format!("{name}=");
            vars.iter()
                .find_map(|v| v.strip_prefix(prefix.as_bytes()))
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_string)
        };
        let (Some(workload), Some(index)) = (
            value("PRESCALE_WORKLOAD"),
            value("PRESCALE_REPLICA_INDEX").and_then(|i| i.parse::<u32>().ok()),
        ) else {
            continue;
        };
        let Some(process) = ProcIdentity::of(pid).filter(ProcIdentity::is_group_leader) else {
            continue;
        };
        out.push(RecordedReplica {
            workload,
            index,
            process,
        });
    }
    out.sort_by_key(|r| (r.process.start_ticks, r.process.pid));
    out
}

/// Reads the replicas recorded at `path`; none when the file does not exist.
pub(crate) fn load(path: &Path) -> Result<Vec<RecordedReplica>, ActuateError> {
    let bad = |reason: String| ActuateError::PoolState {
        path: path.to_path_buf(),
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad(e.to_string())),
    };
    let state: StateFile = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "{e}; stop any replicas it listed, then remove the file"
        ))
    })?;
    if state.version != VERSION {
        return Err(bad(format!(
            "version {} (this prescale writes {VERSION})",
            state.version
        )));
    }
    Ok(state.replicas)
}

/// Writes `replicas` to `path` atomically (a temporary file beside it, synced, then a rename),
/// owner-only (0600) like the store: it names the processes prescale may signal.
pub(crate) fn save(path: &Path, replicas: Vec<RecordedReplica>) -> Result<(), ActuateError> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |source: std::io::Error| ActuateError::Io {
        what: format!("writing process-pool state {}", path.display()),
        source,
    };
    let text = serde_json::to_string_pretty(&StateFile {
        version: VERSION,
        replicas,
    })
    .map_err(|e| io(std::io::Error::other(e)))?;
    let mut tmp: PathBuf = path.to_path_buf();
    tmp.as_mut_os_string().push(".tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    // A temporary file left by an older prescale keeps its mode when reopened: set it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_has_an_identity_and_leads_no_group_of_its_own_unless_it_does() {
        let me = ProcIdentity::of(std::process::id()).unwrap();
        assert!(me.is_alive());
        let reused = ProcIdentity {
            start_ticks: me.start_ticks + 1,
            ..me
        };
        assert!(
            !reused.is_alive(),
            "a different start time is another process"
        );
        assert!(!reused.is_group_leader());
    }

    #[test]
    fn missing_file_is_empty_and_bad_files_name_themselves() {
        let dir = std::env::temp_dir().join(format!("prescale-pool-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pool.json");
        assert!(load(&path).unwrap().is_empty());

        let r = RecordedReplica {
            workload: "web".into(),
            index: 2,
            process: ProcIdentity {
                pid: 42,
                start_ticks: 7,
            },
        };
        save(&path, vec![r.clone()]).unwrap();
        assert_eq!(load(&path).unwrap(), vec![r]);

        std::fs::write(&path, "{not json").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("pool.json"), "{e}");
        std::fs::write(&path, r#"{"version":9,"replicas":[]}"#).unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("version 9"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn state_and_lock_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("prescale-pool-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pool.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // A temporary file an older prescale left behind, world-readable.
        let mut tmp = path.clone();
        tmp.as_mut_os_string().push(".tmp");
        std::fs::write(&tmp, "stale").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        let lock = StateLock::acquire(&path).unwrap();
        save(&path, Vec::new()).unwrap();
        assert_eq!(mode(&path), 0o600, "state file");
        let mut lock_path = path.clone();
        lock_path.as_mut_os_string().push(".lock");
        assert_eq!(mode(&lock_path), 0o600, "lock file");
        assert!(!tmp.exists());
        drop(lock);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

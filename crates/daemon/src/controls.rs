//! Run-time safety controls shared by the API and the control loop: the global mode and the kill
//! switch.
//!
//! The mode rule: a workload acts only when the global mode is `act` and its own `mode` (if the
//! config gives one) is not `forecast-only`. The global mode starts as the top-level `mode`
//! (default `forecast-only`) and is switched by `POST /api/v1/mode`; switching it to forecast-only
//! stops every workload's actuation at once, and a workload's own mode can only restrict. The kill
//! switch (global or per workload) also stops actuation, whatever the modes.
//!
//! With a state file (`<db>.controls.json`, see [`Controls::restore`]) every switch is saved before
//! it takes effect (a temporary file written and synced, renamed over the file, the directory
//! synced; owner-only permissions), so a daemon killed with -9 comes back with the mode and kill
//! switches its operators last set, not the config's start-up values. A change that cannot be
//! saved is refused: the switches stay as they were and no temporary file is left.

use prescale_actuate::KillSwitch;
use prescale_control::Mode;
use prescale_core::WorkloadId;
use prescale_remote::text::{family, line};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// A switch that could not be made durable (and so was not made).
#[derive(Debug, thiserror::Error)]
#[error("saving the mode and kill switches to {}: {source}; nothing was changed", file.display())]
pub struct SaveError {
    pub file: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved {
    mode: Mode,
    kill_global: bool,
    kill_workloads: Vec<WorkloadId>,
}

/// Clones share the same state (one for the API, one for the loop).
#[derive(Debug, Clone)]
pub struct Controls {
    act: Arc<AtomicBool>,
    kill: KillSwitch,
    /// The per-workload switches engaged (the kill switch cannot list them).
    engaged: Arc<Mutex<BTreeSet<WorkloadId>>>,
    /// Where every change is saved (`None`: kept in memory only).
    file: Option<Arc<PathBuf>>,
    /// Serializes saves so the file always holds the latest state.
    saving: Arc<Mutex<()>>,
}

impl Controls {
    pub fn new(mode: Mode) -> Controls {
        Controls {
            act: Arc::new(AtomicBool::new(mode == Mode::Act)),
            kill: KillSwitch::new(),
            engaged: Arc::default(),
            file: None,
            saving: Arc::default(),
        }
    }

    /// Controls saved to `file`: the state it holds when it exists (what operators last set),
    /// else `mode` with no switch engaged. An unreadable file is reported and the safe state is
    /// used: the config's mode with the global kill switch engaged, so nothing acts until an
    /// operator looks.
    pub fn restore(mode: Mode, file: &Path) -> (Controls, Option<String>) {
        let mut c = Controls::new(mode);
        c.file = Some(Arc::new(file.to_path_buf()));
        let problem = match std::fs::read(file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => Some(format!("reading {}: {e}", file.display())),
            Ok(bytes) => match serde_json::from_slice::<Saved>(&bytes) {
                Ok(saved) => {
                    c.act.store(saved.mode == Mode::Act, Ordering::SeqCst);
                    c.kill.set_global(saved.kill_global);
                    for w in &saved.kill_workloads {
                        c.kill.set_workload(w, true);
                    }
                    *c.engaged.lock().unwrap_or_else(PoisonError::into_inner) =
                        saved.kill_workloads.into_iter().collect();
                    None
                }
                Err(e) => Some(format!("parsing {}: {e}", file.display())),
            },
        };
        if problem.is_some() {
            c.kill.set_global(true);
        }
        (c, problem)
    }

    /// Writes `saved` to the state file (when there is one) durably: a temporary file beside it
    /// (mode 0600) written and synced, renamed over it, the directory synced. On failure the
    /// temporary file is removed and the old file is left as it was.
    fn persist(&self, saved: &Saved) -> Result<(), SaveError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let file = file.as_path();
        let tmp = file.with_extension("json.tmp");
        let fail = |source| SaveError {
            file: file.to_path_buf(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(saved)
            .map_err(std::io::Error::other)
            .map_err(fail)?;
        let written = write_synced(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, file));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e));
        }
        sync_dir(file).map_err(fail)
    }

    /// The global mode now.
    pub fn mode(&self) -> Mode {
        if self.act.load(Ordering::SeqCst) {
            Mode::Act
        } else {
            Mode::ForecastOnly
        }
    }

    /// Sets the global mode once it is saved; returns the previous one. When it cannot be saved
    /// the mode stays as it was.
    pub fn set_mode(&self, mode: Mode) -> Result<Mode, SaveError> {
        let _guard = self.saving.lock().unwrap_or_else(PoisonError::into_inner);
        let before = self.mode();
        let (kill_global, kill_workloads) = self.kill_state();
        self.persist(&Saved {
            mode,
            kill_global,
            kill_workloads,
        })?;
        self.act.store(mode == Mode::Act, Ordering::SeqCst);
        Ok(before)
    }

    /// The kill switch actuators are guarded by.
    pub fn kill_switch(&self) -> &KillSwitch {
        &self.kill
    }

    /// Engages or releases the global switch, or one workload's, once the change is saved. When
    /// it cannot be saved every switch stays as it was.
    pub fn set_kill(&self, workload: Option<&WorkloadId>, engaged: bool) -> Result<(), SaveError> {
        let _guard = self.saving.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut kill_global, workloads) = self.kill_state();
        let mut set: BTreeSet<WorkloadId> = workloads.into_iter().collect();
        match workload {
            None => kill_global = engaged,
            Some(w) if engaged => {
                set.insert(w.clone());
            }
            Some(w) => {
                set.remove(w);
            }
        }
        self.persist(&Saved {
            mode: self.mode(),
            kill_global,
            kill_workloads: set.iter().cloned().collect(),
        })?;
        match workload {
            None => self.kill.set_global(engaged),
            Some(w) => {
                *self.engaged.lock().unwrap_or_else(PoisonError::into_inner) = set;
                self.kill.set_workload(w, engaged);
            }
        }
        Ok(())
    }

    /// Whether the global switch is engaged, and the workloads whose own switch is.
    pub fn kill_state(&self) -> (bool, Vec<WorkloadId>) {
        let set = self.engaged.lock().unwrap_or_else(PoisonError::into_inner);
        (self.kill.is_global(), set.iter().cloned().collect())
    }

    /// `prescale_mode_act` and `prescale_kill_switch_engaged{scope}` (one sample per configured
    /// workload with `scope="workload"`) as exposition text.
    pub fn exposition(&self, workloads: &[WorkloadId]) -> String {
        let (global, engaged) = self.kill_state();
        let mut t = String::new();
        family(
            &mut t,
            "prescale_mode_act",
            "gauge",
            "1 when the global mode is act, 0 when forecast-only.",
        );
        line(
            &mut t,
            "prescale_mode_act",
            &[],
            f64::from(u8::from(self.mode() == Mode::Act)),
        );
        family(
            &mut t,
            "prescale_kill_switch_engaged",
            "gauge",
            "1 when the kill switch of the scope is engaged.",
        );
        line(
            &mut t,
            "prescale_kill_switch_engaged",
            &[("scope", "global")],
            f64::from(u8::from(global)),
        );
        for w in workloads {
            line(
                &mut t,
                "prescale_kill_switch_engaged",
                &[("scope", "workload"), ("workload", w.as_str())],
                f64::from(u8::from(engaged.contains(w))),
            );
        }
        t
    }
}

/// Creates (mode 0600) or truncates `path`, writes `bytes` and syncs them.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Syncs the directory holding `file`, so a rename into it survives a crash.
fn sync_dir(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// Where the mode and kill switches of the store at `db` are saved: `<db>.controls.json`.
pub fn state_file(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".controls.json");
    PathBuf::from(name)
}

/// Where a workload's process pool records its replicas by default: `<db>.pool.<workload>.json`,
/// the workload id with every byte outside `[A-Za-z0-9._-]` written as `%XX` (distinct ids stay
/// distinct files).
pub fn pool_state_file(db: &Path, workload: &WorkloadId) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".pool.");
    for b in workload.as_str().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            name.push(char::from(b).to_string());
        } else {
            name.push(format!("%{b:02X}"));
        }
    }
    name.push(".json");
    PathBuf::from(name)
}

/// The mode a workload runs in now: `act` only when the global mode is `act` and its own mode,
/// if given, is `act` too.
pub fn effective_mode(own: Option<Mode>, global: Mode) -> Mode {
    match (global, own) {
        (Mode::Act, None | Some(Mode::Act)) => Mode::Act,
        _ => Mode::ForecastOnly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_state_files_keep_distinct_workloads_apart() {
        let db = Path::new("/var/lib/prescale/p.db");
        let file = |w: &str| {
            pool_state_file(db, &WorkloadId::new(w).unwrap())
                .display()
                .to_string()
        };
        assert_eq!(file("api"), "/var/lib/prescale/p.db.pool.api.json");
        assert_eq!(
            file("shop/cart"),
            "/var/lib/prescale/p.db.pool.shop%2Fcart.json"
        );
        assert_ne!(file("shop/cart"), file("shop_cart"));
    }

    #[test]
    fn own_mode_wins_over_the_global_mode() {
        use Mode::*;
        assert_eq!(effective_mode(Some(ForecastOnly), Act), ForecastOnly);
        assert_eq!(effective_mode(Some(Act), ForecastOnly), ForecastOnly);
        assert_eq!(effective_mode(Some(Act), Act), Act);
        assert_eq!(effective_mode(Some(ForecastOnly), Act), ForecastOnly);
        assert_eq!(effective_mode(None, Act), Act);
        assert_eq!(effective_mode(None, ForecastOnly), ForecastOnly);
    }

    #[test]
    fn switches_are_shared_and_exposed() {
        let c = Controls::new(Mode::ForecastOnly);
        let other = c.clone();
        assert_eq!(other.set_mode(Mode::Act).unwrap(), Mode::ForecastOnly);
        assert_eq!(c.mode(), Mode::Act);
        let web = WorkloadId::new("web").unwrap();
        let db = WorkloadId::new("db").unwrap();
        other.set_kill(Some(&web), true).unwrap();
        assert_eq!(c.kill_state(), (false, vec![web.clone()]));
        assert!(c.kill_switch().engaged_for(&web).is_some());
        let text = c.exposition(&[web.clone(), db.clone()]);
        assert!(text.contains("prescale_mode_act 1\n"), "{text}");
        assert!(text.contains("prescale_kill_switch_engaged{scope=\"global\"} 0\n"));
        assert!(text.contains("scope=\"workload\",workload=\"web\"} 1\n"));
        assert!(text.contains("scope=\"workload\",workload=\"db\"} 0\n"));
        c.set_kill(None, true).unwrap();
        c.set_kill(Some(&web), false).unwrap();
        assert_eq!(other.kill_state(), (true, vec![]));
        assert!(other.kill_switch().engaged_for(&db).is_some());
    }

    #[test]
    fn switches_survive_a_restart_and_a_bad_file_fails_safe() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db.controls.json");
        let web = WorkloadId::new("web").unwrap();
        let (c, problem) = Controls::restore(Mode::ForecastOnly, &file);
        assert!(problem.is_none());
        assert_eq!(
            (c.mode(), c.kill_state()),
            (Mode::ForecastOnly, (false, vec![]))
        );
        c.set_mode(Mode::Act).unwrap();
        c.set_kill(Some(&web), true).unwrap();
        drop(c);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let (back, problem) = Controls::restore(Mode::ForecastOnly, &file);
        assert!(problem.is_none());
        assert_eq!(back.mode(), Mode::Act);
        assert_eq!(back.kill_state(), (false, vec![web.clone()]));
        assert!(back.kill_switch().engaged_for(&web).is_some());
        std::fs::write(&file, "{not json").unwrap();
        let (safe, problem) = Controls::restore(Mode::Act, &file);
        assert!(problem.unwrap().contains("parsing"));
        assert!(safe.kill_state().0);
    }

    /// A change that cannot be saved (here the rename fails: a non-empty directory stands where
    /// the file goes, which stops root too) is refused: memory unchanged, no `.tmp` left.
    #[test]
    fn a_change_that_cannot_be_saved_is_not_made() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db.controls.json");
        let (c, _) = Controls::restore(Mode::ForecastOnly, &file);
        c.set_kill(None, true).unwrap();
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir_all(file.join("blocker")).unwrap();
        let web = WorkloadId::new("web").unwrap();
        let e = c.set_kill(None, false).unwrap_err();
        assert!(e.to_string().contains("nothing was changed"), "{e}");
        assert!(c.set_kill(Some(&web), true).is_err());
        assert!(c.set_mode(Mode::Act).is_err());
        assert_eq!(c.kill_state(), (true, vec![]));
        assert!(c.kill_switch().engaged_for(&web).is_some());
        assert_eq!(c.mode(), Mode::ForecastOnly);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["db.controls.json".to_string()], "{names:?}");
        // Once it can be saved again, it is.
        std::fs::remove_dir_all(&file).unwrap();
        c.set_kill(None, false).unwrap();
        assert_eq!(
            Controls::restore(Mode::Act, &file).0.kill_state(),
            (false, vec![])
        );
    }
}

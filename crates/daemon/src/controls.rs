//! Run-time safety controls shared by the API and the control loop: the global mode and the kill
//! switch.
//!
//! The mode rule: a workload acts only when the global mode is `act` and its own `mode` (if the
//! config gives one) is not `forecast-only`. The global mode starts as the top-level `mode`
//! (default `forecast-only`) and is switched by `POST /api/v1/mode`; switching it to forecast-only
//! stops every workload's actuation at once, and a workload's own mode can only restrict. The kill
//! switch (global or per workload) also stops actuation, whatever the modes.
//!
//! With a state file (`<db>.controls.json`, see [`Controls::restore`]) every switch is saved as it
//! happens (written to a temporary file, synced, renamed), so a daemon killed with -9 comes back
//! with the mode and kill switches its operators last set, not the config's start-up values.

use prescale_actuate::KillSwitch;
use prescale_control::Mode;
use prescale_core::WorkloadId;
use prescale_remote::naming::escape_label_value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

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

    /// Writes the state file (when there is one): temporary file, sync, rename.
    fn save(&self) {
        let Some(file) = &self.file else { return };
        let _guard = self.saving.lock().unwrap_or_else(PoisonError::into_inner);
        let (kill_global, kill_workloads) = self.kill_state();
        let saved = Saved {
            mode: self.mode(),
            kill_global,
            kill_workloads,
        };
        let tmp = file.with_extension("json.tmp");
        let written = serde_json::to_vec_pretty(&saved)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
                std::fs::rename(&tmp, file.as_path())
            });
        if let Err(e) = written {
            tracing::error!(file = %file.display(), error = %e, "saving the mode and kill switches");
        }
    }

    /// The global mode now.
    pub fn mode(&self) -> Mode {
        if self.act.load(Ordering::SeqCst) {
            Mode::Act
        } else {
            Mode::ForecastOnly
        }
    }

    /// Sets the global mode; returns the previous one.
    pub fn set_mode(&self, mode: Mode) -> Mode {
        let before = if self.act.swap(mode == Mode::Act, Ordering::SeqCst) {
            Mode::Act
        } else {
            Mode::ForecastOnly
        };
        self.save();
        before
    }

    /// The kill switch actuators are guarded by.
    pub fn kill_switch(&self) -> &KillSwitch {
        &self.kill
    }

    /// Engages or releases the global switch, or one workload's.
    pub fn set_kill(&self, workload: Option<&WorkloadId>, engaged: bool) {
        match workload {
            None => self.kill.set_global(engaged),
            Some(w) => {
                let mut set = self.engaged.lock().unwrap_or_else(PoisonError::into_inner);
                if engaged {
                    set.insert(w.clone());
                } else {
                    set.remove(w);
                }
                self.kill.set_workload(w, engaged);
            }
        }
        self.save();
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
        t.push_str(
            "# HELP prescale_mode_act 1 when the global mode is act, 0 when forecast-only.\n",
        );
        t.push_str("# TYPE prescale_mode_act gauge\n");
        let _ = writeln!(
            t,
            "prescale_mode_act {}",
            u8::from(self.mode() == Mode::Act)
        );
        t.push_str(
            "# HELP prescale_kill_switch_engaged 1 when the kill switch of the scope is engaged.\n",
        );
        t.push_str("# TYPE prescale_kill_switch_engaged gauge\n");
        let _ = writeln!(
            t,
            "prescale_kill_switch_engaged{{scope=\"global\"}} {}",
            u8::from(global)
        );
        for w in workloads {
            let _ = writeln!(
                t,
                "prescale_kill_switch_engaged{{scope=\"workload\",workload=\"{}\"}} {}",
                escape_label_value(w.as_str()),
                u8::from(engaged.contains(w))
            );
        }
        t
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
        assert_eq!(other.set_mode(Mode::Act), Mode::ForecastOnly);
        assert_eq!(c.mode(), Mode::Act);
        let web = WorkloadId::new("web").unwrap();
        let db = WorkloadId::new("db").unwrap();
        other.set_kill(Some(&web), true);
        assert_eq!(c.kill_state(), (false, vec![web.clone()]));
        assert!(c.kill_switch().engaged_for(&web).is_some());
        let text = c.exposition(&[web.clone(), db.clone()]);
        assert!(text.contains("prescale_mode_act 1\n"), "{text}");
        assert!(text.contains("prescale_kill_switch_engaged{scope=\"global\"} 0\n"));
        assert!(text.contains("scope=\"workload\",workload=\"web\"} 1\n"));
        assert!(text.contains("scope=\"workload\",workload=\"db\"} 0\n"));
        c.set_kill(None, true);
        c.set_kill(Some(&web), false);
        assert_eq!(other.kill_state(), (true, vec![]));
        assert!(other.kill_switch().engaged_for(&db).is_some());
    }

    #[test]
    fn switches_survive_a_restart_and_a_bad_file_fails_safe() {
        let dir = std::env::temp_dir().join(format!("prescale-controls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("db.controls.json");
        let _ = std::fs::remove_file(&file);
        let web = WorkloadId::new("web").unwrap();
        let (c, problem) = Controls::restore(Mode::ForecastOnly, &file);
        assert!(problem.is_none());
        assert_eq!(
            (c.mode(), c.kill_state()),
            (Mode::ForecastOnly, (false, vec![]))
        );
        c.set_mode(Mode::Act);
        c.set_kill(Some(&web), true);
        drop(c);
        let (back, problem) = Controls::restore(Mode::ForecastOnly, &file);
        assert!(problem.is_none());
        assert_eq!(back.mode(), Mode::Act);
        assert_eq!(back.kill_state(), (false, vec![web.clone()]));
        assert!(back.kill_switch().engaged_for(&web).is_some());
        std::fs::write(&file, "{not json").unwrap();
        let (safe, problem) = Controls::restore(Mode::Act, &file);
        assert!(problem.unwrap().contains("parsing"));
        assert!(safe.kill_state().0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

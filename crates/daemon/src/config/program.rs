//! Whether the program of an `exec` or `process-pool` actuator can be started: found (on `PATH`
//! when it names no directory) and executable, so a typo fails `config check`, not the first
//! decision.

use prescale_actuate::ActuatorConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `Err(reason)` when the actuator's program is missing or not executable; `Ok` for actuators
/// that start no program.
pub(super) fn runnable(a: &ActuatorConfig) -> Result<(), String> {
    let (program, env, dir) = match a {
        ActuatorConfig::Exec(e) => (&e.program, &e.env, e.working_dir.as_deref()),
        ActuatorConfig::ProcessPool(p) => (&p.program, &p.env, p.working_dir.as_deref()),
        ActuatorConfig::DryRun(_) | ActuatorConfig::Webhook(_) | ActuatorConfig::Kubernetes(_) => {
            return Ok(())
        }
    };
    let path = Path::new(program);
    if path.components().count() > 1 || path.is_absolute() {
        // A path: as given (absolute, or relative to this directory), or relative to the working
        // directory the actuator starts it in.
        let candidates = std::iter::once(path.to_path_buf())
            .chain(dir.filter(|_| path.is_relative()).map(|d| d.join(path)));
        let mut last = None;
        for c in candidates {
            match executable(&c) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        return Err(last.unwrap_or_else(|| format!("{program:?} is not a file")));
    }
    let search = search_path(env);
    if std::env::split_paths(&search)
        .filter(|d| !d.as_os_str().is_empty())
        .any(|d| executable(&d.join(path)).is_ok())
    {
        Ok(())
    } else {
        Err(format!(
            "{program:?} is not an executable file in any directory of PATH ({})",
            search.to_string_lossy()
        ))
    }
}

/// The `PATH` the program is looked up in: the actuator's own `env` when it sets one.
fn search_path(env: &BTreeMap<String, String>) -> std::ffi::OsString {
    match env.get("PATH") {
        Some(p) => p.into(),
        None => std::env::var_os("PATH").unwrap_or_default(),
    }
}

fn executable(p: &PathBuf) -> Result<(), String> {
    let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", p.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(format!("{} is not executable", p.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(program: &str) -> ActuatorConfig {
        let text = format!("type = \"exec\"\nprogram = {program:?}\n");
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn programs_on_path_and_by_path() {
        assert_eq!(runnable(&exec("sh")), Ok(()));
        assert_eq!(runnable(&exec("/bin/sh")), Ok(()));
        let missing = runnable(&exec("prescale-surely-not-a-program")).unwrap_err();
        assert!(missing.contains("not an executable file"), "{missing}");
        let gone = runnable(&exec("/nonexistent/deploy.sh")).unwrap_err();
        assert!(gone.contains("/nonexistent/deploy.sh"), "{gone}");
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("script.sh");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        let e = runnable(&exec(&plain.display().to_string())).unwrap_err();
        assert!(e.contains("not executable"), "{e}");
        assert!(runnable(&exec(&dir.path().display().to_string()))
            .unwrap_err()
            .contains("not a file"));
    }
}

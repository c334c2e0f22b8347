//! Invariant checks of config parsing and validation shared by its cargo-fuzz target and the
//! corpus-replay test (not a stable API): `Err` describes a broken invariant.

use super::DaemonConfig;

/// Parses and validates `data` (when UTF-8) twice: no panic, the same verdict and the same problems
/// both times, every problem with a path and a message, and a valid config inside its own rules.
pub fn config(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let problems = |r: &Result<DaemonConfig, super::ConfigError>| -> Vec<String> {
        let mut v: Vec<String> = match r {
            Ok(_) => Vec::new(),
            Err(e) => e
                .problems()
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect(),
        };
        v.sort();
        v
    };
    let first = DaemonConfig::from_toml(text);
    let second = DaemonConfig::from_toml(text);
    if first.is_ok() != second.is_ok() || problems(&first) != problems(&second) {
        return Err("two validations of the same text disagree".into());
    }
    match &first {
        Err(e) => {
            if e.to_string().is_empty() {
                return Err("an error with no message".into());
            }
            if let Some(p) = e
                .problems()
                .iter()
                .find(|p| p.path.is_empty() || p.message.is_empty())
            {
                return Err(format!("a problem without a path or message: {p:?}"));
            }
        }
        Ok(cfg) => {
            let l = &cfg.receiver.limits;
            let a = &cfg.admission;
            if l.max_body_bytes == 0
                || l.max_samples == 0
                || l.max_inflight_bytes < l.max_body_bytes.saturating_add(l.max_decompressed_bytes)
                || a.max_series == 0
                || a.max_series_per_workload == 0
                || a.series_idle_ms < 1000
            {
                return Err(format!("a valid config breaks its own limits: {l:?} {a:?}"));
            }
        }
    }
    Ok(())
}

//! Helpers for the binary's integration tests: run `prescale`, locate the shared data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn prescale(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("running the prescale binary")
}

pub fn ok(db: &Path, args: &[&str]) -> String {
    let out = prescale(db, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "prescale {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Fails and returns stderr, which must be exactly one line.
pub fn fails(db: &Path, args: &[&str]) -> String {
    let out = prescale(db, args);
    assert!(
        !out.status.success(),
        "prescale {args:?} unexpectedly succeeded"
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "error is not one line: {err}"
    );
    err
}

/// `../shared/data` beside the checkout, or `None` (and a message) when absent; under CI=true absence fails.
pub fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/data not found beside the checkout, and CI=true requires it");
    }
    eprintln!("skipping: ../shared/data not found");
    None
}

/// An HTTP client that returns error statuses instead of failing (10 s timeout).
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

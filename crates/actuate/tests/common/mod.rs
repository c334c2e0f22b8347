//! Helpers shared by the integration tests.
#![allow(dead_code)]

use prescale_actuate::{ActuationRequest, DesiredState, Resources};
use prescale_core::{Timestamp, WorkloadId};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub fn workload() -> WorkloadId {
    WorkloadId::new("web").unwrap()
}

pub fn request(replicas: u32) -> ActuationRequest {
    let mut desired = DesiredState::replicas(workload(), replicas);
    desired.resources = Some(Resources {
        cpu_millis: Some(250),
        memory_bytes: Some(512 << 20),
    });
    ActuationRequest {
        desired,
        decision_id: format!("dec-{replicas}"),
        reason: r#"{"rule":"predictive","forecast_p90":42.5}"#.into(),
        issued_at: Timestamp(1_700_000_000_000),
    }
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "prescale-actuate-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether a process is alive (a zombie counts as dead).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim().chars().next());
            !matches!(state, Some('Z') | Some('X'))
        }
        Err(_) => false,
    }
}

/// Waits (bounded, generous) until `cond` holds; returns whether it did.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Reads a file written by a child, waiting for it to appear.
pub fn read_when_ready(path: &std::path::Path) -> String {
    let mut text = String::new();
    eventually(|| {
        text = std::fs::read_to_string(path).unwrap_or_default();
        text.ends_with('\n')
    });
    text
}

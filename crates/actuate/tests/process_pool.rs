//! ProcessPool against real `sleep` processes, checked through /proc.

mod common;

use common::{alive, eventually, read_when_ready, temp_dir, workload};
use prescale_actuate::{
    ActuateError, ActuationRequest, Actuator, DesiredState, PoolCommand, ProcessPool,
};
use prescale_core::{Timestamp, WorkloadId};
use std::time::Duration;

fn scale(workload: &WorkloadId, n: u32) -> ActuationRequest {
    ActuationRequest {
        desired: DesiredState::replicas(workload.clone(), n),
        decision_id: format!("d{n}"),
        reason: "test".into(),
        issued_at: Timestamp(0),
    }
}

fn sleep_pool() -> ProcessPool {
    ProcessPool::new(PoolCommand::new("sleep", ["60"]), Duration::from_secs(5), 8)
}

#[test]
fn scales_0_3_1_0_and_restarts_killed_children() {
    let w = workload();
    let mut pool = sleep_pool();
    assert!(pool.current(&w).unwrap().is_none());

    let a = pool.apply(&scale(&w, 0)).unwrap();
    assert!(!a.changed);
    assert_eq!(pool.current(&w).unwrap().unwrap().replicas, Some(0));

    let a = pool.apply(&scale(&w, 3)).unwrap();
    assert!(a.changed);
    assert_eq!(a.detail, "3 running (started 3)");
    let three = pool.pids(&w);
    assert_eq!(three.len(), 3);
    assert!(three.iter().all(|p| alive(*p)));
    assert_eq!(pool.current(&w).unwrap().unwrap().replicas, Some(3));

    // Idempotent.
    assert!(!pool.apply(&scale(&w, 3)).unwrap().changed);
    assert_eq!(pool.pids(&w), three);

    // Scale in: the two newest go.
    let a = pool.apply(&scale(&w, 1)).unwrap();
    assert!(a.changed);
    assert_eq!(pool.pids(&w), vec![three[0]]);
    assert!(!alive(three[1]) && !alive(three[2]));

    // Kill the survivor behind the pool's back: noticed, then restarted on reconcile.
    let victim = three[0];
    std::process::Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    assert!(eventually(|| pool.running(&w) == 0));
    let report = pool.reconcile().unwrap()[&w];
    assert_eq!(report.restarted, 1);
    assert_eq!(report.running, 1);
    let replacement = pool.pids(&w)[0];
    assert_ne!(replacement, victim);
    assert!(alive(replacement));

    let a = pool.apply(&scale(&w, 0)).unwrap();
    assert!(a.changed);
    assert!(pool.pids(&w).is_empty());
    assert!(!alive(replacement));
}

#[test]
fn drop_leaves_no_process_behind() {
    let w = workload();
    let other = WorkloadId::new("batch").unwrap();
    let mut pool = sleep_pool();
    pool.apply(&scale(&w, 2)).unwrap();
    pool.apply(&scale(&other, 2)).unwrap();
    let mut pids = pool.pids(&w);
    pids.extend(pool.pids(&other));
    assert_eq!(pids.len(), 4);
    assert!(pids.iter().all(|p| alive(*p)));
    drop(pool);
    for pid in pids {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || !alive(pid));
        assert!(!alive(pid), "{pid} outlived the pool");
    }
}

#[test]
fn replicas_get_workload_and_index_env_and_term_ignorers_are_killed() {
    let dir = temp_dir("pool-env");
    // Each replica records its env, ignores SIGTERM, and waits (so stopping needs SIGKILL).
    let script = format!(
        "trap '' TERM; echo \"$PRESCALE_WORKLOAD $PRESCALE_REPLICA_INDEX $$\" > {d}/r$PRESCALE_REPLICA_INDEX; while true; do sleep 1; done",
        d = dir.display()
    );
    let w = workload();
    let mut pool = ProcessPool::new(
        PoolCommand::new("sh", ["-c", script.as_str()]),
        Duration::from_millis(300),
        8,
    );
    pool.apply(&scale(&w, 2)).unwrap();
    let r0 = read_when_ready(&dir.join("r0"));
    let r1 = read_when_ready(&dir.join("r1"));
    assert!(r0.starts_with("web 0 "), "{r0}");
    assert!(r1.starts_with("web 1 "), "{r1}");
    let pids = pool.pids(&w);
    pool.apply(&scale(&w, 0)).unwrap();
    for pid in pids {
        assert!(!alive(pid), "{pid} survived SIGKILL");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn refuses_requests_it_cannot_honour() {
    let w = workload();
    let mut pool = sleep_pool();
    let err = pool.apply(&scale(&w, 9)).unwrap_err();
    assert!(matches!(err, ActuateError::InvalidRequest(_)), "{err:?}");
    let mut no_replicas = scale(&w, 1);
    no_replicas.desired.replicas = None;
    assert!(matches!(
        pool.apply(&no_replicas).unwrap_err(),
        ActuateError::Unsupported { .. }
    ));
    let mut missing = ProcessPool::new(
        PoolCommand::new("/nonexistent/prescale-no-such", Vec::<String>::new()),
        Duration::from_secs(1),
        4,
    );
    let err = missing.apply(&scale(&w, 1)).unwrap_err();
    assert!(matches!(err, ActuateError::Spawn { .. }), "{err:?}");
}

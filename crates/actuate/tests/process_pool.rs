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

fn recorded(state: &std::path::Path) -> Vec<(String, u64, u64)> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    v["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["workload"].as_str().unwrap().to_string(),
                r["index"].as_u64().unwrap(),
                r["pid"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_crashed_pools_replicas_are_adopted_not_doubled() {
    let dir = temp_dir("pool-adopt");
    let state = dir.join("pool.json");
    let w = workload();
    let other = WorkloadId::new("batch").unwrap();
    let mut pool = sleep_pool().with_state_file(&state).unwrap();
    pool.apply(&scale(&w, 3)).unwrap();
    pool.apply(&scale(&other, 1)).unwrap();
    let web = pool.pids(&w);
    let batch = pool.pids(&other);
    assert_eq!(recorded(&state).len(), 4);
    // What a crash leaves: nothing stopped, the file as last written, its lock released.
    pool.detach();

    // Records that must not be adopted: a process that has exited, and a live pid whose start
    // time differs (a reused pid).
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let replicas = v["replicas"].as_array_mut().unwrap();
    replicas.push(
        serde_json::json!({"workload": "web", "index": 7, "pid": gone_pid, "start_ticks": 1}),
    );
    replicas
        .push(serde_json::json!({"workload": "web", "index": 8, "pid": web[0], "start_ticks": 1}));
    std::fs::write(&state, v.to_string()).unwrap();

    let mut pool = sleep_pool().with_state_file(&state).unwrap();
    // While a pool uses the file, a second one is refused (it would adopt, then stop, replicas
    // the first one manages).
    let err = sleep_pool().with_state_file(&state).unwrap_err();
    assert!(
        err.to_string().contains("another running prescale"),
        "{err}"
    );
    assert_eq!(pool.pids(&w), web, "the running replicas, oldest first");
    assert_eq!(pool.pids(&other), batch);
    assert_eq!(pool.current(&w).unwrap().unwrap().replicas, Some(3));
    let on_file = recorded(&state);
    assert_eq!(on_file.len(), 4, "stale records dropped: {on_file:?}");
    assert!(on_file.iter().all(|(_, index, _)| *index < 3));

    // Asking for what runs changes nothing and says where the replicas came from.
    let a = pool.apply(&scale(&w, 3)).unwrap();
    assert!(!a.changed);
    assert_eq!(
        a.detail,
        "3 running (adopted 3 left by an earlier prescale)"
    );
    assert_eq!(pool.pids(&w), web);

    // Adopted replicas are stopped like our own: the newest first.
    let a = pool.apply(&scale(&w, 1)).unwrap();
    assert_eq!(a.detail, "1 running (stopped 2)");
    assert!(eventually(|| !alive(web[1]) && !alive(web[2])));
    assert!(alive(web[0]));
    // A killed adopted replica is noticed and replaced by one of our own.
    std::process::Command::new("kill")
        .args(["-9", &web[0].to_string()])
        .status()
        .unwrap();
    assert!(eventually(|| pool.running(&w) == 0));
    let report = pool.reconcile().unwrap()[&w];
    assert_eq!((report.restarted, report.running), (1, 1));
    let fresh = pool.pids(&w)[0];
    assert!(alive(fresh) && fresh != web[0]);
    assert_eq!(recorded(&state).len(), 2);

    drop(pool);
    assert!(
        !alive(fresh) && !alive(batch[0]),
        "drop stops adopted replicas too"
    );
    assert!(recorded(&state).is_empty());

    // A file that is not a state file is refused, by name: replicas could be running untracked.
    std::fs::write(&state, "garbage").unwrap();
    let err = sleep_pool().with_state_file(&state).unwrap_err();
    assert!(matches!(err, ActuateError::PoolState { .. }), "{err:?}");
    assert!(err.to_string().contains("pool.json"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A crash between starting a replica and writing the state file (the replica runs, the file does
/// not list it): the next pool adopts it through its environment instead of leaving it running
/// unrecorded and starting a copy beside it.
#[test]
fn a_replica_started_but_not_yet_recorded_is_adopted_not_leaked() {
    let dir = temp_dir("pool-unrecorded");
    let state = dir.join("pool.json");
    let w = workload();
    let mut pool = sleep_pool().with_state_file(&state).unwrap();
    pool.apply(&scale(&w, 2)).unwrap();
    let both = pool.pids(&w);
    pool.detach();
    // The file as it was before the second replica was written down.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    v["replicas"].as_array_mut().unwrap().truncate(1);
    std::fs::write(&state, v.to_string()).unwrap();
    assert_eq!(recorded(&state).len(), 1);

    let mut pool = sleep_pool().with_state_file(&state).unwrap();
    assert_eq!(pool.pids(&w), both, "the unrecorded replica is adopted");
    let a = pool.apply(&scale(&w, 2)).unwrap();
    assert!(!a.changed, "{}", a.detail);
    assert_eq!(pool.pids(&w), both, "no copy started beside it");
    assert_eq!(recorded(&state).len(), 2);
    drop(pool);
    assert!(
        eventually(|| both.iter().all(|p| !alive(*p))),
        "both stopped with the pool"
    );
    let _ = std::fs::remove_dir_all(dir);
}

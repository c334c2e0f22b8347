//! Exec actuator against real `sh -c` scripts.

mod common;

use common::{alive, eventually, request, temp_dir};
use prescale_actuate::{ActuateError, ActuationRequest, Actuator, Exec, ExecOptions};
use std::time::Duration;

fn sh(script: &str, timeout: Duration) -> Exec {
    Exec::new(
        "sh",
        ExecOptions {
            args: vec!["-c".into(), script.into()],
            timeout,
            ..ExecOptions::default()
        },
    )
}

#[test]
fn env_vars_and_stdin_json_reach_the_command() {
    let dir = temp_dir("exec-env");
    let script = format!(
        "env | grep '^PRESCALE_' | sort > {dir}/env; cat > {dir}/stdin; echo done",
        dir = dir.display()
    );
    let mut exec = sh(&script, Duration::from_secs(30));
    let req = request(3);
    let applied = exec.apply(&req).unwrap();
    assert!(applied.changed);
    assert_eq!(applied.detail, "done");
    let env = std::fs::read_to_string(dir.join("env")).unwrap();
    for line in [
        "PRESCALE_WORKLOAD=web",
        "PRESCALE_REPLICAS=3",
        "PRESCALE_CPU_MILLIS=250",
        "PRESCALE_MEMORY_BYTES=536870912",
        "PRESCALE_DECISION_ID=dec-3",
        "PRESCALE_ISSUED_AT_MS=1700000000000",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    assert!(!env.contains("PRESCALE_INSTANCE_TYPE"));
    let stdin = std::fs::read_to_string(dir.join("stdin")).unwrap();
    let parsed: ActuationRequest = serde_json::from_str(&stdin).unwrap();
    assert_eq!(parsed, req);
    assert_eq!(
        exec.current(&req.desired.workload)
            .unwrap()
            .unwrap()
            .replicas,
        Some(3)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn stdout_report_sets_changed_and_detail() {
    let mut exec = sh(
        r#"cat >/dev/null; echo '{"changed": false, "detail": "already at 3"}'"#,
        Duration::from_secs(30),
    );
    let applied = exec.apply(&request(3)).unwrap();
    assert!(!applied.changed);
    assert_eq!(applied.detail, "already at 3");
}

#[test]
fn exit_1_is_permanent_with_stderr_tail() {
    let mut exec = sh(
        "echo noise >&2; echo 'quota exceeded' >&2; exit 1",
        Duration::from_secs(30),
    );
    let err = exec.apply(&request(3)).unwrap_err();
    match &err {
        ActuateError::CommandFailed {
            code, stderr_tail, ..
        } => {
            assert_eq!(*code, Some(1));
            assert!(stderr_tail.ends_with("quota exceeded"), "{stderr_tail}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(exec.current(&common::workload()).unwrap().is_none());
}

#[test]
fn exit_75_is_retryable_and_codes_are_configurable() {
    let mut exec = sh("exit 75", Duration::from_secs(30));
    let err = exec.apply(&request(3)).unwrap_err();
    assert!(err.is_retryable(), "{err}");

    let mut custom = Exec::new(
        "sh",
        ExecOptions {
            args: vec!["-c".into(), "exit 75".into()],
            retryable_exit_codes: vec![3],
            ..ExecOptions::default()
        },
    );
    assert!(!custom.apply(&request(3)).unwrap_err().is_retryable());
}

#[test]
fn missing_program_is_a_spawn_error() {
    let mut exec = Exec::new("/nonexistent/prescale-no-such-tool", ExecOptions::default());
    let err = exec.apply(&request(1)).unwrap_err();
    assert!(matches!(err, ActuateError::Spawn { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[test]
fn timeout_kills_the_command_and_its_grandchildren() {
    let dir = temp_dir("exec-timeout");
    let pids = dir.join("pids");
    // The shell starts a background grandchild, records both pids, then waits forever.
    let script = format!(
        "sleep 300 & echo $! > {p}.tmp; echo $$ >> {p}.tmp; mv {p}.tmp {p}; wait",
        p = pids.display()
    );
    let mut exec = sh(&script, Duration::from_millis(1500));
    let err = exec.apply(&request(2)).unwrap_err();
    assert!(matches!(err, ActuateError::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    let text = std::fs::read_to_string(&pids).expect("script wrote its pids before the timeout");
    let pids: Vec<u32> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        assert!(
            eventually(|| !alive(pid)),
            "process {pid} survived the timeout"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn leftover_background_processes_do_not_block_or_survive() {
    let dir = temp_dir("exec-leftover");
    let pidfile = dir.join("pid");
    let script = format!("sleep 300 & echo $! > {p}; echo ok", p = pidfile.display());
    let mut exec = sh(&script, Duration::from_secs(60));
    let applied = exec.apply(&request(1)).unwrap();
    assert_eq!(applied.detail, "ok");
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        eventually(|| !alive(pid)),
        "background sleep {pid} survived"
    );
    let _ = std::fs::remove_dir_all(dir);
}

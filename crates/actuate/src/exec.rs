//! `Exec`: runs a command with the decision in environment variables and JSON on stdin.

use crate::output::{clip, last_lines, parse_report, read_tail};
use crate::signal::{has_exited_unreaped, kill_group};
use crate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState};
use prescale_core::WorkloadId;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How an [`Exec`] runs its command.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub args: Vec<String>,
    /// Extra environment variables (the parent's environment is inherited).
    pub env: BTreeMap<String, String>,
    pub working_dir: Option<PathBuf>,
    /// The command (and its process group) is killed when it runs longer.
    pub timeout: Duration,
    /// Exit codes that mean "try again later" (default: 75, `EX_TEMPFAIL`).
    pub retryable_exit_codes: Vec<i32>,
    /// Bytes of stdout/stderr kept (the tail).
    pub max_output_bytes: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            args: Vec::new(),
            env: BTreeMap::new(),
            working_dir: None,
            timeout: Duration::from_secs(60),
            retryable_exit_codes: vec![75],
            max_output_bytes: 64 * 1024,
        }
    }
}

/// Runs `program args…` directly (no shell unless `program` is one) for each request.
///
/// Environment: `PRESCALE_WORKLOAD`, `PRESCALE_DECISION_ID`, `PRESCALE_REASON` (at most 16 KiB),
/// `PRESCALE_ISSUED_AT_MS`, and when set in the request `PRESCALE_REPLICAS`, `PRESCALE_CPU_MILLIS`,
/// `PRESCALE_MEMORY_BYTES`, `PRESCALE_INSTANCE_TYPE` (unset ones are removed from the environment).
/// Stdin: the request as JSON. Exit 0 is success; stdout may be `{"changed": bool, "detail": "..."}`.
/// A configured retryable exit code or death by signal is retryable; other codes are permanent.
/// The error carries the tail of stderr. The command runs in its own process group: on timeout the
/// whole group is killed, and processes it leaves behind in that group are killed when it exits.
/// `current` returns the last state applied successfully through this actuator.
#[derive(Debug, Clone)]
pub struct Exec {
    program: String,
    opts: ExecOptions,
    applied: BTreeMap<WorkloadId, DesiredState>,
}

const ENV_REASON_MAX: usize = 16 * 1024;

impl Exec {
    pub fn new(program: impl Into<String>, opts: ExecOptions) -> Self {
        Exec {
            program: program.into(),
            opts,
            applied: BTreeMap::new(),
        }
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    fn command(&self, req: &ActuationRequest) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.opts.args)
            .envs(&self.opts.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(dir) = &self.opts.working_dir {
            cmd.current_dir(dir);
        }
        let d = &req.desired;
        let res = d.resources.as_ref();
        let optional = [
            ("PRESCALE_REPLICAS", d.replicas.map(|v| v.to_string())),
            (
                "PRESCALE_CPU_MILLIS",
                res.and_then(|r| r.cpu_millis).map(|v| v.to_string()),
            ),
            (
                "PRESCALE_MEMORY_BYTES",
                res.and_then(|r| r.memory_bytes).map(|v| v.to_string()),
            ),
            ("PRESCALE_INSTANCE_TYPE", d.instance_type.clone()),
        ];
        for (key, value) in optional {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let mut reason = req.reason.clone();
        if reason.len() > ENV_REASON_MAX {
            let mut cut = ENV_REASON_MAX;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        cmd.env("PRESCALE_WORKLOAD", d.workload.as_str())
            .env("PRESCALE_DECISION_ID", &req.decision_id)
            .env("PRESCALE_REASON", reason)
            .env("PRESCALE_ISSUED_AT_MS", req.issued_at.millis().to_string());
        cmd
    }

    fn run(&self, req: &ActuationRequest) -> Result<(ExitStatus, String, String), ActuateError> {
        let body = serde_json::to_vec(req)
            .map_err(|e| ActuateError::InvalidRequest(format!("cannot encode request: {e}")))?;
        let mut child = self
            .command(req)
            .spawn()
            .map_err(|source| ActuateError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        let pid = child.id();
        let started = Instant::now();
        let deadline = started + self.opts.timeout;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that ignores stdin closes the pipe early; that is not an error.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&body);
            });
        }
        let max = self.opts.max_output_bytes;
        let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            let (tx, rx) = mpsc::channel();
            if let Some(p) = pipe {
                std::thread::spawn(move || {
                    let _ = tx.send(read_tail(p, max));
                });
            }
            rx
        };
        let out_rx = reader(child.stdout.take().map(|p| Box::new(p) as _));
        let err_rx = reader(child.stderr.take().map(|p| Box::new(p) as _));

        let mut timed_out = false;
        loop {
            match has_exited_unreaped(pid) {
                Some(true) => break,
                Some(false) => {}
                // Cannot inspect without reaping: fall back to try_wait.
                None => {
                    if !matches!(child.try_wait(), Ok(None)) {
                        break;
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                timed_out = true;
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
        }
        // Kill the group: on timeout the command itself, otherwise whatever it left behind.
        kill_group(pid);
        let status = child.wait().map_err(|source| ActuateError::Io {
            what: format!("waiting for {}", self.program),
            source,
        })?;
        if timed_out {
            return Err(ActuateError::Timeout {
                what: format!("command {}", self.program),
                after: self.opts.timeout,
            });
        }
        let grace = Duration::from_secs(1);
        let collect = |rx: mpsc::Receiver<Vec<u8>>| {
            rx.recv_timeout(grace)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        Ok((status, collect(out_rx), collect(err_rx)))
    }
}

impl Actuator for Exec {
    fn name(&self) -> &str {
        "exec"
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        let (status, stdout, stderr) = self.run(req)?;
        if status.success() {
            let (changed, detail) = parse_report(&stdout).unwrap_or((None, None));
            let detail = detail.unwrap_or_else(|| {
                let tail = clip(&last_lines(&stdout, 1), 500);
                if tail.is_empty() {
                    format!("{} exited 0", self.program)
                } else {
                    tail
                }
            });
            let next = match self.applied.get(&req.desired.workload) {
                Some(prev) => prev.merged_with(&req.desired),
                None => req.desired.clone(),
            };
            self.applied.insert(req.desired.workload.clone(), next);
            return Ok(Applied {
                changed: changed.unwrap_or(true),
                detail,
            });
        }
        let code = status.code();
        let signal = status.signal();
        let retryable = match code {
            Some(c) => self.opts.retryable_exit_codes.contains(&c),
            None => true,
        };
        Err(ActuateError::CommandFailed {
            program: self.program.clone(),
            code,
            signal,
            stderr_tail: clip(&last_lines(&stderr, 20), 2000),
            retryable,
        })
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        Ok(self.applied.get(workload).cloned())
    }
}

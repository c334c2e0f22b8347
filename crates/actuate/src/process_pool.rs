//! `ProcessPool`: keeps N copies of a local command running per workload (the embedded default).

use crate::signal::{has_exited_unreaped, is_running, kill_group, terminate_group};
use crate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState};
use prescale_core::WorkloadId;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The command each replica runs.
#[derive(Debug, Clone, Default)]
pub struct PoolCommand {
    pub program: String,
    pub args: Vec<String>,
    /// Extra environment (each replica also gets `PRESCALE_WORKLOAD` and `PRESCALE_REPLICA_INDEX`).
    pub env: BTreeMap<String, String>,
    pub working_dir: Option<PathBuf>,
    /// Let replicas write to our stdout/stderr (default: discarded).
    pub inherit_output: bool,
}

impl PoolCommand {
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        PoolCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            ..PoolCommand::default()
        }
    }
}

/// What one reconciliation did for a workload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Replicas started (including restarts).
    pub started: u32,
    /// Of those, replacements for replicas that had exited.
    pub restarted: u32,
    /// Replicas stopped because there were too many.
    pub stopped: u32,
    /// Replicas running afterwards.
    pub running: u32,
}

struct Member {
    index: u32,
    child: Child,
}

#[derive(Default)]
struct Group {
    desired: u32,
    /// Oldest first.
    members: Vec<Member>,
    /// Replicas seen exited since the last reconciliation (replaced ones count as restarts).
    exited: u32,
}

impl Group {
    /// Drops (and reaps) replicas that have exited.
    fn reap(&mut self) {
        let before = self.members.len();
        self.members.retain_mut(|m| is_running(&mut m.child));
        self.exited = self
            .exited
            .saturating_add(count(before - self.members.len()));
    }
}

/// Keeps `replicas` copies of [`PoolCommand`] running for each workload it is asked about.
///
/// Each replica runs in its own process group. Scaling in stops the newest replicas first with
/// SIGTERM, then SIGKILL after `grace`. Replicas that exit are noticed and replaced on the next
/// `apply`, [`ProcessPool::reconcile`] or `current`. Dropping the pool stops every replica.
/// Only replicas are managed: resources and instance type in a request are ignored (and said so).
pub struct ProcessPool {
    command: PoolCommand,
    grace: Duration,
    max_replicas: u32,
    groups: BTreeMap<WorkloadId, Group>,
}

impl std::fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let running: BTreeMap<&str, usize> = self
            .groups
            .iter()
            .map(|(w, g)| (w.as_str(), g.members.len()))
            .collect();
        f.debug_struct("ProcessPool")
            .field("command", &self.command)
            .field("grace", &self.grace)
            .field("max_replicas", &self.max_replicas)
            .field("running", &running)
            .finish()
    }
}

impl ProcessPool {
    /// `grace`: how long a stopped replica gets between SIGTERM and SIGKILL.
    /// `max_replicas`: requests above it are refused (a guard against runaway forks).
    pub fn new(command: PoolCommand, grace: Duration, max_replicas: u32) -> Self {
        ProcessPool {
            command,
            grace,
            max_replicas,
            groups: BTreeMap::new(),
        }
    }

    /// The desired replica count last set for `workload`.
    pub fn desired(&self, workload: &WorkloadId) -> Option<u32> {
        self.groups.get(workload).map(|g| g.desired)
    }

    /// Replicas running now (exited ones are reaped, not restarted).
    pub fn running(&mut self, workload: &WorkloadId) -> u32 {
        match self.groups.get_mut(workload) {
            Some(g) => {
                g.reap();
                count(g.members.len())
            }
            None => 0,
        }
    }

    /// Process ids of the replicas, oldest first.
    pub fn pids(&self, workload: &WorkloadId) -> Vec<u32> {
        self.groups
            .get(workload)
            .map(|g| g.members.iter().map(|m| m.child.id()).collect())
            .unwrap_or_default()
    }

    /// Restarts exited replicas and stops extras for every workload.
    pub fn reconcile(&mut self) -> Result<BTreeMap<WorkloadId, ReconcileReport>, ActuateError> {
        let ids: Vec<WorkloadId> = self.groups.keys().cloned().collect();
        let mut out = BTreeMap::new();
        for id in ids {
            let report = self.reconcile_workload(&id)?;
            out.insert(id, report);
        }
        Ok(out)
    }

    /// Stops every replica of every workload (also done on drop).
    pub fn shutdown(&mut self) {
        let all: Vec<Member> = self
            .groups
            .values_mut()
            .flat_map(|g| {
                g.desired = 0;
                std::mem::take(&mut g.members)
            })
            .collect();
        stop(all, self.grace);
    }

    fn spawn(&self, workload: &WorkloadId, index: u32) -> Result<Child, ActuateError> {
        let c = &self.command;
        let mut cmd = Command::new(&c.program);
        cmd.args(&c.args)
            .envs(&c.env)
            .env("PRESCALE_WORKLOAD", workload.as_str())
            .env("PRESCALE_REPLICA_INDEX", index.to_string())
            .stdin(Stdio::null())
            .process_group(0);
        if !c.inherit_output {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        if let Some(dir) = &c.working_dir {
            cmd.current_dir(dir);
        }
        cmd.spawn().map_err(|source| ActuateError::Spawn {
            program: c.program.clone(),
            source,
        })
    }

    fn reconcile_workload(
        &mut self,
        workload: &WorkloadId,
    ) -> Result<ReconcileReport, ActuateError> {
        let mut report = ReconcileReport::default();
        let Some(mut group) = self.groups.remove(workload) else {
            return Ok(report);
        };
        group.reap();
        let desired = group.desired as usize;
        let mut result = Ok(());
        while group.members.len() < desired {
            let index = (0..)
                .find(|i| group.members.iter().all(|m| m.index != *i))
                .unwrap_or(0);
            match self.spawn(workload, index) {
                Ok(child) => {
                    group.members.push(Member { index, child });
                    report.started += 1;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        report.restarted = report.started.min(group.exited);
        group.exited -= report.restarted;
        if group.members.len() >= desired {
            group.exited = 0;
        }
        if group.members.len() > desired {
            // Newest are last: stop those first.
            let extras = group.members.split_off(desired);
            report.stopped = count(extras.len());
            stop(extras, self.grace);
        }
        report.running = count(group.members.len());
        self.groups.insert(workload.clone(), group);
        result.map(|()| report)
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// SIGTERM every member's process group, wait up to `grace`, then SIGKILL what is left.
fn stop(mut members: Vec<Member>, grace: Duration) {
    for m in &members {
        terminate_group(m.child.id());
    }
    let deadline = Instant::now() + grace;
    loop {
        members.retain_mut(|m| {
            let pid = m.child.id();
            let exited = match has_exited_unreaped(pid) {
                Some(e) => e,
                None => !is_running(&mut m.child),
            };
            if exited {
                // The leader is a zombie, so its group id is still ours: clear stragglers, then reap.
                kill_group(pid);
                let _ = m.child.wait();
            }
            !exited
        });
        if members.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for mut m in members {
        kill_group(m.child.id());
        let _ = m.child.kill();
        let _ = m.child.wait();
    }
}

impl Actuator for ProcessPool {
    fn name(&self) -> &str {
        "process-pool"
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        let d = &req.desired;
        let Some(replicas) = d.replicas else {
            return Err(ActuateError::Unsupported {
                actuator: "process-pool".into(),
                what: "requests without a replica count (it manages replicas only)".into(),
            });
        };
        if replicas > self.max_replicas {
            return Err(ActuateError::InvalidRequest(format!(
                "{replicas} replicas for {} exceeds the pool's max_replicas {}",
                d.workload, self.max_replicas
            )));
        }
        self.groups.entry(d.workload.clone()).or_default().desired = replicas;
        let r = self.reconcile_workload(&d.workload)?;
        let mut detail = format!("{} running", r.running);
        let mut parts = Vec::new();
        if r.started > r.restarted {
            parts.push(format!("started {}", r.started - r.restarted));
        }
        if r.restarted > 0 {
            parts.push(format!("restarted {}", r.restarted));
        }
        if r.stopped > 0 {
            parts.push(format!("stopped {}", r.stopped));
        }
        if !parts.is_empty() {
            detail = format!("{detail} ({})", parts.join(", "));
        }
        if d.resources.is_some() || d.instance_type.is_some() {
            detail.push_str("; resources/instance type ignored by process-pool");
        }
        Ok(Applied {
            changed: r.started > 0 || r.stopped > 0,
            detail,
        })
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        if !self.groups.contains_key(workload) {
            return Ok(None);
        }
        let running = self.running(workload);
        Ok(Some(DesiredState::replicas(workload.clone(), running)))
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

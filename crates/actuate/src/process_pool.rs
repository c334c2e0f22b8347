//! `ProcessPool`: keeps N copies of a local command running per workload (the embedded default).

use crate::pool_state::{self, ProcIdentity, RecordedReplica};
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
    process: ProcIdentity,
    handle: Handle,
}

/// How the pool holds a replica.
enum Handle {
    /// Started by this pool: waited for and reaped here.
    Child(Child),
    /// Left running by an earlier prescale and adopted from the state file: not our child, so
    /// watched through /proc (its start time guards against a reused pid).
    Adopted,
}

impl Member {
    fn pid(&self) -> u32 {
        self.process.pid
    }

    /// Whether it still runs (reaps our own child when it has exited).
    fn is_running(&mut self) -> bool {
        match &mut self.handle {
            Handle::Child(c) => is_running(c),
            Handle::Adopted => self.process.is_alive(),
        }
    }
}

#[derive(Default)]
struct Group {
    desired: u32,
    /// Oldest first.
    members: Vec<Member>,
    /// Replicas seen exited since the last reconciliation (replaced ones count as restarts).
    exited: u32,
    /// Replicas adopted from the state file and not yet reported by an `apply`.
    adopted_unreported: u32,
}

impl Group {
    /// Drops (and reaps) replicas that have exited.
    fn reap(&mut self) {
        let before = self.members.len();
        self.members.retain_mut(Member::is_running);
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
///
/// With a state file ([`ProcessPool::with_state_file`]) the pool records every replica's pid and
/// kernel start time as it changes; a pool built after a crash (`kill -9`, power loss of the
/// daemon only) adopts the recorded replicas that still run instead of starting copies beside them.
pub struct ProcessPool {
    command: PoolCommand,
    grace: Duration,
    max_replicas: u32,
    groups: BTreeMap<WorkloadId, Group>,
    state_file: Option<PathBuf>,
    /// What the state file holds now (written only when this changes); `None` until written.
    saved: Option<Vec<RecordedReplica>>,
    /// The state file's path as replicas carry it in `PRESCALE_POOL_STATE`.
    state_env: Option<std::ffi::OsString>,
    /// Held while the state file is in use (declared last: released after the final write).
    state_lock: Option<pool_state::StateLock>,
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
            .field("state_file", &self.state_file)
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
            state_file: None,
            saved: None,
            state_env: None,
            state_lock: None,
        }
    }

    /// Records replicas in `path` from now on, first adopting the replicas recorded there that
    /// still run (same pid, same start time, still leading their process group). An adopted
    /// workload's desired count is what was found running, until the next request sets it.
    /// Fails on a file that exists but cannot be read as a state file: replicas could be running
    /// unaccounted for, and the error says so.
    ///
    /// The file is locked (`<path>.lock`) for as long as the pool lives: a second pool on the same
    /// file, in this process or another, is refused until the first is dropped or dies.
    ///
    /// Replicas are started with the state file's path in their environment
    /// (`PRESCALE_POOL_STATE`): one that a crashed prescale had started but not yet recorded is
    /// adopted too (or stopped, when its index is taken), never left running beside a copy.
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Result<Self, ActuateError> {
        let path = path.into();
        self.state_lock = Some(pool_state::StateLock::acquire(&path)?);
        let identity = pool_state::identity(&path);
        let recorded = pool_state::load(&path)?;
        let unrecorded: Vec<RecordedReplica> = pool_state::started_under(&identity)
            .into_iter()
            .filter(|r| !recorded.iter().any(|k| k.process == r.process))
            .collect();
        for r in recorded.into_iter().chain(unrecorded) {
            if !r.process.is_group_leader() {
                continue;
            }
            let workload =
                WorkloadId::new(r.workload.as_str()).map_err(|e| ActuateError::PoolState {
                    path: path.clone(),
                    reason: format!("workload {:?}: {e}", r.workload),
                })?;
            let group = self.groups.entry(workload).or_default();
            if group.members.iter().any(|m| m.process == r.process) {
                continue;
            }
            if group.members.iter().any(|m| m.index == r.index) {
                // A second process for a slot that already has one: an extra, not a replica.
                stop(
                    vec![Member {
                        index: r.index,
                        process: r.process,
                        handle: Handle::Adopted,
                    }],
                    self.grace,
                );
                continue;
            }
            group.members.push(Member {
                index: r.index,
                process: r.process,
                handle: Handle::Adopted,
            });
            group.desired += 1;
            group.adopted_unreported += 1;
        }
        self.state_env = Some(identity.into_os_string());
        self.state_file = Some(path);
        // Rewritten at once: what is gone is forgotten, and the file lists exactly what runs now.
        self.persist()?;
        Ok(self)
    }

    /// Stops managing the replicas without stopping them, leaving the state file as it is and
    /// releasing its lock — what a crash leaves behind, on purpose: the next pool on the same
    /// state file adopts them (a hand-over, e.g. to an upgraded prescale).
    pub fn detach(mut self) {
        self.state_file = None;
        self.state_env = None;
        self.groups.clear();
    }

    /// Writes the state file when the replicas differ from what it holds.
    fn persist(&mut self) -> Result<(), ActuateError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let now: Vec<RecordedReplica> = self
            .groups
            .iter()
            .flat_map(|(w, g)| {
                g.members.iter().map(move |m| RecordedReplica {
                    workload: w.to_string(),
                    index: m.index,
                    process: m.process,
                })
            })
            .collect();
        if self.saved.as_ref() != Some(&now) {
            pool_state::save(path, now.clone())?;
            self.saved = Some(now);
        }
        Ok(())
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
            .map(|g| g.members.iter().map(Member::pid).collect())
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
        let _ = self.persist();
    }

    fn spawn(&self, workload: &WorkloadId, index: u32) -> Result<Member, ActuateError> {
        let c = &self.command;
        let mut cmd = Command::new(&c.program);
        cmd.args(&c.args)
            .envs(&c.env)
            .env("PRESCALE_WORKLOAD", workload.as_str())
            .env("PRESCALE_REPLICA_INDEX", index.to_string())
            .stdin(Stdio::null())
            .process_group(0);
        if let Some(state) = &self.state_env {
            cmd.env(pool_state::STATE_ENV, state);
        }
        if !c.inherit_output {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        if let Some(dir) = &c.working_dir {
            cmd.current_dir(dir);
        }
        let child = cmd.spawn().map_err(|source| ActuateError::Spawn {
            program: c.program.clone(),
            source,
        })?;
        let pid = child.id();
        // Until reaped, even an exited child has its /proc entry; without /proc it is not adoptable.
        let process = ProcIdentity::of(pid).unwrap_or(ProcIdentity {
            pid,
            start_ticks: 0,
        });
        Ok(Member {
            index,
            process,
            handle: Handle::Child(child),
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
                Ok(member) => {
                    group.members.push(member);
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
        // Record what was started even when a later spawn failed.
        self.persist()?;
        result.map(|()| report)
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// SIGTERM every member's process group, wait up to `grace`, then SIGKILL what is left.
fn stop(mut members: Vec<Member>, grace: Duration) {
    for m in &members {
        terminate_group(m.pid());
    }
    let deadline = Instant::now() + grace;
    loop {
        members.retain_mut(|m| {
            let pid = m.pid();
            match &mut m.handle {
                Handle::Child(child) => {
                    let exited = match has_exited_unreaped(pid) {
                        Some(e) => e,
                        None => !is_running(child),
                    };
                    if exited {
                        // The leader is a zombie, so its group id is still ours: clear
                        // stragglers, then reap.
                        kill_group(pid);
                        let _ = child.wait();
                    }
                    !exited
                }
                // Not our child: once it is gone its pid may be reused, so its group is left alone.
                Handle::Adopted => m.process.is_alive(),
            }
        });
        if members.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for m in members {
        match m.handle {
            Handle::Child(mut child) => {
                kill_group(m.process.pid);
                let _ = child.kill();
                let _ = child.wait();
            }
            Handle::Adopted => {
                if m.process.is_alive() {
                    kill_group(m.process.pid);
                }
            }
        }
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
        let group = self.groups.entry(d.workload.clone()).or_default();
        group.desired = replicas;
        let adopted = std::mem::take(&mut group.adopted_unreported);
        let r = self.reconcile_workload(&d.workload)?;
        let mut detail = format!("{} running", r.running);
        let mut parts = Vec::new();
        if adopted > 0 {
            parts.push(format!("adopted {adopted} left by an earlier prescale"));
        }
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

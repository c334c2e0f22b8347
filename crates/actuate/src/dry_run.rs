//! `DryRun`: records what would have been done, and what would change, without touching anything.

use crate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState};
use prescale_core::WorkloadId;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// One field that would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `replicas`, `cpu_millis`, `memory_bytes` or `instance_type`.
    pub field: &'static str,
    /// The remembered value (`None`: never set).
    pub from: Option<String>,
    pub to: String,
}

/// One recorded request and its would-be effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRunRecord {
    pub request: ActuationRequest,
    /// The remembered state before this request.
    pub previous: Option<DesiredState>,
    /// Empty when the request would change nothing.
    pub changes: Vec<Change>,
}

/// Records every request (newest first, bounded) and remembers the state it would have set.
#[derive(Debug, Clone)]
pub struct DryRun {
    capacity: usize,
    records: VecDeque<DryRunRecord>,
    state: BTreeMap<WorkloadId, DesiredState>,
}

impl Default for DryRun {
    fn default() -> Self {
        Self::new(1000)
    }
}

impl DryRun {
    /// Keeps at most `capacity` records (at least 1).
    pub fn new(capacity: usize) -> Self {
        DryRun {
            capacity: capacity.max(1),
            records: VecDeque::new(),
            state: BTreeMap::new(),
        }
    }

    /// Seeds the remembered state of a workload (e.g. what is actually running).
    pub fn with_state(mut self, state: DesiredState) -> Self {
        self.state.insert(state.workload.clone(), state);
        self
    }

    /// Recorded requests, newest first.
    pub fn records(&self) -> impl Iterator<Item = &DryRunRecord> {
        self.records.iter()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

fn diff(prev: Option<&DesiredState>, want: &DesiredState) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, from: Option<String>, to: Option<String>| {
        if let Some(to) = to {
            if from.as_deref() != Some(to.as_str()) {
                out.push(Change { field, from, to });
            }
        }
    };
    let prev_res = prev.and_then(|p| p.resources.as_ref());
    let want_res = want.resources.as_ref();
    push(
        "replicas",
        prev.and_then(|p| p.replicas).map(|v| v.to_string()),
        want.replicas.map(|v| v.to_string()),
    );
    push(
        "cpu_millis",
        prev_res.and_then(|r| r.cpu_millis).map(|v| v.to_string()),
        want_res.and_then(|r| r.cpu_millis).map(|v| v.to_string()),
    );
    push(
        "memory_bytes",
        prev_res.and_then(|r| r.memory_bytes).map(|v| v.to_string()),
        want_res.and_then(|r| r.memory_bytes).map(|v| v.to_string()),
    );
    push(
        "instance_type",
        prev.and_then(|p| p.instance_type.clone()),
        want.instance_type.clone(),
    );
    out
}

impl Actuator for DryRun {
    fn name(&self) -> &str {
        "dry-run"
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        let workload = &req.desired.workload;
        let previous = self.state.get(workload).cloned();
        let changes = diff(previous.as_ref(), &req.desired);
        let next = match &previous {
            Some(p) => p.merged_with(&req.desired),
            None => req.desired.clone(),
        };
        self.state.insert(workload.clone(), next);
        let detail = if changes.is_empty() {
            format!("dry-run: {workload} already as requested")
        } else {
            let parts: Vec<String> = changes
                .iter()
                .map(|c| match &c.from {
                    Some(f) => format!("{} {f} → {}", c.field, c.to),
                    None => format!("{} → {}", c.field, c.to),
                })
                .collect();
            format!("dry-run: would set {workload} {}", parts.join(", "))
        };
        let changed = !changes.is_empty();
        self.records.push_front(DryRunRecord {
            request: req.clone(),
            previous,
            changes,
        });
        self.records.truncate(self.capacity);
        Ok(Applied { changed, detail })
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        Ok(self.state.get(workload).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resources;
    use prescale_core::Timestamp;

    fn req(id: &str, replicas: Option<u32>, cpu: Option<u64>) -> ActuationRequest {
        let mut desired = DesiredState::unchanged(WorkloadId::new("web").unwrap());
        desired.replicas = replicas;
        desired.resources = cpu.map(|c| Resources {
            cpu_millis: Some(c),
            memory_bytes: None,
        });
        ActuationRequest {
            desired,
            decision_id: id.into(),
            reason: "test".into(),
            issued_at: Timestamp(0),
        }
    }

    #[test]
    fn reports_changes_and_is_idempotent() {
        let mut d =
            DryRun::new(10).with_state(DesiredState::replicas(WorkloadId::new("web").unwrap(), 2));
        let a = d.apply(&req("1", Some(5), None)).unwrap();
        assert!(a.changed);
        assert!(a.detail.contains("replicas 2 → 5"), "{}", a.detail);
        let again = d.apply(&req("1", Some(5), None)).unwrap();
        assert!(!again.changed);
        // Resources only: replicas are remembered, cpu is new.
        let r = d.apply(&req("2", None, Some(500))).unwrap();
        assert!(r.changed);
        let cur = d
            .current(&WorkloadId::new("web").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(cur.replicas, Some(5));
        assert_eq!(cur.resources.unwrap().cpu_millis, Some(500));
        let ids: Vec<&str> = d
            .records()
            .map(|r| r.request.decision_id.as_str())
            .collect();
        assert_eq!(ids, vec!["2", "1", "1"]);
        assert_eq!(d.records().next().unwrap().changes[0].field, "cpu_millis");
    }

    #[test]
    fn ring_is_bounded_newest_first() {
        let mut d = DryRun::new(3);
        for i in 0..10 {
            d.apply(&req(&i.to_string(), Some(i), None)).unwrap();
        }
        let ids: Vec<&str> = d
            .records()
            .map(|r| r.request.decision_id.as_str())
            .collect();
        assert_eq!(ids, vec!["9", "8", "7"]);
        assert!(d
            .current(&WorkloadId::new("other").unwrap())
            .unwrap()
            .is_none());
    }
}

//! `PredictiveScaler` resources as workloads (`[kubernetes] predictive_scalers = true`): every
//! `resync` the scalers are listed; a new or changed one (new generation) gets a slot of its own —
//! its spec as the workload's spec, a Kubernetes actuator on its target, its `mode` as the
//! workload's own mode — and a deleted one loses its slot. Each scaler's status is patched with
//! its latest decision and forecast when there is a new one, and an invalid spec is reported
//! (SpecValid=False, with the problems) once per generation — so is one whose workload is already
//! controlled (by a `[[workload]]` or a scaler that had it first), which is not run a second time.
//! Runs on the control loop's plain thread, between passes.

use super::control::{slot_of, Slot};
use crate::config::{ControlledWorkload, KubernetesConfig, Origin, WorkloadConfig};
use crate::controlled::Controlled;
use crate::controls::Controls;
use crate::error::DaemonError;
use prescale_control::Mode;
use prescale_core::Timestamp;
use prescale_kube::{
    ConditionState, ConditionStatus, DecisionSummary, ForecastSummary, ScalerEntry, ScalerMode,
    ScalerReport, ScalerScope, ScalerSource, SpecProblem,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The scalers' source and what was last seen of each.
pub struct ScalerSync {
    /// Always `Some` until dropped (taken by `Drop` to drop it off tokio).
    source: Option<ScalerSource>,
    /// The actuator kinds slots are built with (Kubernetes connected as configured).
    registry: prescale_actuate::Registry,
    /// `[kubernetes] pricing`: the catalogues a scaler's `spec.purchase` may name.
    pricing: BTreeMap<String, String>,
    resync: Duration,
    listed_at: Option<Instant>,
    /// The entries of the last list, by key (`namespace/name`).
    entries: BTreeMap<String, ScalerEntry>,
    /// Invalid generations already reported, by key.
    reported_invalid: BTreeMap<String, Option<i64>>,
    /// When each key's status last got a decision.
    reported_at: BTreeMap<String, Timestamp>,
    /// Kept equal to the slots' workloads after every list.
    controlled: Controlled,
}

impl ScalerSync {
    /// Connects (call it outside tokio); `None` when scalers are off.
    /// `controlled`: the shared list of controlled workloads, updated as scalers come and go.
    pub fn connect(
        k: &KubernetesConfig,
        controlled: Controlled,
    ) -> Result<Option<ScalerSync>, DaemonError> {
        let Some(sc) = &k.scalers else {
            return Ok(None);
        };
        let scope = match &sc.namespace {
            Some(ns) => ScalerScope::Namespace(ns.clone()),
            None => ScalerScope::AllNamespaces,
        };
        let options = k.options.clone();
        let source = match &k.api_server {
            Some(url) => {
                let uri = url.parse().map_err(|e| {
                    DaemonError::Task(format!("kubernetes.api_server {url:?}: {e}"))
                })?;
                ScalerSource::new(kube::Config::new(uri), options, scope)
            }
            None => ScalerSource::infer(options, scope),
        }
        .map_err(|e| DaemonError::Task(format!("connecting to the Kubernetes API: {e}")))?;
        Ok(Some(ScalerSync {
            source: Some(source),
            registry: k.registry(),
            pricing: sc.pricing.clone(),
            resync: sc.resync,
            listed_at: None,
            entries: BTreeMap::new(),
            reported_invalid: BTreeMap::new(),
            reported_at: BTreeMap::new(),
            controlled,
        }))
    }

    /// Lists the scalers when due and adds, replaces or removes their slots in `slots`.
    pub fn reconcile(&mut self, slots: &mut Vec<Slot>, controls: &Controls) {
        if self.listed_at.is_some_and(|t| t.elapsed() < self.resync) {
            return;
        }
        self.listed_at = Some(Instant::now());
        let Some(source) = self.source.as_mut() else {
            return;
        };
        let listed = match source.list() {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listing PredictiveScalers; keeping the current ones");
                return;
            }
        };
        let now: BTreeMap<String, ScalerEntry> = listed.into_iter().map(|e| (e.key(), e)).collect();
        // Scalers that had a slot keep their claim on its workload over newcomers, even when
        // their slot is rebuilt below (a new generation).
        let had_slot: std::collections::BTreeSet<String> = slots
            .iter()
            .filter_map(|s| s.scaler.as_ref().map(|(k, _)| k.clone()))
            .collect();
        // Gone, or changed (a new generation): the slot goes (a changed one is rebuilt below).
        slots.retain(|s| match &s.scaler {
            None => true,
            Some((key, generation)) => {
                let keep = now.get(key).is_some_and(|e| e.generation == *generation && e.is_valid());
                if !keep {
                    tracing::info!(scaler = %key, "PredictiveScaler removed or changed: its workload stops");
                }
                keep
            }
        });
        let (first, rest): (Vec<_>, Vec<_>) = now.iter().partition(|(k, _)| had_slot.contains(*k));
        for (key, entry) in first.into_iter().chain(rest) {
            let present = slots
                .iter()
                .any(|s| s.scaler.as_ref().is_some_and(|(k, _)| k == key));
            if present {
                continue;
            }
            let built = self.workload_of(entry).and_then(|w| {
                // One controller per workload: a configured one or an earlier scaler keeps it.
                match slots
                    .iter()
                    .find(|x| x.controller.spec().workload == w.spec.workload)
                {
                    Some(owner) => Err(vec![already_controlled(&w, owner)]),
                    None => match dependency_problem(slots, &w) {
                        Some(p) => Err(vec![p]),
                        None => self.slot_for(&w, controls).map_err(|e| vec![e]),
                    },
                }
            });
            match built {
                Ok(mut slot) => {
                    tracing::info!(scaler = %key, workload = %slot.controller.spec().workload, "PredictiveScaler controlled");
                    slot.scaler = Some((key.clone(), entry.generation));
                    self.reported_invalid.remove(key);
                    slots.push(slot);
                }
                Err(problems) => self.report_invalid(entry, problems),
            }
        }
        self.entries = now;
        self.controlled
            .set(slots.iter().map(|s| s.controller.spec().clone()).collect());
    }

    /// A scaler's spec as the one workload config, validated as a `[[workload]]` is (problems
    /// named by the spec's own paths).
    fn workload_of(&self, entry: &ScalerEntry) -> Result<ControlledWorkload, Vec<SpecProblem>> {
        let Some(spec) = entry.spec.as_ref() else {
            return Err(entry.problems.clone());
        };
        let config = WorkloadConfig::from_scaler(&entry.namespace, spec, &self.pricing)
            .map_err(|p| vec![p])?;
        // The scaler's mode is its own (forecast-only when omitted), so the global one never applies.
        config
            .validate(Origin::Scaler, Mode::ForecastOnly, &self.registry)
            .map_err(|problems| {
                problems
                    .into_iter()
                    .map(|p| SpecProblem {
                        path: p.path,
                        message: p.message,
                    })
                    .collect()
            })
    }

    /// The slot of a scaler's validated workload, its actuator built by the registered kinds.
    fn slot_for(&self, w: &ControlledWorkload, controls: &Controls) -> Result<Slot, SpecProblem> {
        slot_of(w, &self.registry, controls, None).map_err(|e| SpecProblem {
            path: "spec.targetRef".to_string(),
            message: e.to_string(),
        })
    }

    fn report_invalid(&mut self, entry: &ScalerEntry, problems: Vec<SpecProblem>) {
        let key = entry.key();
        if self.reported_invalid.get(&key) == Some(&entry.generation) {
            return;
        }
        let text = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        tracing::warn!(scaler = %key, problems = %text, "PredictiveScaler not controlled");
        let mut report = ScalerReport::new(crate::clock::now());
        report.problems = problems;
        let Some(source) = self.source.as_mut() else {
            return;
        };
        match source.report(entry, &report) {
            Ok(()) => {
                self.reported_invalid.insert(key, entry.generation);
            }
            Err(e) => {
                tracing::warn!(scaler = %key, error = %e, "reporting a PredictiveScaler's problems")
            }
        }
    }

    /// Patches the status of every scaler whose slot made a new decision since the last report.
    pub fn report(&mut self, slots: &mut [Slot], now: Timestamp) {
        for slot in slots.iter_mut() {
            let (Some((key, _)), Some(r)) = (&slot.scaler, &slot.last_record) else {
                continue;
            };
            if self.reported_at.get(key).is_some_and(|t| *t >= r.at) {
                continue;
            }
            let Some(entry) = self.entries.get(key) else {
                continue;
            };
            let mut report = ScalerReport::new(now);
            if let (Some(from), Some(to)) =
                (r.replicas_before.or(r.replicas_after), r.replicas_after)
            {
                report.decision = Some(DecisionSummary {
                    at: r.at,
                    from,
                    to,
                    reason: r.reason.clone(),
                    mode: match r.mode {
                        Mode::Act => ScalerMode::Act,
                        Mode::ForecastOnly => ScalerMode::ForecastOnly,
                    },
                    requests: r.resources.as_ref().and_then(|x| x.desired()),
                });
            }
            report.forecast = r.forecast.as_ref().map(|f| ForecastSummary {
                lead: slot.controller.spec().lead,
                point: f.point,
                upper: f.upper,
            });
            report.ready = Some(ConditionState::new(
                ConditionStatus::True,
                "Deciding",
                format!("{} ({})", r.reason, r.policy),
            ));
            let Some(source) = self.source.as_mut() else {
                return;
            };
            match source.report(entry, &report) {
                Ok(()) => {
                    self.reported_at.insert(key.clone(), r.at);
                }
                Err(e) => {
                    tracing::warn!(scaler = %key, error = %e, "reporting a PredictiveScaler's status")
                }
            }
        }
    }
}

/// The problem of a scaler whose workload `owner` controls already.
fn already_controlled(w: &ControlledWorkload, owner: &Slot) -> SpecProblem {
    let by = match &owner.scaler {
        Some((key, _)) => format!("PredictiveScaler {key}"),
        None => "a [[workload]] of the config".to_string(),
    };
    SpecProblem {
        path: "spec.targetRef".to_string(),
        message: format!(
            "workload {} is already controlled by {by}; two controllers would fight over it",
            w.spec.workload
        ),
    }
}

/// The problem of a scaler whose `dependsOn` would close a cycle with the workloads controlled
/// now (or names its own workload). An upstream not controlled yet is allowed: its scaler may
/// come later, and until then there is no rise to follow.
fn dependency_problem(slots: &[Slot], w: &ControlledWorkload) -> Option<SpecProblem> {
    let mut declared: Vec<(String, Vec<String>)> = slots
        .iter()
        .map(|s| {
            (
                s.controller.spec().workload.to_string(),
                s.depends_on().iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    declared.push((
        w.spec.workload.to_string(),
        w.depends_on.iter().map(ToString::to_string).collect(),
    ));
    let known: std::collections::BTreeSet<String> =
        declared.iter().map(|(n, _)| n.clone()).collect();
    for (_, deps) in &mut declared {
        deps.retain(|d| known.contains(d));
    }
    prescale_control::graph::WorkloadGraph::new(&declared)
        .err()
        .map(|e| SpecProblem {
            path: "spec.dependsOn".to_string(),
            message: e.to_string(),
        })
}

impl Drop for ScalerSync {
    /// The source owns a runtime, which cannot be dropped inside tokio: then it goes on a thread.
    fn drop(&mut self) {
        if let Some(source) = self.source.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::Builder::new()
                    .name("prescale-scalers-drop".into())
                    .spawn(move || drop(source));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::registry;

    fn workload(id: &str, depends_on: &[&str]) -> ControlledWorkload {
        let text = format!(
            "workload = {id:?}\nmetric = \"rps\"\ncapacity_per_replica = 10.0\ndepends_on = {depends_on:?}\n"
        );
        toml::from_str::<WorkloadConfig>(&text)
            .unwrap()
            .validate(Origin::Scaler, Mode::ForecastOnly, &registry())
            .unwrap()
    }

    #[test]
    fn a_scaler_closing_a_dependency_cycle_is_refused() {
        let controls = Controls::new(Mode::ForecastOnly);
        let slots: Vec<Slot> = [workload("a", &["b"]), workload("c", &[])]
            .iter()
            .map(|w| slot_of(w, &registry(), &controls, None).unwrap())
            .collect();
        // An upstream not controlled yet, or one without a cycle: accepted.
        assert!(dependency_problem(&slots, &workload("b", &["later"])).is_none());
        assert!(dependency_problem(&slots, &workload("b", &["c"])).is_none());
        let p = dependency_problem(&slots, &workload("b", &["a"])).unwrap();
        assert_eq!(p.path, "spec.dependsOn");
        assert!(p.message.contains("cycle"), "{p}");
        let p = dependency_problem(&slots, &workload("b", &["b"])).unwrap();
        assert!(p.message.contains("itself"), "{p}");
    }
}

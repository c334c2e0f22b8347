//! Shadow A/B tests: candidate configurations of a workload decide on the same live data as the
//! acting one, never act, and are charged what they would have cost.
//!
//! A shadow that changes only the policy, its budget or its starting headroom decides as a lane of
//! the acting controller, on the very same forecast; one that changes the lead or the model has a
//! forecaster of its own (its own forecast-only controller fed the same windows). Every
//! configuration, the acting one included, keeps a counterfactual: a simulated replica set that
//! follows its decisions (added replicas ready after its decision lead, removals at once) and a
//! tally of each decided step's demand against what it would have had ready — the replay's
//! semantics, applied live, so shadow and acting figures compare step for step.

use crate::{
    ControlError, Controller, Current, DecisionRecord, Metrics, ReplicaSet, Tally, Usage,
    WorkloadSpec,
};
use prescale_core::{Sample, Timestamp};
use prescale_forecast::ModelKind;
use prescale_policy::PolicyKind;
use serde::Serialize;
use std::time::Duration;

/// A candidate configuration: the acting spec with some settings changed.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowSpec {
    /// Unique among the workload's shadows.
    pub name: String,
    pub policy: Option<PolicyKind>,
    /// The predictive policy's violation budget.
    pub budget: Option<f64>,
    /// The predictive policy's starting headroom.
    pub headroom: Option<f64>,
    pub lead: Option<Duration>,
    pub model: Option<ModelKind>,
}

impl ShadowSpec {
    /// The spec this shadow decides with: `acting` with its changes, forecast-only.
    pub fn apply(&self, acting: &WorkloadSpec) -> Result<WorkloadSpec, ControlError> {
        let mut spec = acting.clone();
        if let Some(p) = &self.policy {
            spec.policy = p.clone();
            spec.budget = p.budget().unwrap_or(acting.budget);
        }
        if let Some(b) = self.budget {
            spec.budget = b;
        }
        if let Some(h) = self.headroom {
            spec.policy = match spec.policy_kind()? {
                PolicyKind::Predictive(mut c) => {
                    c.headroom.initial = h;
                    c.validate()
                        .map_err(|e| self.invalid(acting, "headroom", h, e))?;
                    PolicyKind::Predictive(c)
                }
                other => {
                    return Err(self.invalid(
                        acting,
                        "headroom",
                        h,
                        format!(
                            "only a predictive policy has a headroom, not {}",
                            other.label()
                        ),
                    ))
                }
            };
        }
        if let Some(l) = self.lead {
            spec.lead = l;
        }
        if let Some(m) = self.model {
            spec.model = m;
        }
        spec.mode = crate::Mode::ForecastOnly;
        spec.validate()?;
        Ok(spec)
    }

    fn invalid(
        &self,
        acting: &WorkloadSpec,
        field: &'static str,
        value: impl std::fmt::Display,
        reason: impl std::fmt::Display,
    ) -> ControlError {
        ControlError::Invalid {
            workload: format!("{} shadow {}", acting.workload, self.name),
            field,
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Where a configuration decides: a controller (`None`: the acting one) and its lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    own: Option<usize>,
    lane: usize,
}

/// What a configuration would have had: replicas following its decisions, and their figures.
#[derive(Debug, Clone)]
pub struct Counterfactual {
    replicas: Option<ReplicaSet>,
    delay: usize,
    tally: Tally,
    step: usize,
    step_seconds: f64,
}

impl Counterfactual {
    fn new(spec: &WorkloadSpec) -> Counterfactual {
        Counterfactual {
            replicas: None,
            delay: spec.decision_lead_steps(),
            tally: Tally::default(),
            step: 0,
            step_seconds: spec.step_ms() as f64 / 1000.0,
        }
    }

    /// One decided step: `demand` of the step just completed, the request going to `to` (from
    /// `start` replicas on the first step).
    fn step(&mut self, demand: f64, to: u32, start: u32, capacity: f64) {
        let (t, delay) = (self.step, self.delay);
        let replicas = self
            .replicas
            .get_or_insert_with(|| ReplicaSet::new(start, delay));
        replicas.advance_to(t);
        let from = replicas.requested();
        replicas.request(t, to);
        let served = capacity * f64::from(replicas.ready());
        self.tally.add(demand, served, from, to);
        self.step += 1;
    }

    fn metrics(&self) -> Metrics {
        self.tally.finish(self.step_seconds, None, None)
    }
}

/// One configuration's figures and latest decision, as served by the API.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowView {
    pub name: String,
    /// Its policy's label (`predictive@0.05`, `hpa@0.60`, ...).
    pub policy: String,
    /// What it changes against the acting configuration, e.g. `budget 0.05, lead 5m`.
    pub changes: String,
    /// Whether it has a forecaster of its own (a lead or model of its own).
    pub own_forecaster: bool,
    /// Its counterfactual figures over the steps decided since it started.
    pub metrics: Metrics,
    /// Its latest decision's replicas and reason.
    pub replicas: Option<u32>,
    pub reason: String,
}

/// The acting configuration's and every shadow's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowReport {
    pub acting: ShadowView,
    pub shadows: Vec<ShadowView>,
}

struct Entry {
    spec: ShadowSpec,
    place: Place,
    book: Counterfactual,
    last: Option<(Option<u32>, String)>,
}

/// The shadows of one workload.
pub struct Shadows {
    entries: Vec<Entry>,
    own: Vec<Controller>,
    acting: Counterfactual,
    acting_last: Option<(Option<u32>, String)>,
    /// The acting configuration's name once a shadow was promoted (`acting` before).
    acting_name: String,
}

impl Shadows {
    /// Shadows for `specs` beside `acting`: lanes added to it, or controllers of their own.
    pub fn new(acting: &mut Controller, specs: Vec<ShadowSpec>) -> Result<Shadows, ControlError> {
        let base = acting.spec().clone();
        let mut entries = Vec::with_capacity(specs.len());
        let mut own = Vec::new();
        for s in specs {
            if s.name.trim().is_empty() || entries.iter().any(|e: &Entry| e.spec.name == s.name) {
                return Err(s.invalid(&base, "name", &s.name, "must be non-empty and unique"));
            }
            let resolved = s.apply(&base)?;
            let place = if resolved.lead == base.lead && resolved.model == base.model {
                Place {
                    own: None,
                    lane: acting.add_lane(&resolved.policy_kind()?)?,
                }
            } else {
                own.push(Controller::new(resolved.clone())?);
                Place {
                    own: Some(own.len() - 1),
                    lane: 0,
                }
            };
            entries.push(Entry {
                book: Counterfactual::new(&resolved),
                spec: s,
                place,
                last: None,
            });
        }
        Ok(Shadows {
            entries,
            own,
            acting: Counterfactual::new(&base),
            acting_last: None,
            acting_name: "acting".into(),
        })
    }

    /// How many shadows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One tick of the acting controller and every shadow on the same window; returns the acting
    /// decision. Each decided step charges every configuration's counterfactual.
    pub fn tick(
        &mut self,
        acting: &mut Controller,
        window: &[Sample],
        usage: &[Usage<'_>],
        now: Timestamp,
        current: &Current,
    ) -> DecisionRecord {
        self.tick_acting(acting, window, usage, now, current).record
    }

    /// [`Shadows::tick`] with the acting lane's typed outcome.
    pub fn tick_acting(
        &mut self,
        acting: &mut Controller,
        window: &[Sample],
        usage: &[Usage<'_>],
        now: Timestamp,
        current: &Current,
    ) -> crate::Decided {
        let mut lanes = acting.tick_lanes(window, usage, now, std::slice::from_ref(current));
        let own: Vec<Vec<crate::Decided>> = self
            .own
            .iter_mut()
            .map(|c| c.tick_lanes(window, &[], now, &[]))
            .collect();
        let first = lanes.remove(0);
        // A hold (missing, stale, waiting) decides nothing to charge.
        let decided = first.hold.is_none();
        let record = &first.record;
        let demand = record.inputs.demand;
        let capacity = acting.spec().capacity_per_replica;
        let start = record.replicas_before.unwrap_or(acting.spec().min);
        if let (true, Some(demand)) = (decided, demand) {
            if let Some(to) = record.replicas_after {
                self.acting.step(demand, to, start, capacity);
            }
        }
        self.acting_last = Some((record.replicas_after, record.reason.clone()));
        // `lanes` lost lane 0: lane i sits at i - 1 now.
        for e in &mut self.entries {
            let r = match e.place.own {
                None => lanes.get(e.place.lane.wrapping_sub(1)).map(|d| &d.record),
                Some(k) => own
                    .get(k)
                    .and_then(|l| l.get(e.place.lane))
                    .map(|d| &d.record),
            };
            let Some(r) = r else { continue };
            if let (true, Some(demand), Some(to)) = (decided, demand, r.replicas_after) {
                e.book.step(demand, to, start, capacity);
            }
            e.last = Some((r.replicas_after, r.reason.clone()));
        }
        first
    }

    /// Every configuration's figures (the acting one first).
    pub fn report(&self, acting: &Controller) -> ShadowReport {
        let (replicas, reason) = self.acting_last.clone().unwrap_or_default();
        ShadowReport {
            acting: ShadowView {
                name: self.acting_name.clone(),
                policy: acting.policy_label().to_string(),
                changes: String::new(),
                own_forecaster: false,
                metrics: self.acting.metrics(),
                replicas,
                reason,
            },
            shadows: self
                .entries
                .iter()
                .map(|e| {
                    let (replicas, reason) = e.last.clone().unwrap_or_default();
                    let policy = match e.place.own {
                        None => acting.lane_label(e.place.lane),
                        Some(k) => self.own.get(k).and_then(|c| c.lane_label(e.place.lane)),
                    };
                    ShadowView {
                        name: e.spec.name.clone(),
                        policy: policy.unwrap_or_default().to_string(),
                        changes: describe(&e.spec),
                        own_forecaster: e.place.own.is_some(),
                        metrics: e.book.metrics(),
                        replicas,
                        reason,
                    }
                })
                .collect(),
        }
    }

    /// Makes shadow `name` the acting configuration from the next step on; the configuration
    /// that acted until now becomes a shadow under that name (so a promotion can be undone the
    /// same way). Returns the policy labels before and after.
    pub fn promote(
        &mut self,
        acting: &mut Controller,
        name: &str,
    ) -> Result<(String, String), ControlError> {
        let Some(i) = self.entries.iter().position(|e| e.spec.name == name) else {
            return Err(ControlError::Invalid {
                workload: acting.spec().workload.to_string(),
                field: "shadow",
                value: name.to_string(),
                reason: "no shadow of that name".into(),
            });
        };
        let before = acting.policy_label().to_string();
        let place = self.entries[i].place;
        if let Some(k) = place.own {
            // Its controller acts; the acting one (with its lanes) becomes shadow controller k.
            std::mem::swap(acting, &mut self.own[k]);
            for e in &mut self.entries {
                e.place.own = match e.place.own {
                    None => Some(k),
                    Some(j) if j == k => None,
                    other => other,
                };
            }
        }
        let lane = self.entries[i].place.lane;
        acting.promote_lane(lane);
        // The promoted entry now holds the configuration that acted until now.
        let entry = &mut self.entries[i];
        entry.place = match place.own {
            Some(k) => Place { own: Some(k), lane },
            None => Place { own: None, lane },
        };
        std::mem::swap(&mut entry.book, &mut self.acting);
        std::mem::swap(&mut entry.last, &mut self.acting_last);
        let was = std::mem::replace(&mut self.acting_name, entry.spec.name.clone());
        entry.spec = ShadowSpec {
            name: was,
            policy: None,
            budget: None,
            headroom: None,
            lead: None,
            model: None,
        };
        Ok((before, acting.policy_label().to_string()))
    }
}

/// A shadow's changes in words, e.g. `policy hpa@0.60, lead 300s`.
fn describe(s: &ShadowSpec) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &s.policy {
        parts.push(format!("policy {}", p.label()));
    }
    if let Some(b) = s.budget {
        parts.push(format!("budget {b}"));
    }
    if let Some(h) = s.headroom {
        parts.push(format!("headroom {h}"));
    }
    if let Some(l) = s.lead {
        parts.push(format!("lead {}s", l.as_secs_f64()));
    }
    if let Some(m) = s.model {
        parts.push(format!("model {m}"));
    }
    if parts.is_empty() {
        "the configuration that acted before its promotion".into()
    } else {
        parts.join(", ")
    }
}

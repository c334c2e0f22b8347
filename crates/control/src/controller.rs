//! One workload's control step: align the window to the step, refit the forecaster on its
//! schedule (prescale-forecast's `RollingForecaster`), decide with the policy (the replay's code),
//! and explain the result. Stale or missing telemetry holds and never scales in.
//!
//! Feedback (prescale-feedback): every forecast acted on is recorded and scored when its step's
//! actual arrives; an anomalous step is noted, and kept out of the history the forecaster trains on
//! (its predicted value standing in) only with `exclude_anomalies` — on the 44 shared series that
//! exclusion left the predictive policy under-provisioned more often at the same cost (a real surge
//! flagged anomalous is never learned) —, drift forces a refit, and a scheduled refit that forecasts worse
//! than the model it replaced is rolled back (the forecaster's refit guard).
//!
//! Lanes: besides the acting policy, a controller may carry candidate policies (shadows, or the
//! replay's other policies) that decide on the very same aligned history and forecast, each from
//! its own replica count; only the acting lane sizes resources and is handed to an actuator.

use crate::align::{complete_steps, fill_to};
use crate::explain::{self, guard_summary, reason_json};
use crate::graph::{UpstreamRecord, UpstreamRise};
use crate::record::{DecisionRecord, ForecastSummary, Inputs};
use crate::rightsize::{Rightsizer, SizingInput};
use crate::stages::Stager;
use crate::warmup::Warmup;
use crate::{ControlError, Mode, ResourceKind, SignalError, WorkloadSpec};

// A child module: the snapshot reads and restores the lanes' private state.
#[path = "snapshot.rs"]
pub mod snapshot;

/// The agent's cumulative OOM kill counter per workload (prescale-agent's `OOM_KILLS_TOTAL`).
pub const OOM_KILLS_TOTAL: &str = "oom_kills_total";
use prescale_actuate::Resources;
use prescale_core::{Sample, SeriesKey, Timestamp};
use prescale_feedback::{EventChange, FeedbackConfig, WorkloadFeedback};
use prescale_forecast::{RollingConfig, RollingForecaster};
use prescale_policy::{Bounds, BuildContext, Decision, Policy, PolicyInput, PolicyKind};

/// The controller of one workload; owns its history, forecaster and policy state, so one failing
/// workload never touches another.
pub struct Controller {
    spec: WorkloadSpec,
    key: SeriesKey,
    /// The acting policy first, then any candidates (see [`Controller::add_lane`]).
    lanes: Vec<Lane>,
    bounds: Bounds,
    rolling: RollingConfig,
    step_seconds: f64,
    forecaster: RollingForecaster,
    /// The cluster's winning model kind a young history starts with.
    preferred: Option<prescale_forecast::ModelKind>,
    /// Aligned demand per step, oldest first, as the forecaster trains on it: an anomalous step
    /// holds the forecast made for it.
    history: Vec<f64>,
    /// The demand of the last complete step as observed (in `history` an anomalous step holds
    /// its forecast instead).
    last_actual: Option<f64>,
    feedback: WorkloadFeedback,
    /// Anomaly events opened or closed since the caller last took them.
    events: Vec<EventChange>,
    /// Notes for the next decision record.
    notes: Vec<String>,
    /// A drift forced a refit: re-arm drift detection once the forecaster has refitted past this
    /// many fits.
    rearm_after_fits: Option<usize>,
    rejected_seen: usize,
    /// The latest forecast and the end (ms) of the last step it was made from.
    last_forecast: Option<(i64, prescale_core::Forecast)>,
    /// Steps back from the newest the first fit is made (stable per workload, in
    /// `0..refit_every`): workloads seeded on the same tick then refit on different ticks.
    refit_phase: usize,
    primed: bool,
    /// A forecast from elsewhere (the nearest cluster's profile) for while the workload's own
    /// history is too short: (end ms of the last step it was made from, forecast, model label).
    prior: Option<(i64, prescale_core::Forecast, String)>,
    /// Whether the last decision had a forecast of its own.
    own_forecast: bool,
    /// Start (ms) of the last step in `history`.
    last_step: Option<i64>,
    /// Per-replica CPU and memory sizing, when the spec asks for it.
    rightsizer: Option<Rightsizer>,
    /// Fits and failed fits of the forecasters before the current one (history restarts).
    earlier_fits: (usize, usize),
    /// Warm-up ahead of predicted surges, when the spec asks for it.
    warmup: Option<Warmup>,
    /// Large changes in stages behind a health gate, when the spec asks for it, and the gate's
    /// newest reading (when, value).
    stager: Option<Stager>,
    gate: Option<(Timestamp, f64)>,
    /// The upstreams' predicted rises handed for the next decision.
    upstream: Vec<UpstreamRise>,
    /// The last count an upstream's rise asked for, held until (Unix ms) the downstream's own
    /// demand can have followed.
    upstream_hold: Option<(UpstreamRecord, i64)>,
}

/// One policy deciding on the controller's shared history and forecast.
struct Lane {
    policy: Box<dyn Policy>,
    kind: PolicyKind,
    /// `PolicyKind::label()`, e.g. `predictive` or `hpa@0.50`.
    label: String,
    /// Decisions the policy made (its step index).
    decisions: usize,
    last_desired: Option<u32>,
}

/// One lane's outcome of a tick: the explained record and the policy's typed decision (`None`
/// when the tick held, and then why).
#[derive(Debug, Clone)]
pub struct Decided {
    pub record: DecisionRecord,
    pub decision: Option<Decision>,
    pub hold: Option<Hold>,
}

/// Why a tick decided nothing new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// No samples in the window: the count is held, never scaled in.
    Missing,
    /// The newest sample is older than `stale_after`: held likewise.
    Stale,
    /// Inside a step already decided: nothing new to record or set.
    Waiting,
}

/// One resource's raw use window for [`Controller::tick_full`].
pub struct Usage<'a> {
    pub kind: ResourceKind,
    /// The workload's total use of the resource (any order, the metric's own unit).
    pub window: &'a [Sample],
}

/// What the actuator reports the workload runs with now (`None` fields: unknown; the last
/// decision is assumed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    pub replicas: Option<u32>,
    /// Replicas ready to serve (`None`: all of `replicas` are taken as ready).
    pub ready: Option<u32>,
    /// Per-replica requests.
    pub resources: Option<Resources>,
    pub instance_type: Option<String>,
}

impl Controller {
    /// A controller for a validated spec. Oracle and static policies are simulation-only.
    pub fn new(spec: WorkloadSpec) -> Result<Controller, ControlError> {
        let rolling = spec.rolling();
        Controller::with_rolling(spec, rolling)
    }

    /// A controller whose forecaster fits as `rolling` says rather than as the spec's defaults
    /// ([`WorkloadSpec::rolling`]): the replay's forecasting settings. The decision lead stays
    /// the spec's.
    pub fn with_rolling(
        spec: WorkloadSpec,
        rolling: RollingConfig,
    ) -> Result<Controller, ControlError> {
        spec.validate()?;
        let rolling = RollingConfig {
            lead: spec.decision_lead_steps(),
            ..rolling
        };
        let kind = spec.policy_kind()?;
        let bounds = Bounds::new(spec.min, spec.max).map_err(|e| ControlError::Invalid {
            workload: spec.workload.to_string(),
            field: "min",
            value: spec.min.to_string(),
            reason: e.to_string(),
        })?;
        let step_seconds = spec.step_ms() as f64 / 1000.0;
        let acting = build_lane(&spec, &kind, bounds)?;
        let refit_phase = usize::try_from(stable_hash(spec.workload.as_str().as_bytes()))
            .unwrap_or(0)
            % spec.refit_every.max(1);
        let lead = spec.decision_lead_steps();
        let feedback = WorkloadFeedback::new(&FeedbackConfig {
            lead,
            ..FeedbackConfig::default()
        })
        .map_err(|e| ControlError::Invalid {
            workload: spec.workload.to_string(),
            field: "feedback",
            value: lead.to_string(),
            reason: e.to_string(),
        })?
        .with_workload(spec.workload.clone());
        let rightsizer = spec
            .resources
            .clone()
            .map(|r| Rightsizer::new(&spec.workload, r));
        let warmup = spec.warmup.clone().map(Warmup::new);
        let stager = spec.stages.clone().map(Stager::new);
        Ok(Controller {
            warmup,
            stager,
            gate: None,
            upstream: Vec::new(),
            upstream_hold: None,
            key: SeriesKey::new(spec.workload.clone(), spec.metric.clone()),
            lanes: vec![acting],
            bounds,
            forecaster: RollingForecaster::new(&rolling),
            preferred: None,
            rolling,
            step_seconds,
            spec,
            history: Vec::new(),
            last_actual: None,
            feedback,
            events: Vec::new(),
            notes: Vec::new(),
            rearm_after_fits: None,
            rejected_seen: 0,
            last_forecast: None,
            refit_phase,
            primed: false,
            prior: None,
            own_forecast: false,
            last_step: None,
            rightsizer,
            earlier_fits: (0, 0),
        })
    }

    pub fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    /// The acting policy's label (`predictive`, `hpa@0.50`, ...).
    pub fn policy_label(&self) -> &str {
        &self.lanes[0].label
    }

    /// The replica count the acting policy's last decision asked for.
    pub fn last_desired(&self) -> Option<u32> {
        self.lanes[0].last_desired
    }

    /// Adds a candidate policy deciding beside the acting one on the same history and forecast,
    /// from its own replica count (see [`Controller::tick_lanes`]); returns its lane index.
    /// Oracle and static policies are simulation-only, as for the acting policy.
    pub fn add_lane(&mut self, kind: &PolicyKind) -> Result<usize, ControlError> {
        let lane = build_lane(&self.spec, kind, self.bounds)?;
        self.lanes.push(lane);
        Ok(self.lanes.len() - 1)
    }

    /// Makes lane `i`'s policy the acting one (lane 0) and the acting one lane `i`, each keeping
    /// what it learned; the spec's policy and budget follow. Out of range: nothing changes.
    pub fn promote_lane(&mut self, i: usize) {
        if i == 0 || i >= self.lanes.len() {
            return;
        }
        self.lanes.swap(0, i);
        let kind = self.lanes[0].kind.clone();
        self.spec.budget = kind.budget().unwrap_or(self.spec.budget);
        self.spec.policy = kind;
    }

    /// Lanes: the acting policy (index 0) and the candidates added.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// The label of lane `i`'s policy.
    pub fn lane_label(&self, i: usize) -> Option<&str> {
        self.lanes.get(i).map(|l| l.label.as_str())
    }

    /// The headroom lane `i`'s policy has learned (`None` for policies that learn none).
    pub fn learned_headroom(&self, i: usize) -> Option<f64> {
        self.lanes.get(i)?.policy.learned_headroom()
    }

    /// Whether some lane's policy reads forecasts.
    fn wants_forecast(&self) -> bool {
        self.lanes.iter().any(|l| l.policy.wants_forecast())
    }

    /// Whether the controller would use a prior forecast: a policy forecasts and its own history
    /// has not yet given one (cold start).
    pub fn wants_prior(&self) -> bool {
        self.wants_forecast() && !self.own_forecast
    }

    /// Sets the forecast used while the workload's own history is too short (e.g. its nearest
    /// cluster's profile scaled to its level): `end` is the end (Unix ms) of the last step it was
    /// made from, `label` names it in decision records.
    pub fn set_prior(&mut self, end: i64, forecast: prescale_core::Forecast, label: String) {
        self.prior = Some((end, forecast, label));
    }

    /// Offers the fleet's gbm to this workload's `auto` from its next scheduled refit on (or
    /// withdraws it); kept across history resets.
    pub fn set_fleet(&mut self, fleet: Option<prescale_forecast::fleet::FleetInput>) {
        self.rolling.fleet = fleet.clone();
        self.forecaster.set_fleet(fleet);
    }

    /// The model kind that wins most often in this workload's cluster: while its history is too
    /// short for the seasonal `auto`, it starts with that (see
    /// [`RollingForecaster::set_preferred`]); kept across history resets.
    pub fn set_preferred(&mut self, kind: Option<prescale_forecast::ModelKind>) {
        let changed = self.preferred != kind;
        self.preferred = kind;
        self.forecaster.set_preferred(kind);
        // A young history forecasts with the new winner from its next step, not its next refit.
        if changed && self.forecaster.mature_model_label().is_none() {
            self.forecaster.refit_now();
        }
    }

    /// The kind set by [`Self::set_preferred`].
    pub fn preferred(&self) -> Option<prescale_forecast::ModelKind> {
        self.preferred
    }

    /// The fitted model when `auto` chose it on a full (seasonal) history, e.g. `mstl`.
    pub fn mature_model_label(&self) -> Option<&str> {
        self.forecaster.mature_model_label()
    }

    /// A forecaster for a restarted history, with the fleet and the preferred kind kept.
    fn fresh_forecaster(&self) -> RollingForecaster {
        let mut f = RollingForecaster::new(&self.rolling);
        f.set_preferred(self.preferred);
        f
    }

    /// Steps ahead the forecaster fits for: how far a fleet model must reach to serve it.
    pub fn forecast_horizon(&self) -> usize {
        self.forecaster.horizon()
    }

    /// The aligned history (oldest first, anomalous steps replaced by their forecast) and the end
    /// (Unix ms) of its last step.
    pub fn recent(&self) -> (&[f64], Option<i64>) {
        (
            &self.history,
            self.last_step
                .map(|l| l.saturating_add(self.spec.step_ms())),
        )
    }

    /// The prior forecast shifted to start after the last step, when it reaches that far.
    fn prior_forecast(&self, notes: &mut Vec<String>) -> Option<prescale_core::Forecast> {
        let (end, f, label) = self.prior.as_ref()?;
        let last_end = self.last_step?.saturating_add(self.spec.step_ms());
        let skip = usize::try_from((last_end - end).div_euclid(self.spec.step_ms())).ok()?;
        if skip >= f.horizon() {
            return None;
        }
        let cut = |v: &[f64]| v[skip..].to_vec();
        let shifted =
            prescale_core::Forecast::new(cut(&f.point), cut(&f.lower), cut(&f.upper), f.level)
                .ok()?;
        notes.push(format!(
            "cold start: {} steps of own history are too few to fit; forecast from {label}",
            self.history.len()
        ));
        Some(shifted)
    }

    /// The last decision was not applied (the actuator failed, its circuit is open or a kill
    /// switch is engaged): forget it, so the next tick starts from `known` (what was known before)
    /// and tries again.
    pub fn not_applied(&mut self, known: Option<u32>) {
        self.lanes[0].last_desired = known;
        if let Some(r) = &mut self.rightsizer {
            r.not_applied();
        }
    }

    /// The use series each tick should load (per sized resource), for [`Controller::tick_full`].
    pub fn usage_keys(&self) -> Vec<(ResourceKind, SeriesKey)> {
        self.rightsizer
            .iter()
            .flat_map(|r| r.keys().map(|(k, key)| (k, key.clone())))
            .collect()
    }

    /// Aligned steps held.
    pub fn history_len(&self) -> usize {
        self.history.len()
    }

    /// Forecaster fits so far.
    pub fn fits(&self) -> usize {
        self.earlier_fits.0 + self.forecaster.fits()
    }

    /// Forecaster fits that failed.
    pub fn fit_failures(&self) -> usize {
        self.earlier_fits.1 + self.forecaster.failures()
    }

    /// Starts the forecaster afresh (a shortened or restarted history), keeping its counts.
    fn restart_forecaster(&mut self) {
        self.earlier_fits.0 += self.forecaster.fits();
        self.earlier_fits.1 += self.forecaster.failures();
        self.forecaster = self.fresh_forecaster();
    }

    /// Forecast accuracy, interval coverage, anomaly and drift state of this workload.
    pub fn feedback(&self) -> &WorkloadFeedback {
        &self.feedback
    }

    /// Anomaly events opened or closed since the last call (for alerts).
    pub fn take_events(&mut self) -> Vec<EventChange> {
        std::mem::take(&mut self.events)
    }

    /// The latest forecast with the end (Unix ms) of the last step it was made from: its point `i`
    /// is the demand of the step starting at `end + i·step`.
    pub fn last_forecast(&self) -> Option<(i64, &prescale_core::Forecast)> {
        self.last_forecast.as_ref().map(|(t, f)| (*t, f))
    }

    /// The decision step in milliseconds.
    pub fn step_ms(&self) -> i64 {
        self.spec.step_ms()
    }

    /// The fitted model in use (e.g. `mstl`), once there is one.
    pub fn model_label(&self) -> Option<&str> {
        self.forecaster.model_label()
    }

    /// One tick: `window` holds the demand series' recent raw samples (any order), `now` is the
    /// tick time, `current_replicas` what the actuator reports (else the last decision is assumed).
    pub fn tick(
        &mut self,
        window: &[Sample],
        now: Timestamp,
        current_replicas: Option<u32>,
    ) -> DecisionRecord {
        let current = Current {
            replicas: current_replicas,
            ..Current::default()
        };
        self.tick_full(window, &[], now, &current)
    }

    /// [`Controller::tick`] with the sized resources' use windows (see
    /// [`Controller::usage_keys`]) and the per-replica requests the actuator reports: the acting
    /// lane's decision (candidate lanes decide from their own last request and are dropped; see
    /// [`Controller::tick_lanes`]).
    pub fn tick_full(
        &mut self,
        window: &[Sample],
        usage: &[Usage<'_>],
        now: Timestamp,
        current: &Current,
    ) -> DecisionRecord {
        self.tick_acting(window, usage, now, current).record
    }

    /// [`Controller::tick_full`] with the typed outcome (the policy's decision, or why it held).
    pub fn tick_acting(
        &mut self,
        window: &[Sample],
        usage: &[Usage<'_>],
        now: Timestamp,
        current: &Current,
    ) -> Decided {
        let mut lanes = self.tick_lanes(window, usage, now, std::slice::from_ref(current));
        lanes.swap_remove(0)
    }

    /// One tick for every lane: `current[i]` is what lane `i` runs with now (missing entries:
    /// unknown, the lane's last decision is assumed). Returns one record per lane, the acting
    /// lane's first; only it sizes resources.
    pub fn tick_lanes(
        &mut self,
        window: &[Sample],
        usage: &[Usage<'_>],
        now: Timestamp,
        current: &[Current],
    ) -> Vec<Decided> {
        let step_ms = self.spec.step_ms();
        if let Some(r) = &mut self.rightsizer {
            for u in usage {
                r.observe_usage(u.kind, u.window, now, step_ms);
            }
        }
        let unknown = Current::default();
        let current: Vec<&Current> = (0..self.lanes.len())
            .map(|i| current.get(i).unwrap_or(&unknown))
            .collect();
        let last_sample_at = window.iter().map(|s| s.ts).max();
        let freshness_s = last_sample_at.map(|t| (now.0 - t.0) as f64 / 1000.0);
        let new_steps = if window.is_empty() {
            0
        } else {
            self.ingest(window, now)
        };
        let inputs = Inputs {
            last_sample_at,
            samples: window.len(),
            freshness_s,
            history_steps: self.history.len(),
            demand: self.last_actual,
        };
        let stale_after_s = self.spec.stale_after.as_secs_f64();
        let hold = match freshness_s {
            None => Some((Hold::Missing, explain::missing())),
            Some(age) if age > stale_after_s => {
                Some((Hold::Stale, explain::stale(age, stale_after_s)))
            }
            Some(_) if new_steps == 0 || self.history.is_empty() => {
                Some((Hold::Waiting, explain::waiting(self.step_seconds)))
            }
            Some(_) => None,
        };
        let notes = std::mem::take(&mut self.notes);
        let mut records: Vec<DecisionRecord> = self
            .lanes
            .iter()
            .zip(&current)
            .map(|(lane, cur)| {
                let before = cur.replicas.or(lane.last_desired);
                DecisionRecord {
                    workload: self.spec.workload.clone(),
                    at: now,
                    mode: self.spec.mode,
                    policy: lane.label.clone(),
                    replicas_before: before,
                    replicas_after: before,
                    pre_guard: None,
                    bound_by: None,
                    reason: String::new(),
                    reason_json: serde_json::Value::Null,
                    forecast: None,
                    model: None,
                    inputs: inputs.clone(),
                    feedback: notes.clone(),
                    resources: None,
                    actuation: None,
                    actions: Default::default(),
                }
            })
            .collect();
        let oom_now = self.rightsizer.as_ref().is_some_and(|r| r.oom_pending());
        let (held, decisions) = match hold {
            Some((why, (text, json))) => {
                for r in &mut records {
                    r.reason = text.clone();
                    r.reason_json = json.clone();
                }
                let resized = oom_now && self.resize_now(&mut records[0], current[0]);
                // Inside a decided step an OOM raise is a decision of its own.
                let held = (!(resized && why == Hold::Waiting)).then_some(why);
                (held, vec![None; records.len()])
            }
            None => (None, self.decide(&mut records, &current)),
        };
        records
            .into_iter()
            .zip(decisions)
            .map(|(record, decision)| Decided {
                record,
                decision,
                hold: held,
            })
            .collect()
    }

    /// Runs the forecaster once and every lane's policy on the history.
    fn decide(
        &mut self,
        records: &mut [DecisionRecord],
        current: &[&Current],
    ) -> Vec<Option<Decision>> {
        let demand = self.last_actual.unwrap_or(0.0);
        // A decision made during the step after the last complete one: the replicas it adds serve
        // from `lead` after now, so the policy looks one step further than the lead alone.
        let lead = self.spec.decision_lead_steps();
        let mut notes = Vec::new();
        let forecast = if self.wants_forecast() {
            // The fleet's exogenous inputs follow the history's end (a no-op without any).
            let end = self.recent().1;
            if let Some(f) = end.and_then(|e| self.rolling.fleet.as_ref()?.aligned_to(e)) {
                self.set_fleet(Some(f));
            }
            self.prime();
            let own = self.forecaster.at(&self.history);
            self.own_forecast = own.is_some();
            own.or_else(|| self.prior_forecast(&mut notes))
        } else {
            None
        };
        let at = records[0].at;
        self.after_forecast(at, &mut notes, forecast.as_ref(), lead);
        let summary = forecast
            .as_ref()
            .filter(|f| f.horizon() > 0)
            .map(|f| self.summarize(f, lead));
        if let (Some(w), Some(f), Some(last)) = (&mut self.warmup, &forecast, self.last_step) {
            let step_ms = self.spec.step_ms();
            records[0].actions.warmup = w.check(
                at.0,
                last.saturating_add(step_ms),
                step_ms,
                &f.point,
                &self.history,
            );
        }
        let mut decisions = Vec::with_capacity(self.lanes.len());
        for ((lane, record), cur) in self.lanes.iter_mut().zip(records.iter_mut()).zip(current) {
            record.feedback.extend(notes.iter().cloned());
            let requested = record.replicas_before.unwrap_or(self.spec.min);
            let input = PolicyInput {
                step: lane.decisions,
                step_seconds: self.step_seconds,
                demand,
                history: &self.history,
                ready: cur.ready.unwrap_or(requested),
                requested,
                capacity_per_replica: self.spec.capacity_per_replica,
                lead_steps: lead,
                forecast: forecast.as_ref(),
                lookahead: None,
            };
            let decision = lane.policy.decide(&input);
            lane.decisions += 1;
            let after = decision.replicas();
            let (pre_guard, bound_by) = guard_summary(decision.reason());
            record.replicas_after = Some(after);
            record.pre_guard = pre_guard;
            record.bound_by = bound_by;
            record.reason = decision.reason().to_string();
            record.reason_json = reason_json(decision.reason());
            if let Some((f, model)) = &summary {
                record.forecast = Some(f.clone());
                record.model = Some(model.clone());
            }
            lane.last_desired = Some(after);
            decisions.push(Some(decision));
        }
        self.follow_upstream(&mut records[0]);
        self.stage(&mut records[0]);
        if let Some(r) = &mut self.rightsizer {
            let record = &mut records[0];
            let after = record.replicas_after.unwrap_or(self.spec.min);
            let demand_at_lead = record.forecast.as_ref().map_or(demand, |f| f.upper);
            record.resources = Some(r.decide(&SizingInput {
                now: record.at,
                stale_after: self.spec.stale_after,
                demand_at_lead,
                replicas: after,
                current: current[0].resources.as_ref(),
                current_instance: current[0].instance_type.as_deref(),
                replicas_before: record.replicas_before,
            }));
        }
        decisions
    }

    /// Raises the acting decision to what its upstreams' predicted rises ask for (see
    /// [`crate::graph`]); the rises are used once.
    fn follow_upstream(&mut self, record: &mut DecisionRecord) {
        let rises = std::mem::take(&mut self.upstream);
        let (Some(own), Some(demand)) = (record.replicas_after, self.last_actual) else {
            return;
        };
        let bounds = (self.spec.min, self.spec.max);
        let fresh =
            crate::graph::propagated(demand, self.spec.capacity_per_replica, &rises, bounds).map(
                |(need, top)| UpstreamRecord {
                    upstream: top.upstream.clone(),
                    rise: top.rise,
                    replicas: need,
                    own,
                    held: false,
                },
            );
        if self
            .upstream_hold
            .as_ref()
            .is_some_and(|(_, until)| record.at.0 > *until)
        {
            self.upstream_hold = None;
        }
        let held = self.upstream_hold.as_ref().map(|(h, _)| h.clone());
        let mut up = match (fresh, held) {
            (Some(f), Some(h)) if f.replicas < h.replicas => UpstreamRecord { held: true, ..h },
            (Some(f), _) => {
                // Held for the decision lead: by then the downstream's own demand can follow.
                let lead_ms = self.spec.step_ms().saturating_mul(
                    i64::try_from(self.spec.decision_lead_steps()).unwrap_or(i64::MAX),
                );
                self.upstream_hold = Some((f.clone(), record.at.0.saturating_add(lead_ms)));
                f
            }
            (None, Some(h)) => UpstreamRecord { held: true, ..h },
            (None, None) => return,
        };
        let text = if up.held {
            format!(
                "upstream {}'s forecast rise ×{:.2} held: {} replicas until its demand can have \
                 reached this workload (own decision {own})",
                up.upstream, up.rise, up.replicas
            )
        } else {
            format!(
                "upstream {} is forecast to rise ×{:.2}: demand {demand:.3} × {:.2} / {} per \
                 replica asks for {} replicas (own decision {own})",
                up.upstream, up.rise, up.rise, self.spec.capacity_per_replica, up.replicas
            )
        };
        if up.replicas <= own {
            return;
        }
        up.own = own;
        record.replicas_after = Some(up.replicas);
        record.reason = format!("{}; {text}", record.reason);
        self.lanes[0].last_desired = Some(up.replicas);
        record.actions.upstream = Some(up);
    }

    /// Hands the controller its upstreams' predicted rises (each
    /// [`Controller::predicted_rise`]) for its next decision.
    pub fn set_upstream_rises(&mut self, rises: Vec<UpstreamRise>) {
        self.upstream = rises;
    }

    /// The rise this workload's latest forecast predicts at the decision lead over its last
    /// step's demand (`None` without a forecast or a positive demand), for its downstreams.
    pub fn predicted_rise(&self) -> Option<f64> {
        let (_, f) = self.last_forecast.as_ref()?;
        let demand = self.last_actual.filter(|d| d.is_finite() && *d > 0.0)?;
        let i = self
            .spec
            .decision_lead_steps()
            .min(f.horizon())
            .checked_sub(1)?;
        let r = f.point[i] / demand;
        r.is_finite().then_some(r)
    }

    /// Stages the acting decision when the change is larger than the spec's `max_step`.
    fn stage(&mut self, record: &mut DecisionRecord) {
        let Some(stager) = &mut self.stager else {
            return;
        };
        let (Some(before), Some(want)) = (record.replicas_before, record.replicas_after) else {
            return;
        };
        let stale_ms = i64::try_from(self.spec.stale_after.as_millis()).unwrap_or(i64::MAX);
        let gate = self
            .gate
            .filter(|(at, _)| record.at.0.saturating_sub(at.0) <= stale_ms)
            .map(|(_, v)| v);
        if let Some(st) = stager.stage(record.at.0, before, want, gate) {
            record.replicas_after = Some(st.replicas);
            record.reason = format!("{}; staged: {}", record.reason, st.reason);
            self.lanes[0].last_desired = Some(st.replicas);
            record.actions.stage = Some(st);
        }
    }

    /// Hands the controller the newest reading of its stages' health gate series (taken at
    /// `at`); a non-finite reading is refused.
    pub fn observe_gate(&mut self, at: Timestamp, value: f64) -> Result<(), SignalError> {
        if !value.is_finite() {
            return Err(SignalError::Gate {
                workload: self.spec.workload.to_string(),
                value,
            });
        }
        self.gate = Some((at, value));
        Ok(())
    }

    /// The series of the stages' health gate, when changes are staged.
    pub fn gate_key(&self) -> Option<SeriesKey> {
        let s = self.stager.as_ref()?;
        Some(SeriesKey::new(
            self.spec.workload.clone(),
            s.gate_metric().clone(),
        ))
    }

    /// A tick inside a step already decided, with OOM kills waiting: memory is raised at once
    /// (the replica count stays), the acting record says why.
    /// Returns whether it resized.
    fn resize_now(&mut self, record: &mut DecisionRecord, current: &Current) -> bool {
        // Nothing known of the replicas: nothing to resize them at (the next decision raises).
        let (Some(r), Some(replicas)) = (&mut self.rightsizer, record.replicas_before) else {
            return false;
        };
        record.replicas_after = Some(replicas);
        record.resources = Some(r.decide(&SizingInput {
            now: record.at,
            stale_after: self.spec.stale_after,
            demand_at_lead: self.last_actual.unwrap_or(0.0),
            replicas,
            current: current.resources.as_ref(),
            current_instance: current.instance_type.as_deref(),
            replicas_before: record.replicas_before,
        }));
        record.reason = format!(
            "{}; OOM kill: memory resized at once, {replicas} replicas kept",
            record.reason
        );
        record.reason_json = serde_json::json!({
            "rule": "oom-resize",
            "replicas": replicas,
            "held": record.reason_json,
        });
        true
    }

    /// Hands the controller the newest heap estimate of the workload's runtime (read at `at`):
    /// memory decisions size from it while it is fresher than `stale_after`. A non-finite,
    /// negative or zero live heap, limit or GOGC is refused and the estimate not taken.
    pub fn observe_heap(
        &mut self,
        at: Timestamp,
        estimate: prescale_ingest::gc::HeapEstimate,
    ) -> Result<(), SignalError> {
        crate::heap::check_estimate(self.spec.workload.as_str(), &estimate)?;
        if let Some(r) = &mut self.rightsizer {
            r.observe_heap(at, estimate);
        }
        Ok(())
    }

    /// Hands the controller a reading of the agent's cumulative `oom_kills_total` counter for
    /// the workload: a rise raises memory at the next tick, even inside a decided step. A
    /// non-finite or negative reading is refused.
    pub fn observe_oom_total(&mut self, total: f64) -> Result<(), SignalError> {
        if !(total.is_finite() && total >= 0.0) {
            return Err(SignalError::OomCounter {
                workload: self.spec.workload.to_string(),
                value: total,
            });
        }
        if let Some(r) = &mut self.rightsizer {
            r.observe_oom_total(total);
        }
        Ok(())
    }

    /// Hands the controller OOM kills seen in pod status (the actuator's
    /// [`prescale_actuate::Actuator::oom_kills`]): a new one raises memory at the next tick, even
    /// inside a decided step, as a rise of the agent's counter does; a kill that finished before
    /// the newest OOM raise was decided is taken as answered by it. Returns how many were new.
    pub fn observe_pod_oom_kills(&mut self, kills: &[prescale_actuate::OomKill]) -> usize {
        let Some(r) = &mut self.rightsizer else {
            return 0;
        };
        kills
            .iter()
            .filter(|k| r.observe_pod_oom_kill(k.finished_at))
            .count()
    }

    /// Takes the measured speeds of instance types for this workload (work per core over the
    /// cores it runs on now, from `prescale_learn::environment`): the instance choice then sizes
    /// one replica's CPU by them instead of by catalogue size alone. A speed that is not finite and
    /// above 0 refuses the whole set (the previous one is kept).
    pub fn set_instance_speeds(
        &mut self,
        speeds: Vec<prescale_policy::instances::TypeSpeed>,
    ) -> Result<(), SignalError> {
        if let Some(bad) = speeds
            .iter()
            .find(|s| !(s.speed.is_finite() && s.speed > 0.0))
        {
            return Err(SignalError::Speed {
                workload: self.spec.workload.to_string(),
                instance: bad.instance.clone(),
                value: bad.speed,
            });
        }
        if let Some(r) = &mut self.rightsizer {
            r.set_speeds(speeds);
        }
        Ok(())
    }

    /// The series the daemon reads for [`Self::observe_oom_total`]: the workload's
    /// `oom_kills_total` when memory is sized.
    pub fn oom_key(&self) -> Option<SeriesKey> {
        let sized = self
            .spec
            .resources
            .as_ref()
            .is_some_and(|r| r.memory.is_some());
        let metric = prescale_core::MetricName::new(OOM_KILLS_TOTAL).ok()?;
        sized.then(|| SeriesKey::new(self.spec.workload.clone(), metric))
    }

    /// The forecast at the decision lead and the model that made it, for decision records.
    fn summarize(&self, f: &prescale_core::Forecast, lead: usize) -> (ForecastSummary, String) {
        let i = lead.min(f.horizon()) - 1;
        let summary = ForecastSummary {
            point: f.point[i],
            lower: f.lower[i],
            upper: f.upper[i],
            level: f.level.percent(),
            horizon_steps: i + 1,
        };
        let label = match (&self.prior, self.own_forecast) {
            (Some((_, _, prior)), false) => prior.as_str(),
            _ => self.forecaster.model_label().unwrap_or("auto"),
        };
        let kind = self.rolling.kind;
        let model = match self.rolling.season {
            Some(s) => format!(
                "{label} ({kind}, season {s} steps, refit every {} steps)",
                self.rolling.refit_every
            ),
            None => format!(
                "{label} ({kind}, no season, refit every {} steps)",
                self.rolling.refit_every
            ),
        };
        (summary, model)
    }

    /// Appends the window's newly completed steps; returns how many steps were added.
    fn ingest(&mut self, window: &[Sample], now: Timestamp) -> usize {
        let step_ms = self.spec.step_ms();
        let mut added = 0;
        for (start, v) in complete_steps(&self.key, window, step_ms, now) {
            match (self.last_step, self.history.last().copied()) {
                (Some(l), _) if start <= l => continue,
                (Some(l), Some(last)) => {
                    let gap = (start - l) / step_ms;
                    if usize::try_from(gap).unwrap_or(usize::MAX) > self.spec.history_steps {
                        self.reset_history();
                    } else {
                        // Interpolated steps between the last one and this (no actual to
                        // score); `fill_to` ends with this step, which is scored below.
                        let filled = fill_to((l, last), (start, v), step_ms);
                        let between = &filled[..filled.len().saturating_sub(1)];
                        self.history.extend_from_slice(between);
                    }
                }
                _ => {}
            }
            self.push_observed(start, v);
            self.last_step = Some(start);
            added += 1;
        }
        let cap = self.spec.history_steps.saturating_mul(2).max(2);
        if self.history.len() > cap {
            let drop = self.history.len() - self.spec.history_steps;
            self.history.drain(..drop);
            // The forecaster indexes steps by history length: start it afresh on the shorter history.
            self.restart_forecaster();
            self.primed = false;
        }
        added
    }

    /// Before the first fit, fits `refit_phase` steps back, so this workload's scheduled refits
    /// fall on other ticks than those of workloads seeded on the same tick (a fleet seeded at
    /// start-up would otherwise refit all at once every `refit_every` steps).
    fn prime(&mut self) {
        let len = self.history.len();
        if self.primed || len < self.rolling.min_history + self.refit_phase {
            return;
        }
        self.primed = true;
        if self.refit_phase > 0 && self.forecaster.fits() == 0 {
            let _ = self.forecaster.at(&self.history[..len - self.refit_phase]);
        }
    }

    /// Scores the step's forecasts and appends it to the history: the actual, unless the step is
    /// anomalous (then the forecast made for it stands in); the actual is the policy's demand.
    fn push_observed(&mut self, start: i64, v: f64) {
        let step_ms = self.spec.step_ms();
        let step = u64::try_from(start.div_euclid(step_ms)).unwrap_or(0);
        let end = Timestamp(start.saturating_add(step_ms));
        let mut train = v;
        if let Ok(obs) = self.feedback.observe(step, end, v) {
            if self.feedback.is_excluded(step) {
                if let Some(o) = obs.outcomes.first() {
                    let kept = if self.spec.exclude_anomalies {
                        train = o.predicted;
                        "kept out of training"
                    } else {
                        "trained on as observed"
                    };
                    self.notes.push(format!(
                        "step at {} ms anomalous: actual {v:.3} against {:.3} predicted \
                         (band {:.3}–{:.3}); {kept}",
                        start, o.predicted, o.lower, o.upper
                    ));
                }
            }
            if let Some(d) = obs.drift {
                self.notes
                    .push(format!("forecast drift ({:?}): refit forced", d.reason));
                self.forecaster.refit_now();
                self.rearm_after_fits = Some(self.forecaster.fits());
            }
            self.events.extend(obs.changes);
        }
        self.history.push(train);
        self.last_actual = Some(v);
        if let Some(r) = &mut self.rightsizer {
            r.observe_demand(start, v);
        }
    }

    /// Records the forecast the decision uses, re-arms drift detection after a forced refit and
    /// notes a refit the guard rolled back.
    fn after_forecast(
        &mut self,
        at: Timestamp,
        notes: &mut Vec<String>,
        forecast: Option<&prescale_core::Forecast>,
        lead: usize,
    ) {
        if let Some(after) = self.rearm_after_fits {
            if self.forecaster.fits() > after {
                self.feedback.refitted();
                self.rearm_after_fits = None;
            }
        }
        let rejected = self.forecaster.rejected_refits();
        if rejected > self.rejected_seen {
            self.rejected_seen = rejected;
            notes.push(
                "the latest refit forecast worse than the model it replaced: kept the previous model"
                    .into(),
            );
        }
        let (Some(f), Some(last)) = (forecast, self.last_step) else {
            return;
        };
        let origin = u64::try_from(last.div_euclid(self.spec.step_ms())).unwrap_or(0);
        self.last_forecast = Some((last.saturating_add(self.spec.step_ms()), f.clone()));
        let model = self.forecaster.model_label().unwrap_or("auto").to_string();
        let horizons: Vec<usize> = if lead > 1 { vec![1, lead] } else { vec![1] };
        let horizons: Vec<usize> = horizons.into_iter().filter(|&h| h <= f.horizon()).collect();
        let _ = self.feedback.record(origin, at, &model, f, &horizons);
    }

    fn reset_history(&mut self) {
        self.primed = false;
        self.history.clear();
        self.last_actual = None;
        self.restart_forecaster();
    }

    /// Whether this controller hands decisions to an actuator.
    pub fn mode(&self) -> Mode {
        self.spec.mode
    }
}

/// A lane for `kind`, built for the spec's bounds and step; oracle and static policies are
/// simulation-only.
fn build_lane(
    spec: &WorkloadSpec,
    kind: &PolicyKind,
    bounds: Bounds,
) -> Result<Lane, ControlError> {
    let invalid = |reason: String| ControlError::Invalid {
        workload: spec.workload.to_string(),
        field: "policy",
        value: kind.label(),
        reason,
    };
    if matches!(kind, PolicyKind::Oracle | PolicyKind::Static) {
        return Err(invalid(
            "needs the future or the whole trace: simulation only".into(),
        ));
    }
    let policy = kind
        .build(&BuildContext {
            bounds,
            step_seconds: spec.step_ms() as f64 / 1000.0,
            peak_need: spec.max,
        })
        .map_err(|e| invalid(e.to_string()))?;
    Ok(Lane {
        policy,
        kind: kind.clone(),
        label: kind.label(),
        decisions: 0,
        last_desired: None,
    })
}

/// FNV-1a: a hash stable across runs and platforms.
fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

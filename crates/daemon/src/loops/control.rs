//! The control loop: every tick, each workload's window is loaded, its controller decides, `act`
//! mode hands the decision to its actuator, and the explained decision is stored. The mode is read
//! each tick (see [`crate::controls`] for the rule); every actuator sits behind the kill switch and
//! a `Retrying` (back-off and circuit breaker) wrapper: `KillSwitch::guard(Retrying(actuator))`.
//! Workloads tick in parallel on blocking threads (prescale-control's `Fleet`, one per core; the
//! store is shared under a lock held only to read a window or save a decision); one that fails
//! (window, actuator, store) is logged and the others go on, and one whose tick panics is logged
//! and retired while the others keep running.
//! Actuators bound their own calls with timeouts (webhook, exec), so one slow target delays a pass
//! by at most its timeout.

use super::stopped;
use crate::config::{ControlConfig, KubernetesConfig};
use crate::controls::{effective_mode, pool_state_file, Controls};
use crate::error::DaemonError;
use crate::http::lock;
use crate::insight::{AnomalyChange, ForecastView, Insight, ModelView};
use crate::winners::ModelReport;
use prescale_actuate::{Actuator, ActuatorConfig, Retrying};
use prescale_control::{
    actuate, Actuation, Controller, Current, DecisionRecord, Fleet, Mode, Outcome, ResourceKind,
    Usage,
};
use prescale_core::WindowSource;
use prescale_core::{Clock, SeriesKey, Timestamp, WorkloadId};
use prescale_keda::Prediction;
use prescale_remote::naming::{self, PromSample};
use prescale_store::{DecisionRow, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// The latest `prescale_desired_replicas` sample per workload, with its desired per-replica CPU
/// and memory requests when it sizes them, for `/metrics`.
pub type Desired = Arc<Mutex<BTreeMap<WorkloadId, Vec<PromSample>>>>;

/// One workload's controller and actuator.
pub struct Slot {
    pub(crate) controller: Controller,
    /// The workload's own `mode`; `None` follows the global mode.
    own_mode: Option<Mode>,
    actuator: Box<dyn Actuator>,
    seeded: bool,
    /// Set when a tick panicked: the slot's state can no longer be trusted, so it stops deciding.
    retired: bool,
    /// Cold start: whose cluster profile stands in while the history is too short.
    cold: prescale_learn::ClusterPrior,
    /// Where the workload comes from: the config, or a `PredictiveScaler` (key, generation).
    pub(crate) scaler: Option<(String, Option<i64>)>,
    /// The latest decision made (for the scaler's status).
    pub(crate) last_record: Option<DecisionRecord>,
    /// The fleet hub's version last handed to the controller.
    fleet_version: u64,
    /// Its predictors and known events, for the fleet gbm.
    pub(crate) drivers: crate::config::Drivers,
    /// The fleet input handed last carries exogenous inputs, built for this history end and step
    /// now completing: built again when either moves (the controller realigns them in between).
    fleet_exog: Option<(Option<i64>, i64)>,
    /// A predictor nothing serves was warned about.
    warned_unserved: bool,
    /// Added by observe mode ([`crate::loops::observe`]): forecast-only, never a scaler's or a
    /// configured workload's.
    pub(crate) observed: bool,
    /// When the last decision was stored and what it asked for (observed workloads store a
    /// decision only when that changes, or every [`OBSERVED_SAVE_EVERY_MS`]).
    last_saved: Option<(Timestamp, Option<u32>)>,
    /// Candidate configurations deciding beside the acting one (`[[workload.shadow]]`).
    shadows: Option<prescale_control::Shadows>,
    /// The target fired ahead of a predicted surge (`[workload.warmup]`), behind the kill switch.
    warmup: Option<Box<dyn Actuator>>,
    /// The workloads whose predicted rise this one follows (`depends_on`).
    depends_on: Vec<WorkloadId>,
    /// The purchase mix each decision is priced with (`[workload.purchase]`).
    purchase: Option<prescale_control::purchase_mix::LivePurchase>,
    /// When its instance-type speeds were last measured ([`super::instance_speeds`]).
    speeds_at: Option<Timestamp>,
    /// `[cluster]`: the fence it decides under and its decisions since the last snapshot.
    carried: crate::cluster::Carried,
}

/// An observed workload's unchanged decision is stored at most this often (the other decisions
/// of its steps still reach the API's model, forecast and `/metrics`).
const OBSERVED_SAVE_EVERY_MS: i64 = 300_000;

impl Slot {
    /// The workloads whose predicted rise this one follows (`depends_on`).
    pub(crate) fn depends_on(&self) -> &[WorkloadId] {
        &self.depends_on
    }
}

/// Builds a controller and actuator per configured workload; each actuator is wrapped as
/// `controls.kill_switch().guard(Retrying(actuator))`.
/// Call it outside tokio ([`off_runtime`]): a Kubernetes actuator owns its own runtime.
/// A process pool without a `state_file` records its replicas in `<db>.pool.<workload>.json`.
pub fn slots(
    cfg: &ControlConfig,
    kubernetes: &KubernetesConfig,
    controls: &Controls,
    db: &Path,
) -> Result<Slots, DaemonError> {
    let registry = kubernetes.registry();
    let slots: Result<Vec<Slot>, DaemonError> = cfg
        .workloads
        .iter()
        .map(|w| slot_of(w, &registry, controls, Some(db)))
        .collect();
    slots.map(Slots)
}

/// The slot of one validated workload: its actuator built by the kind its `type` names, behind
/// the kill switch and its retries, and its shadows. A process pool without a `state_file`
/// records its replicas in `<db>.pool.<workload>.json` when `db` is given.
pub(crate) fn slot_of(
    w: &crate::config::ControlledWorkload,
    registry: &prescale_actuate::Registry,
    controls: &Controls,
    db: Option<&Path>,
) -> Result<Slot, DaemonError> {
    let mut config = w.actuator.clone();
    if let (ActuatorConfig::ProcessPool(p), Some(db)) = (&mut config, db) {
        if p.state_file.is_none() {
            p.state_file = Some(pool_state_file(db, &w.spec.workload));
        }
    }
    let actuator = registry
        .build(&w.spec.workload, &config)
        .map_err(|source| DaemonError::Actuator {
            workload: w.spec.workload.to_string(),
            source,
        })?;
    let mut slot = make_slot(
        w.spec.clone(),
        w.own_mode,
        actuator,
        &w.retry,
        w.like.clone(),
        controls,
    )?;
    slot.drivers = w.drivers.clone();
    slot.depends_on = w.depends_on.clone();
    if let Some(mix) = &w.purchase {
        slot.purchase = Some(
            prescale_control::purchase_mix::LivePurchase::new(mix, &w.spec).map_err(|e| {
                DaemonError::Task(format!("workload {}: purchase: {e}", w.spec.workload))
            })?,
        );
    }
    if let Some(target) = &w.warmup {
        let built =
            registry
                .build(&w.spec.workload, target)
                .map_err(|source| DaemonError::Actuator {
                    workload: w.spec.workload.to_string(),
                    source,
                })?;
        slot.warmup = Some(Box::new(controls.kill_switch().guard(built)));
    }
    if !w.shadows.is_empty() {
        slot.shadows = Some(prescale_control::Shadows::new(
            &mut slot.controller,
            w.shadows.clone(),
        )?);
    }
    Ok(slot)
}

/// A slot for `spec` with `actuator` behind the kill switch and `retry`'s back-off and breaker.
pub(crate) fn make_slot(
    spec: prescale_control::WorkloadSpec,
    own_mode: Option<Mode>,
    actuator: Box<dyn Actuator>,
    retry: &prescale_actuate::RetryConfig,
    like: Option<prescale_learn::Like>,
    controls: &Controls,
) -> Result<Slot, DaemonError> {
    let workload = spec.workload.to_string();
    let (backoff, breaker) = retry
        .resolve("retry")
        .map_err(|problems| DaemonError::Retry {
            workload,
            problems: problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        })?;
    let guarded = controls
        .kill_switch()
        .guard(Retrying::new(actuator, backoff, breaker));
    Ok(Slot {
        controller: Controller::new(spec)?,
        own_mode,
        actuator: Box::new(guarded),
        seeded: false,
        retired: false,
        cold: prescale_learn::ClusterPrior::new(like),
        scaler: None,
        last_record: None,
        fleet_version: 0,
        drivers: crate::config::Drivers::default(),
        fleet_exog: None,
        warned_unserved: false,
        observed: false,
        last_saved: None,
        shadows: None,
        warmup: None,
        depends_on: Vec::new(),
        purchase: None,
        speeds_at: None,
        carried: Default::default(),
    })
}

/// The workloads' slots. Dropped inside tokio (e.g. when start-up fails after building them),
/// they are dropped on a plain thread: a Kubernetes actuator's own runtime cannot be dropped
/// inside another.
pub struct Slots(pub Vec<Slot>);

impl Drop for Slots {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut self.0);
        if !slots.is_empty() && tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("prescale-control-drop".into())
                .spawn(move || drop(slots));
        }
    }
}

/// What the loop reads windows from and writes decisions to.
pub struct Io {
    pub windows: Box<dyn WindowSource + Send>,
    pub decisions: Store,
}

/// The configured workloads' slots and, when on, the syncs that add and remove slots of their
/// own: `PredictiveScaler`s and observe mode.
pub type Workloads = (
    Slots,
    Option<crate::loops::scalers::ScalerSync>,
    Option<crate::loops::observe::ObserveSync>,
);

/// What a control pass shares with the rest of the daemon.
#[derive(Clone)]
pub(crate) struct PassContext {
    pub io: Arc<Mutex<Io>>,
    pub desired: Desired,
    pub insight: Insight,
    pub controls: Controls,
    /// `[cluster]`: only the workloads this instance owns tick, each actuation is fenced.
    pub cluster: Option<crate::cluster::ClusterLink>,
}

/// Runs every `tick` until shutdown, reading the time of each pass from `clock`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    workloads: Workloads,
    tick: Duration,
    io: Io,
    desired: Desired,
    insight: Insight,
    controls: Controls,
    clock: Arc<dyn Clock>,
    cluster: Option<crate::cluster::ClusterLink>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (slots, mut scalers, mut observe) = workloads;
    let ctx = PassContext {
        io: Arc::new(Mutex::new(io)),
        desired,
        insight,
        controls,
        cluster,
    };
    let mut slots = slots;
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            _ = ticker.tick() => {}
        }
        let global = ctx.controls.mode();
        let pass_ctx = ctx.clone();
        let mut pass_scalers = scalers.take();
        let mut pass_observe = observe.take();
        let clock = clock.clone();
        let done = off_runtime(move || {
            let now = clock.now();
            pass(
                &pass_ctx,
                &mut slots,
                (&mut pass_scalers, &mut pass_observe),
                global,
                now,
            );
            (slots, pass_scalers, pass_observe)
        })
        .await;
        match done {
            Ok((s, sync, obs)) => {
                slots = s;
                scalers = sync;
                observe = obs;
            }
            Err(e) => {
                tracing::error!(error = %e, "control pass panicked; control loop stopped");
                return;
            }
        }
    }
    // Actuators may own a runtime (Kubernetes), which must not be dropped inside this one. In a
    // cluster, the owned workloads' snapshots are written first (the leases are still held).
    let cluster = ctx.cluster.clone();
    let _ = off_runtime(move || {
        if let Some(link) = cluster {
            link.save_all(
                slots
                    .0
                    .iter()
                    .filter_map(|s| Some((&s.controller, s.carried.fence()?))),
            );
        }
        drop(slots)
    })
    .await;
}

/// One pass of the control loop at `now` under the global mode `global`: the scaler and observe
/// syncs add and remove slots, every live slot ticks (in parallel; a panic retires its slot),
/// and the fleet models and cluster winners are shared.
pub(crate) fn pass(
    ctx: &PassContext,
    slots: &mut Slots,
    syncs: (
        &mut Option<crate::loops::scalers::ScalerSync>,
        &mut Option<crate::loops::observe::ObserveSync>,
    ),
    global: Mode,
    now: Timestamp,
) {
    let (pass_scalers, pass_observe) = syncs;
    let before = keys(&slots.0);
    if let Some(sync) = pass_scalers.as_mut() {
        // Observed slots make way: the scalers see only the others, and an observed
        // workload a scaler now controls loses its observed slot.
        let (mut observed, mut others): (Vec<Slot>, Vec<Slot>) = std::mem::take(&mut slots.0)
            .into_iter()
            .partition(|s| s.observed);
        sync.reconcile(&mut others, &ctx.controls);
        let owned: std::collections::BTreeSet<WorkloadId> = others
            .iter()
            .map(|s| s.controller.spec().workload.clone())
            .collect();
        observed.retain(|s| !owned.contains(&s.controller.spec().workload));
        others.append(&mut observed);
        slots.0 = others;
    }
    if let Some(sync) = pass_observe.as_mut() {
        sync.reconcile(&mut slots.0, &ctx.controls, now);
    }
    // A deleted scaler's or no longer observed workload leaves /metrics, the API and KEDA.
    let after = keys(&slots.0);
    for gone in before.difference(&after) {
        lock(&ctx.desired).remove(&gone.workload);
        ctx.insight.forget(&gone.workload, gone.metric.as_str());
    }
    follow_upstreams(&mut slots.0);
    // Workloads tick in parallel (all cores); each one's panic is caught and retires it.
    let started = std::time::Instant::now();
    let (io, desired, insight) = (&ctx.io, &ctx.desired, &ctx.insight);
    let outcomes = Fleet::new().run(&mut slots.0, |slot| {
        // In a cluster, a workload another instance owns does not tick here.
        let fence = match &ctx.cluster {
            None => None,
            Some(link) => {
                let (w, step) = (&slot.controller.spec().workload, slot.controller.step_ms());
                let acting = link.acting_fence(w, step, now.0);
                // Taken over: resume the previous owner's snapshot; lost: leave one.
                link.follow(&mut slot.carried, &mut slot.controller, acting);
                match acting {
                    Some(f) => Some((link, f)),
                    None => return,
                }
            }
        };
        if !slot.retired {
            promote(slot, insight, io, now);
            // Between decisions nothing changes that the API shows: publish on decisions.
            if let Some(record) = tick_one(slot, io, desired, global, now, fence) {
                if let Some((link, f)) = fence {
                    link.decided();
                    link.decided_under(&mut slot.carried, &slot.controller, f);
                }
                let metric = slot.controller.spec().metric.to_string();
                insight.control().decided(&metric, &record);
                publish(slot, insight, now);
            }
        }
    });
    insight
        .control()
        .passed(now, started.elapsed().as_secs_f64());
    for (slot, outcome) in slots.0.iter_mut().zip(outcomes) {
        if let Outcome::Panicked(message) = outcome {
            slot.retired = true;
            tracing::error!(
                workload = %slot.controller.spec().workload,
                panic = %message,
                "control tick panicked; this workload stops deciding, the others go on"
            );
        }
    }
    if let Some(sync) = pass_scalers.as_mut() {
        sync.report(&mut slots.0, now);
    }
    share_fleet(&mut slots.0, insight.fleet(), io, now);
}

/// Offers the slots' histories (with their exogenous inputs) to the fleet hub when it asks, hands
/// every controller the newest fleet model of its step once (a model that does not reach its
/// horizon withdraws any) — again with every new step where it carries the workload's exogenous
/// inputs, which move with the steps —, reports the models the controllers chose and hands each
/// its cluster's winner.
fn share_fleet(slots: &mut [Slot], hub: &crate::fleet::FleetHub, io: &Mutex<Io>, now: Timestamp) {
    if hub.histories_wanted() {
        let all: Vec<bool> = slots.iter().map(|s| !s.retired).collect();
        let exog = exog_inputs(slots, io, now, &all, false);
        let offered = slots
            .iter()
            .zip(exog)
            .filter(|(s, _)| !s.retired)
            .map(|(s, exog)| {
                let c = &s.controller;
                crate::fleet::Offered {
                    workload: c.spec().workload.to_string(),
                    step_ms: c.step_ms(),
                    season: c.spec().season_steps(),
                    horizon: c.forecast_horizon(),
                    values: c.recent().0.to_vec(),
                    exog,
                }
            })
            .collect();
        hub.offer(now, offered);
    }
    let version = hub.version();
    let refresh: Vec<bool> = slots
        .iter()
        .map(|s| s.fleet_version != version || s.fleet_exog.is_some_and(|k| k != exog_key(s, now)))
        .collect();
    if refresh.contains(&true) {
        let mut inputs: Vec<Option<prescale_forecast::fleet::FleetInput>> = slots
            .iter()
            .zip(&refresh)
            .map(|(s, &r)| {
                let c = &s.controller;
                let (w, step) = (c.spec().workload.as_str(), c.step_ms());
                r.then(|| hub.input_for(w, step, c.forecast_horizon()))
                    .flatten()
            })
            .collect();
        // the inputs of those whose gbm reads some
        let reads: Vec<bool> = inputs
            .iter()
            .map(|i| i.as_ref().is_some_and(|f| !f.gbm.exog.is_empty()))
            .collect();
        if reads.contains(&true) {
            let exog = exog_inputs(slots, io, now, &reads, true);
            for (input, e) in inputs.iter_mut().zip(exog) {
                if let Some(i) = input.as_mut() {
                    i.exog = e.map(Arc::new);
                }
            }
        }
        for ((slot, r), input) in slots.iter_mut().zip(refresh).zip(inputs) {
            if r {
                let carries = input.as_ref().is_some_and(|i| i.exog.is_some());
                slot.fleet_exog = carries.then(|| exog_key(slot, now));
                slot.controller.set_fleet(input);
                slot.fleet_version = version;
            }
        }
    }
    // What each cluster's mature members chose, and each young member starts with its winner.
    // Without a clustering there are no winners: nothing to tally on this every-pass path.
    if !hub.has_membership() {
        hub.report_models(&[]);
        for slot in slots
            .iter_mut()
            .filter(|s| s.controller.preferred().is_some())
        {
            slot.controller.set_preferred(None);
        }
        return;
    }
    let reports: Vec<ModelReport> = slots
        .iter()
        .filter(|s| !s.retired)
        .map(|s| {
            let c = &s.controller;
            ModelReport {
                workload: c.spec().workload.to_string(),
                step_ms: c.step_ms(),
                chosen: c.mature_model_label().and_then(crate::winners::chosen_kind),
            }
        })
        .collect();
    hub.report_models(&reports);
    for slot in slots.iter_mut().filter(|s| !s.retired) {
        let c = &slot.controller;
        let winner = hub.winner_for(c.spec().workload.as_str(), c.step_ms());
        if c.preferred() != winner {
            slot.controller.set_preferred(winner);
        }
    }
}

/// What a slot's exogenous inputs were built for: its history's end and the step now completing.
fn exog_key(slot: &Slot, now: Timestamp) -> (Option<i64>, i64) {
    let step = slot.controller.step_ms().max(1);
    (slot.controller.recent().1, now.0.div_euclid(step))
}

/// The exogenous inputs of the slots `wanted` picks (`live`: with their predictors' latest
/// forecasts), aligned to the end of each one's history; the annotations' events and the stored
/// series of predictors no controller serves are read once for all of them.
fn exog_inputs(
    slots: &mut [Slot],
    io: &Mutex<Io>,
    now: Timestamp,
    wanted: &[bool],
    live: bool,
) -> Vec<Option<prescale_forecast::fleet::Exog>> {
    use crate::fleet::exog::{self, Calendar, Seen, Stored};
    let seen: Vec<Seen<'_>> = slots
        .iter()
        .map(|s| {
            let c = &s.controller;
            let (history, end_ms) = c.recent();
            Seen {
                workload: c.spec().workload.as_str(),
                metric: c.spec().metric.as_str(),
                step_ms: c.step_ms(),
                season: c.spec().season_steps(),
                horizon: c.forecast_horizon(),
                history,
                end_ms,
                forecast: c.last_forecast().map(|(t, f)| (t, f.point.as_slice())),
                drivers: &s.drivers,
            }
        })
        .collect();
    let calendar = match lock(io).decisions.annotations(exog::ANNOTATIONS_READ, None) {
        Ok(rows) => Calendar::from_annotations(rows.iter().map(|(_, r)| r)),
        Err(e) => {
            tracing::warn!(error = %e, "reading annotations for the fleet's events; none used");
            Calendar::default()
        }
    };
    let mut stored = Stored::new();
    for i in (0..seen.len()).filter(|&i| wanted[i]) {
        for (key, step_ms, span) in exog::stored_wanted(&seen, i) {
            let k = (key.workload.to_string(), key.metric.to_string(), step_ms);
            if stored.contains_key(&k) {
                continue;
            }
            let from = Timestamp(now.0.saturating_sub(span));
            match lock(io).windows.load_window(&key, from, now) {
                Ok(w) => {
                    if let Some(steps) = exog::stored_steps(&key, &w, step_ms, now) {
                        stored.insert(k, steps);
                    }
                }
                Err(e) => {
                    tracing::warn!(series = %key, error = %e, "loading a predictor's series; left out")
                }
            }
        }
    }
    let out: Vec<Option<prescale_forecast::fleet::Exog>> = (0..seen.len())
        .map(|i| {
            let step = seen[i].step_ms.max(1);
            let now_end = now.0.div_euclid(step) * step;
            wanted[i]
                .then(|| exog::exog_for(&seen, i, &calendar, &stored, live, now_end))
                .flatten()
        })
        .collect();
    let unserved: Vec<(usize, Vec<String>)> = (0..seen.len())
        .filter(|&i| wanted[i])
        .map(|i| (i, exog::unserved(&seen, i, &stored)))
        .collect();
    drop(seen);
    for (i, names) in unserved {
        let slot = &mut slots[i];
        if !names.is_empty() && !slot.warned_unserved {
            tracing::warn!(
                workload = %slot.controller.spec().workload,
                predictors = ?names,
                "predictors with neither a controller of this step nor a stored series are left out"
            );
        }
        slot.warned_unserved = !names.is_empty();
    }
    out
}

/// The workload and demand metric of every slot.
fn keys(slots: &[Slot]) -> std::collections::BTreeSet<SeriesKey> {
    slots
        .iter()
        .map(|s| {
            let spec = s.controller.spec();
            SeriesKey::new(spec.workload.clone(), spec.metric.clone())
        })
        .collect()
}

/// Runs `f` on a new plain thread — outside tokio, where a Kubernetes actuator can drive its own
/// runtime — and waits for it without blocking the runtime.
pub async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("prescale-control".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| format!("starting a control thread: {e}"))?;
    rx.await
        .map_err(|_| "the control thread panicked".to_string())
}

/// One workload's tick; every failure is logged, none escapes.
/// Returns the decision made (`None` on a tick inside a step already decided).
fn tick_one(
    slot: &mut Slot,
    io: &Mutex<Io>,
    desired: &Desired,
    global: Mode,
    now: Timestamp,
    fence: Option<(&crate::cluster::ClusterLink, prescale_bus::Fence)>,
) -> Option<DecisionRecord> {
    let mode = effective_mode(slot.own_mode, global);
    let spec = slot.controller.spec();
    let key = SeriesKey::new(spec.workload.clone(), spec.metric.clone());
    // First tick: the whole history the forecaster fits on; then a few steps and the staleness span.
    let span_ms = if slot.seeded {
        (spec.step_ms().saturating_mul(4)).max(duration_ms(spec.stale_after) + spec.step_ms())
    } else {
        spec.step_ms().saturating_mul(
            i64::try_from(spec.history_steps)
                .unwrap_or(i64::MAX)
                .saturating_add(1),
        )
    };
    let from = Timestamp(now.0.saturating_sub(span_ms));
    let loaded = lock(io).windows.load_window(&key, from, now);
    let window = match loaded {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(workload = %key.workload, error = %e, "loading the window; treating as missing");
            Vec::new()
        }
    };
    slot.seeded = slot.seeded || !window.is_empty();
    // The sized resources' use over the same span (a failed read counts as missing: holds).
    let usage: Vec<(ResourceKind, Vec<prescale_core::Sample>)> = slot
        .controller
        .usage_keys()
        .into_iter()
        .map(|(kind, k)| {
            let w = lock(io).windows.load_window(&k, from, now);
            (
                kind,
                w.unwrap_or_else(|e| {
                    tracing::warn!(workload = %k.workload, metric = %k.metric, error = %e, "loading the use window; treating as missing");
                    Vec::new()
                }),
            )
        })
        .collect();
    let current = if mode == Mode::Act {
        match slot.actuator.current(&key.workload) {
            Ok(state) => state.map_or_else(Current::default, |s| Current {
                replicas: s.replicas,
                ready: None,
                resources: s.resources,
                instance_type: s.instance_type,
            }),
            Err(e) => {
                tracing::warn!(workload = %key.workload, error = %e, "reading the current state");
                Current::default()
            }
        }
    } else {
        Current::default()
    };
    // OOM kills the actuator sees (Kubernetes: pod lastState OOMKilled) raise memory at once.
    if mode == Mode::Act && slot.controller.oom_key().is_some() {
        match slot.actuator.oom_kills(&key.workload) {
            Ok(kills) if !kills.is_empty() => {
                let new = slot.controller.observe_pod_oom_kills(&kills);
                tracing::warn!(workload = %key.workload, seen = kills.len(), new, pods = ?kills.iter().map(|k| &k.pod).collect::<Vec<_>>(), "OOMKilled in pod status");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(workload = %key.workload, error = %e, "reading pod OOM kills");
            }
        }
    }
    // Memory sizing reads the agent's OOM counter and the scraped GC gauges.
    {
        let (from, to) = super::runtime_signals::span(&slot.controller, now);
        let io = lock(io);
        super::runtime_signals::feed(&mut slot.controller, |k| {
            io.windows.load_window(k, from, to).ok()
        });
        // An instance-type choice goes by the speeds measured from the store.
        super::instance_speeds::refresh(
            &mut slot.controller,
            &mut slot.speeds_at,
            &io.decisions,
            now,
        );
    }
    if slot.controller.wants_prior() && !window.is_empty() {
        let published = fence.as_ref().map(|(link, _)| link.published_partials());
        cold_start(slot, &lock(io).decisions, published.as_deref(), now);
    }
    let usage: Vec<Usage<'_>> = usage
        .iter()
        .map(|(kind, w)| Usage {
            kind: *kind,
            window: w,
        })
        .collect();
    let decided = match slot.shadows.as_mut() {
        Some(s) => s.tick_acting(&mut slot.controller, &window, &usage, now, &current),
        None => slot.controller.tick_acting(&window, &usage, now, &current),
    };
    if decided.hold == Some(prescale_control::Hold::Waiting) {
        // A tick inside a step that has already been decided: nothing new to record or set.
        return None;
    }
    let mut record = decided.record;
    record.mode = mode;
    // Forecast-only though the workload's own mode is not: the global mode is why.
    if mode == Mode::ForecastOnly && slot.own_mode != Some(Mode::ForecastOnly) {
        record.actuation = Some(Actuation::Skipped {
            why: "global mode forecast-only".into(),
        });
    } else {
        match fence {
            // The fencing token is checked right before the actuator acts.
            Some((link, fence)) => actuate(
                &mut record,
                &mut crate::cluster::fenced::Fenced {
                    inner: slot.actuator.as_mut(),
                    link,
                    fence,
                },
            ),
            None => actuate(&mut record, slot.actuator.as_mut()),
        }
        if matches!(
            record.actuation,
            Some(
                Actuation::Failed { .. }
                    | Actuation::CircuitOpen { .. }
                    | Actuation::KillSwitch { .. }
            )
        ) {
            slot.controller.not_applied(record.replicas_before);
        }
    }
    super::warmup::fire(&mut record, slot.warmup.as_deref_mut());
    if let Some(p) = slot.purchase.as_mut() {
        record.actions.purchase = p.record(&record);
    }
    if let Some(after) = record.replicas_after {
        let mut samples = vec![naming::desired_replicas_sample(
            &record.workload,
            &record.policy,
            after,
            now,
        )];
        if let Some(r) = &record.resources {
            let sized = [
                (naming::DESIRED_CPU_REQUEST, &r.cpu),
                (naming::DESIRED_MEMORY_REQUEST, &r.memory),
            ];
            for (family, choice) in sized {
                if let Some(v) = choice.as_ref().and_then(|c| c.after) {
                    samples.push(naming::desired_request_sample(
                        family,
                        &record.workload,
                        v,
                        now,
                    ));
                }
            }
        }
        lock(desired).insert(record.workload.clone(), samples);
    }
    tracing::debug!(workload = %record.workload, before = ?record.replicas_before, after = ?record.replicas_after, reason = %record.reason, "decision");
    if slot.scaler.is_some() {
        slot.last_record = Some(record.clone());
    }
    // An observed workload (up to hundreds, deciding every few seconds, acting never) keeps the
    // decisions that change something, and one an interval otherwise: the store stays small.
    let routine = slot.observed
        && slot.last_saved.is_some_and(|(at, after)| {
            after == record.replicas_after && now.0.saturating_sub(at.0) < OBSERVED_SAVE_EVERY_MS
        });
    if !routine {
        match save(&mut lock(io).decisions, &record) {
            Ok(_) => slot.last_saved = Some((now, record.replicas_after)),
            Err(e) => {
                tracing::warn!(workload = %record.workload, error = %e, "saving the decision")
            }
        }
    }
    Some(record)
}

/// Hands each workload that depends on others its upstreams' predicted rises as of their latest
/// decisions (prescale_control::graph): the workloads tick in parallel, so a downstream follows
/// the rise its upstream predicted at the previous tick.
fn follow_upstreams(slots: &mut [Slot]) {
    if slots.iter().all(|s| s.depends_on.is_empty()) {
        return;
    }
    let rises: BTreeMap<WorkloadId, f64> = slots
        .iter()
        .filter_map(|s| {
            Some((
                s.controller.spec().workload.clone(),
                s.controller.predicted_rise()?,
            ))
        })
        .collect();
    for s in slots.iter_mut().filter(|s| !s.depends_on.is_empty()) {
        let mine = s
            .depends_on
            .iter()
            .filter_map(|u| {
                Some(prescale_control::graph::UpstreamRise {
                    upstream: u.clone(),
                    rise: *rises.get(u)?,
                })
            })
            .collect();
        s.controller.set_upstream_rises(mine);
    }
}

/// While the workload's own history is too short to fit: the controller's prior comes from its
/// nearest cluster's profile (prescale-learn's cold-start rule).
/// In a cluster, members stored elsewhere come from the partials their owners published.
fn cold_start(
    slot: &mut Slot,
    store: &Store,
    published: Option<&BTreeMap<WorkloadId, prescale_learn::MemberPartial>>,
    now: Timestamp,
) {
    let none = BTreeMap::new();
    let spec = slot.controller.spec();
    let target = prescale_learn::PriorTarget {
        workload: &spec.workload,
        metric: &spec.metric,
        season_ms: spec.season.map(duration_ms),
        step_ms: spec.step_ms(),
        horizon: spec.decision_lead_steps() + spec.refit_every,
    };
    let (recent, end) = slot.controller.recent();
    if let Some(p) = slot
        .cold
        .next(store, published.unwrap_or(&none), &target, recent, end, now)
    {
        slot.controller.set_prior(p.end, p.forecast, p.label);
    }
}

/// Applies the promotions asked for this workload through the API (before its next step), each
/// recorded in the decision log.
fn promote(slot: &mut Slot, insight: &Insight, io: &Mutex<Io>, now: Timestamp) {
    let workload = slot.controller.spec().workload.clone();
    for name in insight.shadows().take_promotions(&workload) {
        let Some(shadows) = slot.shadows.as_mut() else {
            return;
        };
        let (before, after) = match shadows.promote(&mut slot.controller, &name) {
            Ok(change) => change,
            Err(e) => {
                tracing::warn!(workload = %workload, shadow = %name, error = %e, "promotion refused");
                continue;
            }
        };
        tracing::info!(workload = %workload, shadow = %name, from = %before, to = %after, "shadow promoted: it acts from the next step");
        insight
            .shadows()
            .publish(&workload, shadows.report(&slot.controller));
        let replicas = slot.controller.last_desired();
        let record = DecisionRecord {
            workload: workload.clone(),
            at: now,
            mode: slot.controller.mode(),
            policy: after.clone(),
            replicas_before: replicas,
            replicas_after: replicas,
            pre_guard: None,
            bound_by: None,
            reason: format!(
                "promoted shadow {name:?}: the acting policy goes from {before} to {after} from the next step; the configuration that acted stays as a shadow"
            ),
            reason_json: serde_json::json!({"rule": "promotion", "shadow": name, "from": before, "to": after}),
            forecast: None,
            model: None,
            inputs: prescale_control::Inputs::default(),
            feedback: Vec::new(),
            resources: None,
            actuation: None,
            actions: Default::default(),
        };
        if let Err(e) = save(&mut lock(io).decisions, &record) {
            tracing::warn!(workload = %workload, error = %e, "saving the promotion");
        }
    }
}

/// Shares the workload's model, accuracy, latest forecast and anomaly changes with the API.
fn publish(slot: &mut Slot, insight: &Insight, now: Timestamp) {
    if let Some(s) = &slot.shadows {
        insight
            .shadows()
            .publish(&slot.controller.spec().workload, s.report(&slot.controller));
    }
    let c = &mut slot.controller;
    let changes: Vec<AnomalyChange> = c
        .take_events()
        .into_iter()
        .map(|e| AnomalyChange::new(e, now))
        .collect();
    for ch in &changes {
        tracing::warn!(
            workload = %c.spec().workload,
            change = ch.change,
            score = ch.event.score,
            actual = ch.event.peak_actual,
            expected = ch.event.expected,
            "anomaly on the forecast residuals"
        );
    }
    let spec = c.spec();
    let model = c.model_label().map(str::to_string);
    let forecast = c.last_forecast().map(|(end, f)| {
        let step = c.step_ms();
        ForecastView {
            workload: spec.workload.to_string(),
            metric: spec.metric.to_string(),
            model: model.clone(),
            made_at: now.0,
            step_ms: step,
            ts: (0..f.horizon() as i64)
                .map(|i| end.saturating_add(i.saturating_mul(step)))
                .collect(),
            point: f.point.clone(),
            lower: f.lower.clone(),
            upper: f.upper.clone(),
            level: f.level.percent(),
        }
    });
    if let Some((_, f)) = c.last_forecast().filter(|(_, f)| f.horizon() > 0) {
        // The step the policy plans for: one past the lead (see the controller).
        let i = spec.decision_lead_steps().min(f.horizon()) - 1;
        insight.predict(
            spec.workload.as_str(),
            spec.metric.as_str(),
            Prediction {
                value_at_lead: f.point[i],
                upper: f.upper[i],
                lead: spec.lead,
                fresh_at: now,
            },
        );
    }
    let view = ModelView {
        workload: spec.workload.to_string(),
        model,
        fits: c.fits(),
        stats: c.feedback().model_stats(),
        status: c.feedback().status(),
    };
    insight.update(view, forecast, changes);
}

fn save(store: &mut Store, record: &DecisionRecord) -> Result<i64, String> {
    let record_json = serde_json::to_string(record).map_err(|e| e.to_string())?;
    store
        .save_decision(&DecisionRow {
            workload: record.workload.clone(),
            at: record.at,
            mode: record.mode.to_string(),
            before: record.replicas_before,
            after: record.replicas_after,
            record_json,
        })
        .map_err(|e| e.to_string())
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The desired-replicas samples as exposition text (empty when none).
pub fn exposition(desired: &Desired) -> String {
    let samples: Vec<PromSample> = lock(desired).values().flatten().cloned().collect();
    if samples.is_empty() {
        String::new()
    } else {
        naming::exposition(&samples, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_actuate::{DryRun, RetryConfig};
    use prescale_core::{MetricName, Sample};

    fn slot(name: &str, policy: &str, controls: &Controls) -> Slot {
        let mut spec = prescale_control::WorkloadSpec::new(
            WorkloadId::new(name).unwrap(),
            MetricName::new("rps").unwrap(),
            10.0,
        );
        spec.policy = policy.parse().unwrap();
        spec.max = 50;
        spec.season = Some(std::time::Duration::from_secs(24 * 60));
        make_slot(
            spec,
            None,
            Box::new(DryRun::new(10)),
            &RetryConfig::default(),
            None,
            controls,
        )
        .unwrap()
    }

    #[test]
    fn a_downstream_is_handed_its_upstreams_predicted_rise() {
        let controls = Controls::new(Mode::ForecastOnly);
        let mut slots = vec![
            slot("front", "predictive", &controls),
            slot("api", "hpa", &controls),
        ];
        slots[1].depends_on = vec![WorkloadId::new("front").unwrap()];
        // The upstream: 20 for 16 steps then 80 for 8, every 24 steps; the tick sees step 14 of
        // the 21st period done, two steps before the rise.
        let at = |k: i64, v: f64| Sample {
            ts: Timestamp(k * 60_000 + 30_000),
            value: v,
        };
        let steps = 20 * 24 + 14;
        let up: Vec<Sample> = (0..steps)
            .map(|k| at(k, if k % 24 >= 16 { 80.0 } else { 20.0 }))
            .collect();
        let down: Vec<Sample> = (0..steps).map(|k| at(k, 10.0)).collect();
        let now = Timestamp(steps * 60_000 + 1_000);
        slots[0].controller.tick(&up, now, None);
        let rise = slots[0].controller.predicted_rise().expect("a forecast");
        assert!(rise > 2.0, "{rise}");
        follow_upstreams(&mut slots);
        let r = slots[1].controller.tick(&down, now, None);
        let u = r.actions.upstream.expect("the upstream's rise is followed");
        assert_eq!(u.upstream.as_str(), "front");
        assert_eq!(
            u.replicas,
            (10.0 * rise / 10.0).ceil() as u32,
            "{}",
            r.reason
        );
        assert!(u.own < u.replicas);
        // A workload without upstreams is handed nothing.
        let r = slots[0]
            .controller
            .tick(&up, Timestamp(now.0 + 60_000), None);
        assert!(r.actions.upstream.is_none());
    }
}

//! The control loop: every tick, each workload's window is loaded, its controller decides, `act`
//! mode hands the decision to its actuator, and the explained decision is stored. The mode is read
//! each tick (see [`crate::controls`] for the rule); every actuator sits behind the kill switch and
//! a `Retrying` (back-off and circuit breaker) wrapper: `KillSwitch::guard(Retrying(actuator))`. Workloads run one
//! after another on a blocking thread; one that fails (window, actuator, store) is logged and the
//! others go on, and one whose tick panics is logged and retired while the others keep running.
//! Actuators bound their own calls with timeouts (webhook, exec), so one slow target delays a pass
//! by at most its timeout.

use super::stopped;
use crate::clock;
use crate::config::ControlConfig;
use crate::controls::{effective_mode, Controls};
use crate::error::DaemonError;
use crate::http::lock;
use prescale_actuate::{Actuator, Retrying};
use prescale_control::{actuate, Actuation, Controller, DecisionRecord, Mode};
use prescale_core::{SeriesKey, Timestamp, WorkloadId};
use prescale_remote::naming::{self, PromSample};
use prescale_remote::WindowSource;
use prescale_store::{DecisionRow, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

/// The latest `prescale_desired_replicas` sample per workload, for `/metrics`.
pub type Desired = Arc<Mutex<BTreeMap<WorkloadId, PromSample>>>;

/// One workload's controller and actuator.
pub struct Slot {
    controller: Controller,
    /// The workload's own `mode`; `None` follows the global mode.
    own_mode: Option<Mode>,
    actuator: Box<dyn Actuator>,
    seeded: bool,
    /// Set when a tick panicked: the slot's state can no longer be trusted, so it stops deciding.
    retired: bool,
}

/// Builds a controller and actuator per configured workload; each actuator is wrapped as
/// `controls.kill_switch().guard(Retrying(actuator))`.
pub fn slots(cfg: &ControlConfig, controls: &Controls) -> Result<Vec<Slot>, DaemonError> {
    cfg.workloads
        .iter()
        .map(|w| {
            let workload = w.spec.workload.to_string();
            let actuator = w.actuator.build().map_err(|source| DaemonError::Actuator {
                workload: workload.clone(),
                source,
            })?;
            let (backoff, breaker) =
                w.retry
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
                controller: Controller::new(w.spec.clone())?,
                own_mode: w.own_mode,
                actuator: Box::new(guarded),
                seeded: false,
                retired: false,
            })
        })
        .collect()
}

/// What the loop reads windows from and writes decisions to.
pub struct Io {
    pub windows: Box<dyn WindowSource + Send>,
    pub decisions: Store,
}

/// Runs every `tick` until shutdown.
pub async fn run(
    mut slots: Vec<Slot>,
    tick: Duration,
    io: Io,
    desired: Desired,
    controls: Controls,
    mut shutdown: watch::Receiver<bool>,
) {
    let io = Arc::new(Mutex::new(io));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            _ = ticker.tick() => {}
        }
        let io = io.clone();
        let desired = desired.clone();
        let global = controls.mode();
        let pass = tokio::task::spawn_blocking(move || {
            let now = clock::now();
            let mut io = lock(&io);
            for slot in slots.iter_mut().filter(|s| !s.retired) {
                let ticked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    tick_one(slot, &mut io, &desired, global, now)
                }));
                if ticked.is_err() {
                    slot.retired = true;
                    tracing::error!(
                        workload = %slot.controller.spec().workload,
                        "control tick panicked; this workload stops deciding, the others go on"
                    );
                }
            }
            slots
        })
        .await;
        match pass {
            Ok(s) => slots = s,
            Err(e) => {
                tracing::error!(error = %e, "control pass panicked; control loop stopped");
                break;
            }
        }
    }
}

/// One workload's tick; every failure is logged, none escapes.
fn tick_one(slot: &mut Slot, io: &mut Io, desired: &Desired, global: Mode, now: Timestamp) {
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
    let window = match io.windows.load_window(&key, from, now) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(workload = %key.workload, error = %e, "loading the window; treating as missing");
            Vec::new()
        }
    };
    slot.seeded = slot.seeded || !window.is_empty();
    let current = if mode == Mode::Act {
        match slot.actuator.current(&key.workload) {
            Ok(state) => state.and_then(|s| s.replicas),
            Err(e) => {
                tracing::warn!(workload = %key.workload, error = %e, "reading the current state");
                None
            }
        }
    } else {
        None
    };
    let mut record = slot.controller.tick(&window, now, current);
    record.mode = mode;
    // Forecast-only though the workload's own mode is not: the global mode is why.
    if mode == Mode::ForecastOnly && slot.own_mode != Some(Mode::ForecastOnly) {
        record.actuation = Some(Actuation::Skipped {
            why: "global mode forecast-only".into(),
        });
    } else {
        actuate(&mut record, slot.actuator.as_mut());
    }
    if let Some(after) = record.replicas_after {
        let sample = naming::desired_replicas_sample(&record.workload, &record.policy, after, now);
        lock(desired).insert(record.workload.clone(), sample);
    }
    tracing::debug!(workload = %record.workload, before = ?record.replicas_before, after = ?record.replicas_after, reason = %record.reason, "decision");
    if let Err(e) = save(&mut io.decisions, &record) {
        tracing::warn!(workload = %record.workload, error = %e, "saving the decision");
    }
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
    let samples: Vec<PromSample> = lock(desired).values().cloned().collect();
    if samples.is_empty() {
        String::new()
    } else {
        naming::exposition(&samples, false)
    }
}

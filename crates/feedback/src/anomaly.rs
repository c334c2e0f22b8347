//! Anomalies on forecast residuals: a residual is anomalous when its robust z-score reaches the
//! threshold (and, by default, the actual lies outside the prediction band). Consecutive
//! anomalous steps in the same direction form one event; the first `max_excluded_steps` steps of
//! an event are marked to be kept out of training.

use crate::{AnomalyConfig, Outcome, RobustScale, ScaleConfig};
use prescale_core::{Timestamp, WorkloadId};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Which side of the forecast the actual fell on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Above,
    Below,
}

impl Direction {
    /// The side of a residual `actual − predicted` (0 counts as above).
    pub fn of(residual: f64) -> Direction {
        if residual < 0.0 {
            Direction::Below
        } else {
            Direction::Above
        }
    }
}

/// Whether an event is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    Open,
    Closed,
}

/// A run of consecutive anomalous steps; the expected value, band and score are those of its
/// peak (highest-score) step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyEvent {
    /// Sequence number within the detector, from 1.
    pub id: u64,
    pub workload: Option<WorkloadId>,
    pub started_at: Timestamp,
    pub last_at: Timestamp,
    pub start_step: u64,
    pub last_step: u64,
    /// Anomalous steps so far.
    pub steps: usize,
    pub peak_actual: f64,
    pub expected: f64,
    pub lower: f64,
    pub upper: f64,
    /// |residual| / robust scale at the peak.
    pub score: f64,
    pub direction: Direction,
    pub state: EventState,
}

/// What the detector made of one observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub step: u64,
    pub residual: f64,
    /// |residual| / robust scale; `None` while too few residuals are known.
    pub score: Option<f64>,
    pub outside_band: bool,
    pub anomalous: bool,
    /// Keep this step out of training (an anomalous step within the event's first
    /// `max_excluded_steps`).
    pub exclude: bool,
}

/// An event opening or closing (what alerts are sent on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum EventChange {
    Opened(AnomalyEvent),
    Closed(AnomalyEvent),
}

/// The anomaly detector of one workload.
#[derive(Debug, Clone)]
pub struct AnomalyDetector {
    cfg: AnomalyConfig,
    workload: Option<WorkloadId>,
    scale: RobustScale,
    open: Option<AnomalyEvent>,
    closed: VecDeque<AnomalyEvent>,
    excluded: VecDeque<u64>,
    keep_excluded: usize,
    last_step: Option<u64>,
    next_id: u64,
}

impl AnomalyDetector {
    /// A detector (validate the configs first).
    pub fn new(cfg: &AnomalyConfig, scale: &ScaleConfig) -> AnomalyDetector {
        AnomalyDetector {
            cfg: cfg.clone(),
            workload: None,
            scale: RobustScale::new(scale),
            open: None,
            closed: VecDeque::new(),
            excluded: VecDeque::new(),
            keep_excluded: scale.window.max(cfg.max_excluded_steps).max(1),
            last_step: None,
            next_id: 1,
        }
    }

    /// Names the workload in the events it reports.
    pub fn with_workload(mut self, workload: WorkloadId) -> AnomalyDetector {
        self.workload = Some(workload);
        self
    }

    fn close(&mut self, changes: &mut Vec<EventChange>) {
        if let Some(mut ev) = self.open.take() {
            ev.state = EventState::Closed;
            changes.push(EventChange::Closed(ev.clone()));
            self.closed.push_back(ev);
            while self.closed.len() > self.cfg.keep_events {
                self.closed.pop_front();
            }
        }
    }

    /// Scores one outcome (the lead-horizon prediction for a step, steps in increasing order);
    /// returns the verdict and any event that opened or closed.
    pub fn observe(&mut self, o: &Outcome) -> (Verdict, Vec<EventChange>) {
        let mut changes = Vec::new();
        let step = o.target_step;
        if self.last_step.is_some_and(|l| step != l.saturating_add(1)) {
            self.close(&mut changes);
        }
        self.last_step = Some(step);
        let score = self.scale.scale().map(|s| o.error.abs() / s);
        let outside_band = !o.covered;
        let anomalous = score.is_some_and(|s| s >= self.cfg.threshold)
            && (outside_band || !self.cfg.require_outside_band);
        let mut exclude = false;
        if anomalous {
            let direction = Direction::of(o.error);
            if self.open.as_ref().is_some_and(|e| e.direction != direction) {
                self.close(&mut changes);
            }
            let s = score.unwrap_or(0.0);
            match self.open.as_mut() {
                Some(ev) => {
                    ev.last_at = o.observed_at;
                    ev.last_step = step;
                    ev.steps += 1;
                    if s > ev.score {
                        ev.score = s;
                        ev.peak_actual = o.actual;
                        ev.expected = o.predicted;
                        ev.lower = o.lower;
                        ev.upper = o.upper;
                    }
                    exclude = ev.steps <= self.cfg.max_excluded_steps;
                }
                None => {
                    let ev = AnomalyEvent {
                        id: self.next_id,
                        workload: self.workload.clone(),
                        started_at: o.observed_at,
                        last_at: o.observed_at,
                        start_step: step,
                        last_step: step,
                        steps: 1,
                        peak_actual: o.actual,
                        expected: o.predicted,
                        lower: o.lower,
                        upper: o.upper,
                        score: s,
                        direction,
                        state: EventState::Open,
                    };
                    self.next_id += 1;
                    changes.push(EventChange::Opened(ev.clone()));
                    self.open = Some(ev);
                    exclude = self.cfg.max_excluded_steps >= 1;
                }
            }
        } else {
            self.close(&mut changes);
        }
        if exclude {
            self.excluded.push_back(step);
            while self.excluded.len() > self.keep_excluded {
                self.excluded.pop_front();
            }
        } else {
            self.scale.push(o.error, o.actual);
        }
        let verdict = Verdict {
            step,
            residual: o.error,
            score,
            outside_band,
            anomalous,
            exclude,
        };
        (verdict, changes)
    }

    /// Whether `step` was marked to be kept out of training (remembered for the last
    /// `max(scale.window, max_excluded_steps)` marked steps).
    pub fn is_excluded(&self, step: u64) -> bool {
        self.excluded.contains(&step)
    }

    /// The event going on, if any.
    pub fn open_event(&self) -> Option<&AnomalyEvent> {
        self.open.as_ref()
    }

    /// The last `keep_events` closed events, oldest first, then the open one.
    pub fn events(&self) -> Vec<AnomalyEvent> {
        self.closed
            .iter()
            .chain(self.open.as_ref())
            .cloned()
            .collect()
    }

    /// Events opened so far.
    pub fn event_count(&self) -> u64 {
        self.next_id - 1
    }

    /// The current robust residual scale.
    pub fn scale(&self) -> Option<f64> {
        self.scale.scale()
    }
}

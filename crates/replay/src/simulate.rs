//! The trace-driven simulator: the live control step ([`prescale_control::Controller`]) on a
//! simulated clock.
//!
//! Every policy but the oracle and static ones is a lane of one `Controller` — the live loop's
//! alignment, staleness hold, feedback (anomalous steps kept out of training, drift refits), refit
//! guard and explanations —, ticked once per step at the step's end with that step's demand as its
//! only sample. The oracle (it reads the future) and static (the whole trace's peak) are
//! simulation-only and decide directly.
//!
//! Semantics (fixed, so figures compare with other tools):
//! - capacity per replica `c` = p99(demand) / 10 unless given;
//! - every policy starts with the oracle's count at step 0, all ready;
//! - at each step `t` the policy sees the demand at `t` and the replicas ready at `t`, and sets the
//!   requested count; added replicas become ready at `t + delay`, removals take effect at once
//!   (starting replicas are cancelled first); a controller plans for step `t + max(delay, 1)`
//!   (its decision lead: its lead is `max(delay − 1, 0)` steps);
//! - step `t` is under-provisioned when demand(t) > c × ready(t) after the decision;
//! - cost = Σ requested × step; `actions` = steps where the request changed.

use crate::metrics::Tally;
use crate::{Metrics, ReplayError, ReplicaSet, SimConfig};
use prescale_control::{Controller, Current, Decided, DecisionRecord};
use prescale_core::{Sample, Timestamp};
use prescale_policy::{
    replicas_for, Bounds, BuildContext, Decision, Oracle, Policy, PolicyInput, PolicyKind,
};

/// Per-step record of one policy, for plots.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepTrace {
    /// Requested replicas after each step's decision.
    pub requested: Vec<u32>,
    /// Ready replicas at each step (after the decision).
    pub ready: Vec<u32>,
    /// Whether each step was under-provisioned.
    pub violation: Vec<bool>,
    /// The policy's learned headroom after each step (`None` for policies that learn none).
    pub headroom: Vec<Option<f64>>,
    /// Every decision that changed the request: (step, decision).
    pub changes: Vec<(usize, Decision)>,
}

/// One policy's result on a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRun {
    /// `PolicyKind::label()`, e.g. `predictive` or `hpa@0.50`.
    pub name: String,
    pub metrics: Metrics,
    pub trace: StepTrace,
    /// The controller's explained decision at every step, when `SimConfig::keep_records` is set
    /// (empty for the oracle and static policies, which decide directly).
    pub records: Vec<DecisionRecord>,
}

/// Result of simulating one demand trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    /// Capacity per replica used (given or p99/10).
    pub capacity_per_replica: f64,
    /// Steps simulated.
    pub steps: usize,
    /// Step length in seconds.
    pub step_seconds: f64,
    /// The oracle's request at each step (the lower bound).
    pub oracle_requested: Vec<u32>,
    /// One entry per requested policy, in the order given.
    pub policies: Vec<PolicyRun>,
    /// Forecaster fits performed (0 when no policy wanted forecasts).
    pub fits: usize,
    /// Forecaster fits that failed.
    pub fit_failures: usize,
}

impl SimResult {
    /// The run of the policy labelled `name`.
    pub fn policy(&self, name: &str) -> Option<&PolicyRun> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// Capacity per replica: p99(demand) / 10 unless `given` (peak / 10 when p99 is 0).
pub fn capacity_per_replica(demand: &[f64], given: Option<f64>) -> Result<f64, ReplayError> {
    let c = match given {
        Some(c) => c,
        None => {
            let p99 =
                prescale_math::stats::quantile(demand, 0.99).ok_or(ReplayError::EmptyDemand)?;
            // A mostly idle trace (p99 = 0) falls back to its peak, so rare bursts still scale.
            let peak = demand.iter().copied().fold(0.0, f64::max);
            (if p99 > 0.0 { p99 } else { peak }) / 10.0
        }
    };
    if c > 0.0 && c.is_finite() {
        Ok(c)
    } else {
        Err(ReplayError::BadCapacity(c))
    }
}

/// How a lane decides: directly (oracle, static), or as lane `i` of the controller.
enum Decider {
    Direct {
        policy: Box<dyn Policy>,
        oracle: bool,
    },
    Controlled(usize),
}

struct Lane {
    name: String,
    decider: Decider,
    replicas: ReplicaSet,
    tally: Tally,
    trace: StepTrace,
    records: Vec<DecisionRecord>,
}

/// Simulates every policy in `policies` on `demand` (oldest first, one value per step).
pub fn simulate(
    demand: &[f64],
    policies: &[PolicyKind],
    cfg: &SimConfig,
) -> Result<SimResult, ReplayError> {
    cfg.validate()?;
    if demand.is_empty() {
        return Err(ReplayError::EmptyDemand);
    }
    if policies.is_empty() {
        return Err(ReplayError::NoPolicies);
    }
    if let Some((index, &value)) = demand
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(ReplayError::BadDemand { index, value });
    }
    let c = capacity_per_replica(demand, cfg.capacity_per_replica)?;
    let bounds = Bounds::new(cfg.min, cfg.max)?;
    let lead = cfg.delay_steps;
    let oracle_requested: Vec<u32> = (0..demand.len())
        .map(|t| bounds.clamp(Oracle::need(demand[t], &demand[t + 1..], lead, c)))
        .collect();
    let peak_need = demand
        .iter()
        .map(|&d| replicas_for(d, c))
        .max()
        .unwrap_or(0);
    let ctx = BuildContext {
        bounds,
        step_seconds: cfg.step_seconds,
        peak_need,
    };
    let initial = oracle_requested[0];
    let simulation_only = |k: &PolicyKind| matches!(k, PolicyKind::Oracle | PolicyKind::Static);
    let mut controller: Option<Controller> = None;
    let mut lanes = Vec::with_capacity(policies.len());
    for k in policies {
        let decider = if simulation_only(k) {
            Decider::Direct {
                policy: k.build(&ctx)?,
                oracle: matches!(k, PolicyKind::Oracle),
            }
        } else {
            match controller.as_mut() {
                Some(ctl) => Decider::Controlled(ctl.add_lane(k)?),
                None => {
                    controller = Some(Controller::with_rolling(
                        cfg.workload_spec(c, k)?,
                        cfg.rolling(),
                    )?);
                    Decider::Controlled(0)
                }
            }
        };
        lanes.push(Lane {
            name: k.label(),
            decider,
            replicas: ReplicaSet::new(initial, cfg.delay_steps),
            tally: Tally::default(),
            trace: StepTrace::default(),
            records: Vec::new(),
        });
    }
    let step_ms = cfg.step_ms();
    let mut currents = vec![Current::default(); controller.as_ref().map_or(0, Controller::lanes)];

    for t in 0..demand.len() {
        for lane in &mut lanes {
            lane.replicas.advance_to(t);
        }
        let decided: Vec<Decided> = match controller.as_mut() {
            Some(ctl) => {
                for lane in &lanes {
                    if let Decider::Controlled(i) = lane.decider {
                        currents[i] = Current {
                            replicas: Some(lane.replicas.requested()),
                            ready: Some(lane.replicas.ready()),
                            ..Current::default()
                        };
                    }
                }
                let start = step_start(t, step_ms);
                let sample = [Sample {
                    ts: Timestamp(start),
                    value: demand[t],
                }];
                let now = Timestamp(start.saturating_add(step_ms));
                ctl.tick_lanes(&sample, &[], now, &currents)
            }
            None => Vec::new(),
        };
        let history = &demand[..=t];
        for lane in &mut lanes {
            let from = lane.replicas.requested();
            let (to, decision) = match &mut lane.decider {
                Decider::Direct { policy, oracle } => {
                    let input = PolicyInput {
                        step: t,
                        step_seconds: cfg.step_seconds,
                        demand: demand[t],
                        history,
                        ready: lane.replicas.ready(),
                        requested: from,
                        capacity_per_replica: c,
                        lead_steps: lead,
                        forecast: None,
                        lookahead: oracle.then(|| &demand[t + 1..]),
                    };
                    let d = policy.decide(&input);
                    (d.replicas(), Some(d))
                }
                Decider::Controlled(i) => {
                    let d = &decided[*i];
                    if cfg.keep_records {
                        lane.records.push(d.record.clone());
                    }
                    (d.record.replicas_after.unwrap_or(from), d.decision.clone())
                }
            };
            lane.replicas.request(t, to);
            let ready = lane.replicas.ready();
            let served = c * f64::from(ready);
            lane.tally.add(demand[t], served, from, to);
            lane.trace.requested.push(to);
            lane.trace.ready.push(ready);
            lane.trace.violation.push(demand[t] > served);
            lane.trace.headroom.push(match &lane.decider {
                Decider::Direct { policy, .. } => policy.learned_headroom(),
                Decider::Controlled(i) => controller.as_ref().and_then(|c| c.learned_headroom(*i)),
            });
            if let Some(d) = decision.filter(|_| to != from) {
                lane.trace.changes.push((t, d));
            }
        }
    }

    let oracle_cost =
        oracle_requested.iter().map(|&r| f64::from(r)).sum::<f64>() * cfg.step_seconds / 3600.0;
    let (fits, fit_failures) = controller
        .as_ref()
        .map_or((0, 0), |c| (c.fits(), c.fit_failures()));
    let policies = lanes
        .into_iter()
        .map(|l| PolicyRun {
            name: l.name,
            metrics: l
                .tally
                .finish(cfg.step_seconds, cfg.price, Some(oracle_cost)),
            trace: l.trace,
            records: l.records,
        })
        .collect();
    Ok(SimResult {
        capacity_per_replica: c,
        steps: demand.len(),
        step_seconds: cfg.step_seconds,
        oracle_requested,
        policies,
        fits,
        fit_failures,
    })
}

/// The start (Unix ms) of step `t` of a trace: steps start at the epoch.
fn step_start(t: usize, step_ms: i64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX).saturating_mul(step_ms)
}

//! The trace-driven simulator: the live control step ([`prescale_control::Controller`]) on a
//! simulated clock.
//!
//! Every policy but the oracle and static ones is a lane of one `Controller` — the live loop's
//! alignment, staleness hold, feedback (anomalous steps noted, drift refits), refit
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
//! - cost = Σ requested × step; `actions` = steps where the request changed;
//! - with purchase options ([`SimConfig::purchase`]) each step's request is bought as
//!   [`prescale_policy::PurchasePlanner`] mixes it, fed the replicas the lane's forecast lower band
//!   needs (its demand when it has no forecast), and spot interruptions leave replicas missing
//!   (see [`crate::purchase`]): step `t` is then under-provisioned when demand(t) > c × (ready(t) −
//!   missing(t)).

use crate::purchase::{LanePurchase, PurchaseRun};
use crate::{Metrics, ReplayError, ReplicaSet, SimConfig};
use prescale_control::{Controller, Current, Decided, DecisionRecord, Tally, WorkloadSpec};
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
    /// Dollars and interruptions, when the replay bought with purchase options.
    pub purchase: Option<PurchaseRun>,
}

/// Result of simulating one demand trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    /// When step 0 starts (Unix ms; 0 for a trace without times).
    pub start: Timestamp,
    /// Capacity per replica used (given or p99/10).
    pub capacity_per_replica: f64,
    /// Steps simulated.
    pub steps: usize,
    /// The demand of every step replayed.
    pub demand: Vec<f64>,
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
    purchase: Option<LanePurchase>,
}

/// Simulates every policy in `policies` on `demand` (oldest first, one value per step).
pub fn simulate(
    demand: &[f64],
    policies: &[PolicyKind],
    cfg: &SimConfig,
) -> Result<SimResult, ReplayError> {
    cfg.validate()?;
    check_demand(demand, policies)?;
    let c = capacity_per_replica(demand, cfg.capacity_per_replica)?;
    let step_ms = cfg.step_ms();
    let samples: Vec<Sample> = demand
        .iter()
        .enumerate()
        .map(|(t, &value)| Sample {
            ts: Timestamp(step_start(t, step_ms)),
            value,
        })
        .collect();
    let controller = match policies.iter().find(|k| !simulation_only(k)) {
        Some(k) => Some(Controller::with_rolling(
            cfg.workload_spec(c, k)?,
            cfg.rolling(),
        )?),
        None => None,
    };
    let feed = Feed {
        samples: &samples,
        first: 0,
        step_ms,
        span_ms: step_ms,
    };
    drive(demand, &feed, controller, policies, cfg, c)
}

/// Replays a workload's recorded samples (any spacing, oldest first) through the live controller
/// of `spec` — its policy acting, `extra` policies beside it on the same forecasts — ticking at the
/// end of every step from the step holding `from` (default: the first sample) to the last step
/// complete by `to` (default: the last sample's step end). Each tick sees the window the live loop
/// loads (the steps its staleness rule looks back over), so gaps hold as live; the figures use the
/// steps' mean demand, gaps filled linearly.
pub fn replay_history(
    samples: &[Sample],
    spec: WorkloadSpec,
    extra: &[PolicyKind],
    range: (Option<Timestamp>, Option<Timestamp>),
    keep_records: bool,
) -> Result<SimResult, ReplayError> {
    replay_history_priced(samples, spec, extra, range, keep_records, None)
}

/// [`replay_history`], each lane's replicas bought with `purchase` when given (a committed base
/// from the controller's forecast low band, spot where the settings allow it, on-demand for the
/// rest; spot interruptions drawn and counted as under-provisioned): each [`PolicyRun`] then
/// carries `dollars` and `dollars_on_demand`.
pub fn replay_history_priced(
    samples: &[Sample],
    spec: WorkloadSpec,
    extra: &[PolicyKind],
    range: (Option<Timestamp>, Option<Timestamp>),
    keep_records: bool,
    purchase: Option<crate::PurchaseSim>,
) -> Result<SimResult, ReplayError> {
    spec.validate()?;
    let mut cfg = SimConfig::for_spec(&spec, keep_records);
    if let Some(p) = &purchase {
        p.validate()?;
    }
    cfg.purchase = purchase;
    let step_ms = cfg.step_ms();
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Err(ReplayError::EmptyDemand);
    };
    if samples.windows(2).any(|w| w[1].ts < w[0].ts) {
        return Err(ReplayError::InvalidConfig {
            field: "samples",
            value: format!("{} samples", samples.len()),
            reason: "must be in time order",
        });
    }
    let from = range.0.unwrap_or(first.ts).0.max(first.ts.0);
    let first_step = from.div_euclid(step_ms) * step_ms;
    let to = range.1.map_or(last.ts.0.saturating_add(step_ms), |t| t.0);
    let steps = usize::try_from(to.saturating_sub(first_step) / step_ms).unwrap_or(0);
    if steps == 0 {
        return Err(ReplayError::EmptyDemand);
    }
    let key = prescale_core::SeriesKey::new(spec.workload.clone(), spec.metric.clone());
    let lo = samples.partition_point(|s| s.ts.0 < first_step);
    let end = first_step.saturating_add(step_ms.saturating_mul(steps as i64));
    let hi = samples.partition_point(|s| s.ts.0 < end);
    let means = prescale_control::complete_steps(&key, &samples[lo..hi], step_ms, Timestamp(end));
    let demand = fill_steps(&means, first_step, step_ms, steps).ok_or(ReplayError::EmptyDemand)?;
    let mut policies = vec![spec.policy_kind()?];
    policies.extend(extra.iter().cloned());
    check_demand(&demand, &policies)?;
    let c = spec.capacity_per_replica;
    let span_ms = (step_ms.saturating_mul(4)).max(
        i64::try_from(spec.stale_after.as_millis())
            .unwrap_or(i64::MAX)
            .saturating_add(step_ms),
    );
    let feed = Feed {
        samples,
        first: first_step,
        step_ms,
        span_ms,
    };
    let controller = Controller::new(spec)?;
    drive(&demand, &feed, Some(controller), &policies, &cfg, c)
}

/// The demand of every step from `first` (start ms): the steps' means, steps without samples
/// filled linearly between their neighbours (held flat before the first and after the last).
fn fill_steps(means: &[(i64, f64)], first: i64, step_ms: i64, steps: usize) -> Option<Vec<f64>> {
    let at = |start: i64| usize::try_from((start - first) / step_ms).ok();
    let known: Vec<(usize, f64)> = means
        .iter()
        .filter_map(|&(s, v)| at(s).filter(|&i| i < steps).map(|i| (i, v)))
        .collect();
    let (&(i0, v0), &(il, vl)) = (known.first()?, known.last()?);
    let mut out = vec![v0; steps];
    for w in known.windows(2) {
        let ((a, va), (b, vb)) = (w[0], w[1]);
        for (k, slot) in out.iter_mut().enumerate().take(b).skip(a) {
            *slot = va + (vb - va) * (k - a) as f64 / (b - a) as f64;
        }
    }
    out[..i0].fill(v0);
    out[il..].fill(vl);
    Some(out)
}

fn simulation_only(k: &PolicyKind) -> bool {
    matches!(k, PolicyKind::Oracle | PolicyKind::Static)
}

fn check_demand(demand: &[f64], policies: &[PolicyKind]) -> Result<(), ReplayError> {
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
    Ok(())
}

/// What the controller is fed: sorted samples, the start (ms) of step 0, and how far back each
/// tick's window reaches.
struct Feed<'a> {
    samples: &'a [Sample],
    first: i64,
    step_ms: i64,
    span_ms: i64,
}

impl Feed<'_> {
    /// The tick at the end of step `t`: its time and the samples in `[now − span, now)`.
    fn tick(&self, t: usize) -> (Timestamp, &[Sample]) {
        let now = self
            .first
            .saturating_add(step_start(t, self.step_ms))
            .saturating_add(self.step_ms);
        let from = now.saturating_sub(self.span_ms);
        let lo = self.samples.partition_point(|s| s.ts.0 < from);
        let hi = self.samples.partition_point(|s| s.ts.0 < now);
        (Timestamp(now), &self.samples[lo..hi.max(lo)])
    }
}

/// Runs every policy over the steps of `demand`: simulation-only ones directly, the others as
/// lanes of `controller` (its lane 0 is the first of them), fed by `feed`.
fn drive(
    demand: &[f64],
    feed: &Feed<'_>,
    mut controller: Option<Controller>,
    policies: &[PolicyKind],
    cfg: &SimConfig,
    c: f64,
) -> Result<SimResult, ReplayError> {
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
    let mut lanes = Vec::with_capacity(policies.len());
    let mut acting_taken = false;
    for k in policies {
        let decider = if simulation_only(k) {
            Decider::Direct {
                policy: k.build(&ctx)?,
                oracle: matches!(k, PolicyKind::Oracle),
            }
        } else {
            let ctl = controller.as_mut().ok_or(ReplayError::NoPolicies)?;
            if acting_taken {
                Decider::Controlled(ctl.add_lane(k)?)
            } else {
                acting_taken = true;
                Decider::Controlled(0)
            }
        };
        let name = k.label();
        let purchase = match &cfg.purchase {
            Some(p) => Some(LanePurchase::new(p, &name, k, cfg)?),
            None => None,
        };
        lanes.push(Lane {
            name,
            purchase,
            decider,
            replicas: ReplicaSet::new(initial, cfg.delay_steps),
            tally: Tally::default(),
            trace: StepTrace::default(),
            records: Vec::new(),
        });
    }
    let mut currents = vec![Current::default(); controller.as_ref().map_or(0, Controller::lanes)];

    for t in 0..demand.len() {
        let mut missing = Vec::with_capacity(lanes.len());
        for lane in &mut lanes {
            lane.replicas.advance_to(t);
            missing.push(lane.purchase.as_mut().map_or(0, |p| p.missing(t)));
        }
        let decided: Vec<Decided> = match controller.as_mut() {
            Some(ctl) => {
                for (lane, &gone) in lanes.iter().zip(&missing) {
                    if let Decider::Controlled(i) = lane.decider {
                        currents[i] = Current {
                            replicas: Some(lane.replicas.requested()),
                            ready: Some(lane.replicas.ready().saturating_sub(gone)),
                            ..Current::default()
                        };
                    }
                }
                let (now, window) = feed.tick(t);
                ctl.tick_lanes(window, &[], now, &currents)
            }
            None => Vec::new(),
        };
        let history = &demand[..=t];
        for lane in &mut lanes {
            let from = lane.replicas.requested();
            let mut low_band = None;
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
                    low_band = d.record.forecast.as_ref().map(|f| replicas_for(f.lower, c));
                    (d.record.replicas_after.unwrap_or(from), d.decision.clone())
                }
            };
            lane.replicas.request(t, to);
            let ready = lane.replicas.ready();
            let gone = match lane.purchase.as_mut() {
                Some(p) => {
                    let need = low_band.unwrap_or_else(|| replicas_for(demand[t], c));
                    p.step(t, to, ready, need)
                }
                None => 0,
            };
            let ready = ready.saturating_sub(gone);
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
            purchase: l.purchase.map(LanePurchase::finish),
        })
        .collect();
    Ok(SimResult {
        start: Timestamp(feed.first),
        capacity_per_replica: c,
        steps: demand.len(),
        demand: demand.to_vec(),
        step_seconds: cfg.step_seconds,
        oracle_requested,
        policies,
        fits,
        fit_failures,
    })
}

/// The start (Unix ms) of step `t` of a trace whose step 0 starts at 0.
fn step_start(t: usize, step_ms: i64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX).saturating_mul(step_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_between_step_means_are_filled_linearly_and_held_at_the_ends() {
        let means = [(2000, 4.0), (5000, 10.0)];
        assert_eq!(
            fill_steps(&means, 1000, 1000, 7),
            Some(vec![4.0, 4.0, 6.0, 8.0, 10.0, 10.0, 10.0])
        );
        assert_eq!(fill_steps(&[], 0, 1000, 3), None);
    }
}

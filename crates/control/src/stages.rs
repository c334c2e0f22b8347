//! Gradual scaling: a replica change larger than `max_step` goes in stages, at most `max_step`
//! replicas each, one stage per decision once `interval` has passed since the last; between stages
//! a health gate (a series of the workload's, e.g. p99 latency or error rate, and its ceiling)
//! decides to go on, pause or roll back.
//!
//! - Healthy (the newest gate reading, fresher than the spec's `stale_after`, is at or under its
//!   ceiling): the next stage.
//! - Unhealthy: pause at the current stage; after `pause_limit` unhealthy checks in a row the
//!   change is rolled back to the count before it began, which is then held until the gate is
//!   healthy again. A scale-up that began with the gate already unhealthy goes on (capacity is the
//!   remedy; its stages did not cause it).
//! - No fresh reading: pause, not counted towards a rollback.
//!
//! A new target in the same direction re-aims the ramp; one in the other direction (or the count
//! now running, as a policy with a tolerance band may answer near the target) ends it and is
//! judged afresh. Every staged decision records its stage ([`StageRecord`]).

use prescale_core::MetricName;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The gate: `metric` must stay at or under `max`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthGate {
    pub metric: MetricName,
    pub max: f64,
}

/// How large changes are staged (`[workload.stages]`).
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpec {
    /// Most replicas added or removed per stage.
    pub max_step: u32,
    /// Least time between stages.
    pub interval: Duration,
    pub gate: HealthGate,
    /// Unhealthy checks in a row that roll the change back (default 2).
    pub pause_limit: u32,
}

impl StageSpec {
    /// The first invalid field, with why.
    pub fn problem(&self) -> Option<(&'static str, String, &'static str)> {
        if self.max_step == 0 {
            return Some(("stages.max_step", "0".into(), "must be at least 1"));
        }
        if !(self.gate.max.is_finite()) {
            return Some((
                "stages.gate.max",
                self.gate.max.to_string(),
                "must be finite",
            ));
        }
        if self.pause_limit == 0 {
            return Some(("stages.pause_limit", "0".into(), "must be at least 1"));
        }
        None
    }
}

/// What the gate said between two stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStep {
    /// The first stage of a change.
    Begin,
    /// The gate was healthy: the next stage.
    GoOn,
    /// Inside the stage interval: held.
    Wait,
    /// The gate was unhealthy or unread: held at this stage.
    Pause,
    /// Unhealthy `pause_limit` times: back to the count before the change.
    RollBack,
    /// Rolled back earlier, the gate still unhealthy: the count before the change is held.
    HeldBack,
    /// The last stage reached the target.
    Done,
}

/// One staged decision, as recorded with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// Replicas before the change began, and its target.
    pub from: u32,
    pub target: u32,
    /// This stage (1-based) of `stages`.
    pub stage: u32,
    pub stages: u32,
    pub step: StageStep,
    /// Replicas this decision asks for.
    pub replicas: u32,
    /// The gate's reading, when there was a fresh one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<f64>,
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Ramp {
    from: u32,
    target: u32,
    stage: u32,
    last_at: i64,
    unhealthy: u32,
    bad_at_start: bool,
}

/// The staging state of one workload.
#[derive(Debug, Clone)]
pub(crate) struct Stager {
    spec: StageSpec,
    ramp: Option<Ramp>,
    /// Rolled back to this count; held while the gate is unhealthy.
    held_back: Option<u32>,
}

fn stages(spec: &StageSpec, from: u32, target: u32) -> u32 {
    from.abs_diff(target).div_ceil(spec.max_step).max(1)
}

/// One stage from `at` towards `target`.
fn toward(spec: &StageSpec, at: u32, target: u32) -> u32 {
    if target > at {
        at.saturating_add(spec.max_step).min(target)
    } else {
        at.saturating_sub(spec.max_step).max(target)
    }
}

impl Stager {
    pub fn new(spec: StageSpec) -> Self {
        Stager {
            spec,
            ramp: None,
            held_back: None,
        }
    }

    pub fn gate_metric(&self) -> &MetricName {
        &self.spec.gate.metric
    }

    /// The replicas to ask for at `now_ms`, running `current`, when the policy wants `want`;
    /// `gate` is the fresh gate reading, if any. `None`: no staging applies (the policy's count
    /// stands).
    pub fn stage(
        &mut self,
        now_ms: i64,
        current: u32,
        want: u32,
        gate: Option<f64>,
    ) -> Option<StageRecord> {
        let healthy = gate.map(|g| g <= self.spec.gate.max);
        let gate_text = match gate {
            Some(g) => format!(
                "{} = {g:.4} (ceiling {})",
                self.spec.gate.metric, self.spec.gate.max
            ),
            None => format!("no fresh {} reading", self.spec.gate.metric),
        };
        if let Some(back) = self.held_back {
            if healthy == Some(true) {
                self.held_back = None;
            } else if want != back {
                return Some(StageRecord {
                    from: back,
                    target: want,
                    stage: 0,
                    stages: 0,
                    step: StageStep::HeldBack,
                    replicas: back,
                    gate,
                    reason: format!(
                        "rolled back to {back} earlier; held there until the gate is healthy: \
                         {gate_text}"
                    ),
                });
            }
        }
        // A target on the other side of the current count ends the ramp.
        if let Some(r) = &self.ramp {
            let up = r.target > r.from;
            if (up && want <= current) || (!up && want >= current) {
                self.ramp = None;
            }
        }
        let Some(r) = self.ramp.as_mut() else {
            if current.abs_diff(want) <= self.spec.max_step {
                return None;
            }
            let replicas = toward(&self.spec, current, want);
            let n = stages(&self.spec, current, want);
            self.ramp = Some(Ramp {
                from: current,
                target: want,
                stage: 1,
                last_at: now_ms,
                unhealthy: 0,
                bad_at_start: healthy == Some(false),
            });
            return Some(StageRecord {
                from: current,
                target: want,
                stage: 1,
                stages: n,
                step: StageStep::Begin,
                replicas,
                gate,
                reason: format!(
                    "{current} → {want} is more than {} replicas: stage 1 of {n}, {replicas} \
                     replicas",
                    self.spec.max_step
                ),
            });
        };
        r.target = want;
        let n = r.stage + current.abs_diff(want).div_ceil(self.spec.max_step);
        let record = |r: &Ramp, step: StageStep, replicas: u32, reason: String| StageRecord {
            from: r.from,
            target: r.target,
            stage: r.stage,
            stages: n,
            step,
            replicas,
            gate,
            reason,
        };
        let interval = i64::try_from(self.spec.interval.as_millis()).unwrap_or(i64::MAX);
        if now_ms.saturating_sub(r.last_at) < interval {
            let out = record(
                r,
                StageStep::Wait,
                current,
                format!(
                    "stage {} of {n}: waiting out the {} s stage interval",
                    r.stage,
                    self.spec.interval.as_secs()
                ),
            );
            return Some(out);
        }
        let up = r.target > r.from;
        let go_on = healthy == Some(true) || (up && r.bad_at_start && healthy == Some(false));
        if go_on {
            let replicas = toward(&self.spec, current, r.target);
            r.stage += 1;
            r.last_at = now_ms;
            r.unhealthy = 0;
            let step = if replicas == r.target {
                StageStep::Done
            } else {
                StageStep::GoOn
            };
            let out = record(
                r,
                step,
                replicas,
                format!(
                    "gate healthy ({gate_text}): stage {} of {n}, {replicas} replicas{}",
                    r.stage,
                    if step == StageStep::Done {
                        ", the target"
                    } else {
                        ""
                    }
                ),
            );
            if step == StageStep::Done {
                self.ramp = None;
            }
            return Some(out);
        }
        if healthy.is_none() {
            return Some(record(
                r,
                StageStep::Pause,
                current,
                format!("paused at stage {} of {n}: {gate_text}", r.stage),
            ));
        }
        r.unhealthy += 1;
        if r.unhealthy >= self.spec.pause_limit {
            let from = r.from;
            let out = record(
                r,
                StageStep::RollBack,
                from,
                format!(
                    "gate unhealthy {} times in a row ({gate_text}): rolled back to {from}",
                    r.unhealthy
                ),
            );
            self.ramp = None;
            self.held_back = Some(from);
            return Some(out);
        }
        Some(record(
            r,
            StageStep::Pause,
            current,
            format!(
                "gate unhealthy ({gate_text}): paused at stage {} of {n} ({} of {} before a \
                 rollback)",
                r.stage, r.unhealthy, self.spec.pause_limit
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stager() -> Stager {
        Stager::new(StageSpec {
            max_step: 2,
            interval: Duration::from_secs(60),
            gate: HealthGate {
                metric: MetricName::new("latency_p99").unwrap(),
                max: 0.3,
            },
            pause_limit: 2,
        })
    }

    /// Drives decisions a minute apart from `current`, wanting `want`, with gate readings `gates`.
    fn run(s: &mut Stager, mut current: u32, want: u32, gates: &[Option<f64>]) -> Vec<StageRecord> {
        let mut out = Vec::new();
        for (i, g) in gates.iter().enumerate() {
            if let Some(r) = s.stage(i as i64 * 60_000, current, want, *g) {
                current = r.replicas;
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn a_healthy_ramp_completes_in_stages() {
        let mut s = stager();
        let r = run(&mut s, 2, 10, &[Some(0.1); 6]);
        let path: Vec<(u32, StageStep)> = r.iter().map(|r| (r.replicas, r.step)).collect();
        assert_eq!(
            path,
            vec![
                (4, StageStep::Begin),
                (6, StageStep::GoOn),
                (8, StageStep::GoOn),
                (10, StageStep::Done)
            ]
        );
        assert_eq!(r[3].stage, 4);
        assert_eq!(r[3].stages, 4);
        // Small changes are not staged.
        assert_eq!(s.stage(600_000, 10, 12, Some(0.1)), None);
    }

    #[test]
    fn an_unhealthy_gate_pauses_then_rolls_back_and_holds() {
        let mut s = stager();
        let r = run(
            &mut s,
            10,
            2,
            &[Some(0.1), Some(0.5), Some(0.6), Some(0.6), Some(0.2)],
        );
        let path: Vec<(u32, StageStep)> = r.iter().map(|r| (r.replicas, r.step)).collect();
        assert_eq!(
            path,
            vec![
                (8, StageStep::Begin),
                (8, StageStep::Pause),
                (10, StageStep::RollBack),
                (10, StageStep::HeldBack),
                (8, StageStep::Begin),
            ]
        );
        assert!(r[2].reason.contains("rolled back to 10"), "{}", r[2].reason);
        // No reading: paused, never rolled back.
        let mut s = stager();
        let r = run(&mut s, 10, 2, &[Some(0.1), None, None, None]);
        assert!(r[1..]
            .iter()
            .all(|r| r.step == StageStep::Pause && r.replicas == 8));
    }

    #[test]
    fn a_scale_up_begun_unhealthy_goes_on_and_a_reversal_ends_the_ramp() {
        let mut s = stager();
        let r = run(&mut s, 2, 8, &[Some(0.9), Some(0.9), Some(0.9)]);
        let got: Vec<u32> = r.iter().map(|r| r.replicas).collect();
        assert_eq!(got, vec![4, 6, 8]);
        let mut s = stager();
        s.stage(0, 2, 10, Some(0.1));
        // The policy now wants fewer than running: the ramp ends, a small change passes.
        assert_eq!(s.stage(60_000, 4, 3, Some(0.1)), None);
        let spec = StageSpec {
            max_step: 0,
            ..stager().spec
        };
        assert_eq!(spec.problem().unwrap().0, "stages.max_step");
    }
}

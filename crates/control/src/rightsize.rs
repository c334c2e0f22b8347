//! Per-replica CPU and memory requests sized ahead of demand, decided with each replica decision.
//!
//! For each sized resource the workload's total use per step is fitted as
//! `base + per_unit × demand` (non-negative least squares over the last `fit_steps` steps that have
//! both, [`prescale_math::nonneg_line_fit`]); the request for the step at the lead time is
//! `max(base + per_unit × demand upper bound + p90 of the fit's residuals, use in the last step)`
//! split over the replicas decided, times `1 + headroom`. With fewer than [`MIN_FIT_STEPS`] steps
//! the recent peak of use stands in for the model. Guards, in order: per-replica bounds, scale-down
//! stabilization (the highest recommendation over the window is kept, as the HPA does with
//! replicas) and the change tolerance (a request within `tolerance` of the current one is left).
//! Stale or missing use holds the request and never lowers it.
//!
//! Memory: with a fresh heap estimate of the workload's runtime (Go, JVM) the request comes from
//! the live heap after GC by the runtime's rule instead of the RSS model, and an OOM kill raises it
//! at once (see [`crate::heap`]).

use crate::align::complete_steps;
use crate::heap::{self, HeapReading, OomBump, OomPending, OomWatch};
use crate::record::{InstanceChoice, ResourceChoice, ResourceDecision, UsageModel};
use crate::resources::{ResourceKind, ResourceSpec, ResourceTarget, MIB};
use prescale_actuate::Resources;
use prescale_core::{Sample, SeriesKey, Timestamp, WorkloadId};
use prescale_policy::instances::{CapacitySource, TypeSpeed};
use std::collections::VecDeque;
use std::time::Duration;

/// Steps with both use and demand needed before the linear use model replaces the recent peak.
pub const MIN_FIT_STEPS: usize = 8;

/// The sizing state of one resource.
struct Track {
    kind: ResourceKind,
    target: ResourceTarget,
    key: SeriesKey,
    /// Total use per step, in cores or bytes.
    usage: Steps,
    last_sample_at: Option<Timestamp>,
    /// Recommendations (decision time ms, per-replica request after bounds) inside the
    /// stabilization window, oldest first.
    recent: VecDeque<(i64, f64)>,
    /// What the last decision asked for, and what was known before it (restored when the
    /// decision was not applied).
    last_set: Option<f64>,
    before_last: Option<f64>,
}

/// The CPU and memory sizing of one workload.
pub struct Rightsizer {
    spec: ResourceSpec,
    tracks: Vec<Track>,
    /// Demand per step, as the replica policy saw it.
    demand: Steps,
    /// The instance type the last decision asked for, and what was known before it.
    instance: Option<String>,
    instance_before: Option<String>,
    /// The newest heap estimate of the workload's runtime.
    heap: Option<HeapReading>,
    /// OOM kills from the agent's counter and pod status; the kills the last decision answered
    /// and when the raise before it was decided (restored when it was not applied).
    oom: OomWatch,
    oom_answered: Option<(OomPending, Option<Timestamp>)>,
    /// Learned work per core of instance types over where the workload runs now (checked).
    speeds: Vec<TypeSpeed>,
}

/// What one sizing decision is given.
pub struct SizingInput<'a> {
    pub now: Timestamp,
    pub stale_after: Duration,
    /// The demand the replicas are sized for at the lead time: the forecast's upper bound, else
    /// the last step's demand.
    pub demand_at_lead: f64,
    /// Replicas the decision asks for.
    pub replicas: u32,
    /// Per-replica requests the actuator reports (else the last decision's are assumed).
    pub current: Option<&'a Resources>,
    /// The instance type the actuator reports (else the last decision's is assumed).
    pub current_instance: Option<&'a str>,
    /// Replicas running before the decision (`None`: taken as `replicas`).
    pub replicas_before: Option<u32>,
}

impl Rightsizer {
    /// Sizing for `workload` under a validated `spec`.
    pub fn new(workload: &WorkloadId, spec: ResourceSpec) -> Self {
        let keep = spec.fit_steps;
        let tracks = spec
            .targets()
            .map(|(kind, target)| Track {
                kind,
                target: target.clone(),
                key: SeriesKey::new(workload.clone(), target.metric.clone()),
                usage: Steps::new(keep),
                last_sample_at: None,
                recent: VecDeque::new(),
                last_set: None,
                before_last: None,
            })
            .collect();
        Rightsizer {
            spec,
            tracks,
            demand: Steps::new(keep),
            instance: None,
            instance_before: None,
            heap: None,
            oom: OomWatch::default(),
            oom_answered: None,
            speeds: Vec::new(),
        }
    }

    /// Takes a checked heap estimate of the workload's runtime, read at `at`.
    pub(crate) fn observe_heap(
        &mut self,
        at: Timestamp,
        estimate: prescale_ingest::gc::HeapEstimate,
    ) {
        self.heap = Some(HeapReading { at, estimate });
    }

    /// Takes checked speeds of instance types (see [`crate::Controller::set_instance_speeds`]).
    pub(crate) fn set_speeds(&mut self, speeds: Vec<TypeSpeed>) {
        self.speeds = speeds;
    }

    /// Takes a reading of the agent's cumulative OOM kill counter (checked finite, non-negative).
    pub(crate) fn observe_oom_total(&mut self, total: f64) {
        self.oom.observe(total);
    }

    /// Takes an OOM kill seen in pod status (see [`OomWatch::observe_pod_kill`]); whether it is
    /// new.
    pub(crate) fn observe_pod_oom_kill(&mut self, finished_at: Option<Timestamp>) -> bool {
        self.oom.observe_pod_kill(finished_at)
    }

    /// Whether OOM kills wait for a memory raise.
    pub(crate) fn oom_pending(&self) -> bool {
        self.oom.pending().is_some() && self.tracks.iter().any(|t| t.kind == ResourceKind::Memory)
    }

    /// The use series to load each tick, per resource.
    pub fn keys(&self) -> impl Iterator<Item = (ResourceKind, &SeriesKey)> {
        self.tracks.iter().map(|t| (t.kind, &t.key))
    }

    /// Takes the complete steps of a resource's raw use window (any order, raw metric units).
    pub fn observe_usage(
        &mut self,
        kind: ResourceKind,
        window: &[Sample],
        now: Timestamp,
        step_ms: i64,
    ) {
        let Some(t) = self.tracks.iter_mut().find(|t| t.kind == kind) else {
            return;
        };
        let newest = window
            .iter()
            .filter(|s| s.value.is_finite())
            .map(|s| s.ts)
            .max();
        t.last_sample_at = t.last_sample_at.max(newest);
        for (start, v) in complete_steps(&t.key, window, step_ms, now) {
            t.usage.push(start, v * t.target.scale);
        }
    }

    /// Records the demand of a complete step (start ms).
    pub fn observe_demand(&mut self, start: i64, demand: f64) {
        if demand.is_finite() {
            self.demand.push(start, demand);
        }
    }

    /// Sizes every resource for the decision described by `input`.
    pub fn decide(&mut self, input: &SizingInput<'_>) -> ResourceDecision {
        let mut out = ResourceDecision::default();
        let memory = Memory {
            heap: self.heap.as_ref().filter(|h| {
                input.now.0.saturating_sub(h.at.0) as f64 / 1000.0
                    <= input.stale_after.as_secs_f64()
            }),
            oom: self.oom.pending(),
        };
        let mut answered = None;
        for t in &mut self.tracks {
            let mem = (t.kind == ResourceKind::Memory).then_some(&memory);
            let choice = size(t, &self.spec, &self.demand, input, mem);
            if choice.oom.is_some() {
                answered = memory.oom;
            }
            match t.kind {
                ResourceKind::Cpu => out.cpu = Some(choice),
                ResourceKind::Memory => out.memory = Some(choice),
            }
        }
        self.oom_answered = answered.map(|p| (p, self.oom.answered(input.now)));
        out.instance = self.choose_instance(&out, input);
        out
    }

    /// The cheapest catalogue type one replica's requests fit, when a catalogue is configured.
    fn choose_instance(
        &mut self,
        d: &ResourceDecision,
        input: &SizingInput<'_>,
    ) -> Option<InstanceChoice> {
        let cat = self.spec.instance_types.as_ref()?;
        let before = input
            .current_instance
            .map(str::to_string)
            .or_else(|| self.instance.clone());
        self.instance_before = before.clone();
        let cpu = d.cpu.as_ref().and_then(|c| c.after);
        let memory = d.memory.as_ref().and_then(|m| m.after);
        let mut choice = InstanceChoice {
            before: before.clone(),
            after: before,
            vcpu: None,
            memory_gib: None,
            hourly_price: None,
            hourly_cost: None,
            speed: None,
            capacity: None,
            reason: String::new(),
        };
        let (Some(cpu), Some(memory)) = (cpu, memory) else {
            choice.reason = "hold: CPU and memory requests are not both known yet".into();
            self.instance = choice.after.clone();
            return Some(choice);
        };
        let mib = memory / MIB;
        match cat.cheapest_fit_by_speed(cpu, memory, &self.speeds) {
            Some((t, speed)) => {
                let replicas = f64::from(input.replicas.max(1));
                choice.after = Some(t.name.clone());
                choice.vcpu = Some(t.vcpu);
                choice.memory_gib = Some(t.memory_gib);
                choice.hourly_price = Some(t.hourly_price);
                choice.hourly_cost = Some(t.hourly_price * replicas);
                let by = match speed {
                    Some(s) => {
                        choice.speed = Some(s.speed);
                        choice.capacity = Some(s.source);
                        format!(
                            "by measured work per core ({} × {:.2}: {}), {:.3} cores there",
                            s.source.as_str(),
                            s.speed,
                            s.basis,
                            cpu / s.speed
                        )
                    }
                    None if self.speeds.is_empty() => "by catalogue size".to_string(),
                    None => {
                        choice.speed = Some(1.0);
                        choice.capacity = Some(CapacitySource::Catalogue);
                        "by catalogue size (no speed learned for it)".to_string()
                    }
                };
                choice.reason = format!(
                    "cheapest of {} types with {cpu:.3} cores and {mib:.0} MiB for one replica {by}: \
                     {} ({} vCPU, {} GiB) at {:.4}/h, {:.4}/h for {} replicas",
                    cat.instances.len(),
                    t.name,
                    t.vcpu,
                    t.memory_gib,
                    t.hourly_price,
                    t.hourly_price * replicas,
                    input.replicas
                );
                if let (true, Some(share)) = (t.burstable, t.baseline_cpu_share) {
                    choice.reason.push_str(&format!(
                        " (burstable: {:.0}% of each vCPU sustained, {:.2} vCPU)",
                        share * 100.0,
                        t.sustained_vcpu()
                    ));
                }
            }
            None => {
                choice.reason = format!(
                    "no type of {} fits {cpu:.3} cores and {mib:.0} MiB for one replica: \
                     left as it is",
                    cat.instances.len()
                );
            }
        }
        self.instance = choice.after.clone();
        Some(choice)
    }

    /// The last decision was not applied: the next one starts from what was known before it.
    pub fn not_applied(&mut self) {
        for t in &mut self.tracks {
            t.last_set = t.before_last;
        }
        self.instance = self.instance_before.clone();
        if let Some((kills, raised_before)) = self.oom_answered.take() {
            self.oom.unanswered(kills, raised_before);
        }
    }
}

/// Values per step start (ms), oldest first, at most `keep` (allocated once, exactly): a step
/// already held (or older) is not taken again, as the controller's own history does.
struct Steps(VecDeque<(i64, f64)>, usize);

impl Steps {
    fn new(keep: usize) -> Self {
        Steps(VecDeque::new(), keep)
    }

    /// Appends a newer step, dropping the oldest when full.
    fn push(&mut self, start: i64, v: f64) {
        if self.0.back().is_some_and(|(s, _)| *s >= start) {
            return;
        }
        if self.0.len() >= self.1 {
            self.0.pop_front();
        } else if self.0.capacity() == 0 {
            self.0.reserve_exact(self.1);
        }
        self.0.push_back((start, v));
    }

    fn last(&self) -> Option<f64> {
        self.0.back().map(|(_, v)| *v)
    }

    fn get(&self, start: i64) -> Option<f64> {
        let i = self.0.binary_search_by_key(&start, |(s, _)| *s).ok()?;
        Some(self.0[i].1)
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.0.iter().map(|(_, v)| *v)
    }
}

fn current_of(kind: ResourceKind, r: Option<&Resources>) -> Option<f64> {
    let r = r?;
    match kind {
        ResourceKind::Cpu => r.cpu_millis.map(|m| m as f64 / 1000.0),
        ResourceKind::Memory => r.memory_bytes.map(|b| b as f64),
    }
}

/// What memory's sizing is given besides use: a fresh heap estimate and OOM kills waiting.
struct Memory<'a> {
    heap: Option<&'a HeapReading>,
    /// Kills since the last raise, and the counter.
    oom: Option<OomPending>,
}

/// One resource's decision (`mem` for memory only).
fn size(
    t: &mut Track,
    spec: &ResourceSpec,
    demand: &Steps,
    input: &SizingInput<'_>,
    mem: Option<&Memory<'_>>,
) -> ResourceChoice {
    let before = current_of(t.kind, input.current).or(t.last_set);
    let freshness_s = t
        .last_sample_at
        .map(|at| (input.now.0 - at.0) as f64 / 1000.0);
    let usage = t.usage.last();
    let mut choice = ResourceChoice {
        metric: t.target.metric.to_string(),
        unit: t.kind.unit().to_string(),
        before,
        after: before,
        recommended: None,
        bound_by: None,
        usage,
        freshness_s,
        model: None,
        heap: None,
        oom: None,
        reason: String::new(),
    };
    t.before_last = before;
    let stale_s = input.stale_after.as_secs_f64();
    let hold = match (freshness_s, usage) {
        (None, _) | (_, None) => Some(format!("no {} samples yet", t.target.metric)),
        (Some(age), _) if age > stale_s => Some(format!(
            "{} is stale ({age:.0} s old, limit {stale_s:.0} s)",
            t.target.metric
        )),
        _ => None,
    };
    let from_use = match &hold {
        None => Some(use_recommendation(t, spec, demand, input, &mut choice)),
        Some(_) => None,
    };
    let from_heap = mem.and_then(|m| m.heap).map(|h| {
        let demand_now = demand.last().filter(|d| *d > 0.0);
        let replicas_before = f64::from(input.replicas_before.unwrap_or(input.replicas).max(1));
        let per_replica_at_lead = input.demand_at_lead / f64::from(input.replicas.max(1));
        let load = demand_now.map_or(1.0, |d| per_replica_at_lead / (d / replicas_before));
        heap::size_from_heap(&h.estimate, &spec.memory_runtime, load)
    });
    let oom = mem.and_then(|m| m.oom);
    let raw = match (&from_heap, from_use, &hold) {
        (Some(h), from_use, _) => {
            let rss = from_use.map_or_else(
                || {
                    format!(
                        "; use-based sizing held ({})",
                        hold.as_deref().unwrap_or("")
                    )
                },
                |r| format!("; the use-based sizing would ask {:.0} MiB", r / MIB),
            );
            choice.reason = format!("memory from the live heap after GC: {}{rss}", h.rule);
            Some(h.memory_bytes)
        }
        (None, Some(r), _) => Some(r),
        (None, None, Some(why)) => {
            choice.reason = format!("hold: {why}; the {} request is left as it is", t.kind);
            None
        }
        (None, None, None) => None,
    };
    choice.heap = from_heap;
    if raw.is_none() && oom.is_none() {
        t.last_set = before;
        return choice;
    }
    // OOM kills with nothing else to size on: the last request stands until the raise.
    let sized = raw.is_some();
    let raw = raw.or(before).unwrap_or(t.target.min);
    if choice.heap.is_some() {
        choice.recommended = Some(raw);
    }
    let bounded = raw.clamp(t.target.min, t.target.max);
    if sized && bounded != raw {
        choice.bound_by = Some(format!("bounds [{}, {}]", t.target.min, t.target.max));
    }
    // An OOM kill: at once to max(last request × 1.5, peak per replica × 1.2), within the bounds.
    let bumped = match oom {
        Some(OomPending {
            kills,
            total,
            pod_kills,
        }) => {
            let replicas_before = f64::from(input.replicas_before.unwrap_or(input.replicas).max(1));
            let peak = t
                .usage
                .values()
                .reduce(f64::max)
                .map(|p| p / replicas_before);
            let floor = heap::oom_floor(before, peak);
            choice.oom = Some(OomBump {
                kills,
                kills_total: total,
                pod_kills,
                floor_bytes: floor,
            });
            let mib = |b: f64| b / MIB;
            let seen = match (kills, pod_kills) {
                (k, 0) => format!("{k} new, {total:.0} in all"),
                (0, p) => format!("{p} new in pod status, lastState OOMKilled"),
                (k, p) => format!(
                    "{k} new, {total:.0} in all; {p} new in pod status, lastState OOMKilled"
                ),
            };
            let mut note = format!(
                "; OOM kill ({seen}): memory raised at once to \
                 max(last request {} × {}, peak per replica {} × {})",
                before.map_or("unknown".into(), |b| format!("{:.0} MiB", mib(b))),
                heap::OOM_LIMIT_FACTOR,
                peak.map_or("unknown".into(), |p| format!("{:.0} MiB", mib(p))),
                heap::OOM_PEAK_FACTOR,
            );
            let out = match floor {
                Some(f) if f > bounded => {
                    let capped = f.min(t.target.max);
                    note.push_str(&format!(" = {:.0} MiB", mib(f)));
                    if capped < f {
                        choice.bound_by =
                            Some(format!("bounds [{}, {}]", t.target.min, t.target.max));
                    } else {
                        choice.bound_by = Some("oom kill".into());
                    }
                    capped
                }
                Some(f) => {
                    note.push_str(&format!(
                        " = {:.0} MiB, below the sizing's {:.0} MiB",
                        mib(f),
                        mib(bounded)
                    ));
                    bounded
                }
                None => {
                    note.push_str(": neither is known, left to the sizing");
                    bounded
                }
            };
            note.push_str("; scale-down stabilization and tolerance bypassed");
            choice.reason.push_str(&note);
            out
        }
        None => bounded,
    };
    // Scale-down stabilization: the highest recommendation over the window (an OOM raise enters
    // it, so the following decisions hold it).
    let window_ms = i64::try_from(spec.stabilization.as_millis()).unwrap_or(i64::MAX);
    t.recent.push_back((input.now.0, bumped));
    while t
        .recent
        .front()
        .is_some_and(|(at, _)| input.now.0.saturating_sub(*at) > window_ms)
    {
        t.recent.pop_front();
    }
    let stabilized = t.recent.iter().map(|(_, v)| *v).fold(bumped, f64::max);
    if stabilized > bumped {
        choice.bound_by = Some(format!(
            "scale-down stabilization (highest recommendation over {} s: {:.4})",
            spec.stabilization.as_secs(),
            stabilized
        ));
    }
    let mut after = t.kind.round_up(stabilized);
    if let (Some(b), None) = (before, oom) {
        let within = b > 0.0 && ((after - b).abs() / b) <= spec.tolerance;
        let in_bounds = (t.target.min..=t.target.max).contains(&b);
        if within && in_bounds && after != b {
            choice.bound_by = Some(format!(
                "tolerance (±{:.0}% of the current {:.4})",
                spec.tolerance * 100.0,
                b
            ));
            after = b;
        }
    }
    choice.after = Some(after);
    t.last_set = Some(after);
    choice
}

/// The use-model recommendation per replica (headroom included); fills the choice's model and
/// reason.
fn use_recommendation(
    t: &Track,
    spec: &ResourceSpec,
    demand: &Steps,
    input: &SizingInput<'_>,
    choice: &mut ResourceChoice,
) -> f64 {
    let usage_now = t.usage.last().unwrap_or(0.0);
    let replicas = f64::from(input.replicas.max(1));
    let (xs, ys): (Vec<f64>, Vec<f64>) = t
        .usage
        .0
        .iter()
        .filter_map(|(s, u)| demand.get(*s).map(|d| (d, *u)))
        .unzip();
    let total = if xs.len() >= MIN_FIT_STEPS {
        let (base, per_unit) = prescale_math::nonneg_line_fit(&xs, &ys).unwrap_or((0.0, 0.0));
        let residuals: Vec<f64> = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| y - (base + per_unit * x))
            .collect();
        let p90 = prescale_math::quantile(&residuals, 0.9)
            .unwrap_or(0.0)
            .max(0.0);
        choice.model = Some(UsageModel {
            base,
            per_unit,
            residual_p90: p90,
            steps: xs.len(),
        });
        let predicted = base + per_unit * input.demand_at_lead.max(0.0) + p90;
        choice.reason = format!(
            "{} use {:.4} + {:.6}/unit × demand {:.3} at the lead + p90 residual {:.4} = {:.4} {}",
            t.kind,
            base,
            per_unit,
            input.demand_at_lead,
            p90,
            predicted,
            t.kind.unit()
        );
        predicted.max(usage_now)
    } else {
        let peak = t.usage.values().fold(0.0_f64, f64::max);
        choice.reason = format!(
            "{} sized on its recent peak use {:.4} {} ({} steps with demand, {MIN_FIT_STEPS} \
             needed to fit the use model)",
            t.kind,
            peak,
            t.kind.unit(),
            xs.len()
        );
        peak
    };
    let raw = total / replicas * (1.0 + spec.headroom);
    choice.recommended = Some(raw);
    choice.reason.push_str(&format!(
        "; over {} replicas with {:.0}% headroom: {:.4} {} each",
        input.replicas,
        spec.headroom * 100.0,
        raw,
        t.kind.unit()
    ));
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::MetricName;

    const STEP: i64 = 60_000;

    fn sizer(headroom: f64) -> Rightsizer {
        let spec = ResourceSpec {
            cpu: Some(ResourceTarget::new(
                MetricName::new("cpu_cores").unwrap(),
                0.05,
                8.0,
            )),
            headroom,
            tolerance: 0.1,
            stabilization: Duration::from_secs(300),
            ..ResourceSpec::default()
        };
        Rightsizer::new(&WorkloadId::new("web").unwrap(), spec)
    }

    fn input(now: i64, demand: f64, replicas: u32) -> SizingInput<'static> {
        SizingInput {
            now: Timestamp(now),
            stale_after: Duration::from_secs(1800),
            demand_at_lead: demand,
            replicas,
            current: None,
            current_instance: None,
            replicas_before: None,
        }
    }

    /// Feeds `steps` steps of demand d(i) and CPU use 0.2 + 0.01·d(i).
    fn feed(r: &mut Rightsizer, steps: i64, d: impl Fn(i64) -> f64) -> i64 {
        let mut window = Vec::new();
        for i in 0..steps {
            let start = i * STEP;
            r.observe_demand(start, d(i));
            window.push(Sample {
                ts: Timestamp(start),
                value: 0.2 + 0.01 * d(i),
            });
        }
        let now = steps * STEP;
        r.observe_usage(ResourceKind::Cpu, &window, Timestamp(now), STEP);
        now
    }

    #[test]
    fn sizes_from_the_fitted_use_at_the_forecast_upper_bound() {
        let mut r = sizer(0.0);
        let now = feed(&mut r, 30, |i| 100.0 + 10.0 * (i % 5) as f64);
        // Demand 300 at the lead: use 0.2 + 3.0 = 3.2 cores over 4 replicas = 0.8 each.
        let d = r.decide(&input(now, 300.0, 4));
        let cpu = d.cpu.unwrap();
        let m = cpu.model.unwrap();
        assert!((m.base - 0.2).abs() < 1e-9 && (m.per_unit - 0.01).abs() < 1e-9);
        assert!((cpu.after.unwrap() - 0.8).abs() < 1e-9, "{:?}", cpu.after);
        assert!(cpu.reason.contains("p90 residual"), "{}", cpu.reason);
    }

    #[test]
    fn lower_requests_wait_for_stabilization_and_small_changes_are_left() {
        let mut r = sizer(0.0);
        let now = feed(&mut r, 30, |i| 100.0 + 10.0 * (i % 5) as f64);
        assert!((r.decide(&input(now, 300.0, 4)).cpu.unwrap().after.unwrap() - 0.8).abs() < 1e-9);
        // Demand drops: the recommendation is lower but held for 300 s.
        let low = r.decide(&input(now + STEP, 100.0, 4)).cpu.unwrap();
        assert!((low.after.unwrap() - 0.8).abs() < 1e-9);
        assert!(low.bound_by.unwrap().contains("stabilization"));
        assert!(low.recommended.unwrap() <= 0.4 + 1e-9);
        // After the window it drops to the fitted use of demand 100: max(1.2, last use)/4.
        let later = r.decide(&input(now + 7 * STEP, 100.0, 4)).cpu.unwrap();
        assert!(later.after.unwrap() < 0.45, "{later:?}");
        // A change within 10 % of the current request is not made.
        let current = Resources {
            cpu_millis: Some(420),
            memory_bytes: None,
        };
        let mut i = input(now + 8 * STEP, 100.0, 4);
        i.current = Some(&current);
        let same = r.decide(&i).cpu.unwrap();
        assert_eq!(same.after, Some(0.42));
        assert!(same.bound_by.unwrap().contains("tolerance"));
    }

    #[test]
    fn bounds_and_holds() {
        let mut r = sizer(0.0);
        // Nothing observed: hold, nothing to set.
        let d = r.decide(&input(0, 10.0, 1)).cpu.unwrap();
        assert_eq!(d.after, None);
        assert!(d.reason.starts_with("hold"));
        let now = feed(&mut r, 30, |i| 100.0 + (i % 3) as f64);
        let big = r.decide(&input(now, 10_000.0, 1)).cpu.unwrap();
        assert_eq!(big.after, Some(8.0));
        assert!(big.bound_by.unwrap().starts_with("bounds"));
        // The use series goes stale: the request is held, never lowered.
        let stale = r.decide(&input(now + 40 * STEP, 1.0, 10)).cpu.unwrap();
        assert_eq!(stale.after, Some(8.0));
        assert!(stale.reason.contains("stale"), "{}", stale.reason);
    }

    #[test]
    fn short_history_uses_the_recent_peak() {
        let mut r = sizer(0.5);
        let now = feed(&mut r, 3, |i| 100.0 * (i + 1) as f64);
        let d = r.decide(&input(now, 1000.0, 2)).cpu.unwrap();
        // Peak use 0.2 + 3.0 = 3.2 over 2 replicas, +50 %.
        assert!((d.after.unwrap() - 2.4).abs() < 1e-9, "{d:?}");
        assert!(d.model.is_none());
        assert!(d.reason.contains("recent peak"));
    }

    #[test]
    fn not_applied_restores_what_was_known() {
        let mut r = sizer(0.0);
        let now = feed(&mut r, 30, |i| 100.0 + 10.0 * (i % 5) as f64);
        let current = Resources {
            cpu_millis: Some(500),
            memory_bytes: None,
        };
        let mut i = input(now, 300.0, 4);
        i.current = Some(&current);
        let d = r.decide(&i).cpu.unwrap();
        assert_eq!(d.before, Some(0.5));
        r.not_applied();
        let again = r.decide(&input(now + STEP, 300.0, 4)).cpu.unwrap();
        assert_eq!(again.before, Some(0.5));
    }

    #[test]
    fn names_the_cheapest_instance_type_one_replica_fits() {
        use prescale_policy::InstanceCatalogue;
        let mib = 1024.0 * 1024.0;
        let spec = ResourceSpec {
            cpu: Some(ResourceTarget::new(
                MetricName::new("cpu_cores").unwrap(),
                0.05,
                32.0,
            )),
            memory: Some(ResourceTarget::new(
                MetricName::new("rss_bytes").unwrap(),
                64.0 * mib,
                65536.0 * mib,
            )),
            headroom: 0.0,
            instance_types: Some(InstanceCatalogue::builtin()),
            ..ResourceSpec::default()
        };
        spec.validate("web").unwrap();
        let mut only_cpu = spec.clone();
        only_cpu.memory = None;
        assert!(only_cpu
            .validate("web")
            .unwrap_err()
            .to_string()
            .contains("both cpu and memory"));
        let mut r = Rightsizer::new(&WorkloadId::new("web").unwrap(), spec);
        let now = feed(&mut r, 30, |i| 100.0 + 10.0 * (i % 5) as f64);
        let mem: Vec<Sample> = (0..30)
            .map(|i| Sample {
                ts: Timestamp(i * STEP),
                value: 6144.0 * mib,
            })
            .collect();
        r.observe_usage(ResourceKind::Memory, &mem, Timestamp(now), STEP);
        // 3.2 cores and 6 GiB in all over 2 replicas: 1.6 cores and 3 GiB each. A t3.medium
        // (2 vCPU, 4 GiB) is cheaper but burstable: it sustains 0.4 vCPU, so a c6i.large.
        let d = r.decide(&input(now, 300.0, 2));
        let i = d.instance.clone().unwrap();
        assert_eq!(i.after.as_deref(), Some("c6i.large"), "{i:?}");
        assert!((i.hourly_cost.unwrap() - 2.0 * 0.085).abs() < 1e-12);
        assert!(d.changes());
        // Twice the demand at the lead: 3.1 cores each need a 4-vCPU type.
        let d = r.decide(&input(now + STEP, 600.0, 2));
        let i = d.instance.unwrap();
        assert_eq!(
            (i.before.as_deref(), i.after.as_deref()),
            (Some("c6i.large"), Some("c6i.xlarge")),
            "{}",
            i.reason
        );
        // Nothing fits 32 cores a replica: the type is left as it is.
        let d = r.decide(&input(now + 2 * STEP, 5000.0, 1));
        let i = d.instance.unwrap();
        assert_eq!(i.after.as_deref(), Some("c6i.xlarge"));
        assert!(i.reason.starts_with("no type"), "{}", i.reason);
    }
}

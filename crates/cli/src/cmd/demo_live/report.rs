//! What `prescale demo` shows while it runs: each decision in plain words (one forecast upper
//! bound per line), a summary every half minute, and the closing summary of what was seen — taken
//! before the daemon shuts down, with how each of the cycle's steps was met.

use crate::output::{rfc3339, thousands, with_rfc3339};
use anyhow::Result;
use prescale_core::WorkloadId;
use prescale_store::Store;
use prescale_telemetry::cycle::CyclePattern;
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Steps before a cycle's step within which a scale-up counts as ahead of it.
const AHEAD_STEPS: usize = 3;
/// A decision that changes nothing is printed at most this often (changes always are).
const HOLD_EVERY_S: f64 = 10.0;
/// How often the half-minute summary comes.
const SUMMARY_EVERY: Duration = Duration::from_secs(30);

/// What the reporter watches and how it prints.
pub struct Watch {
    pub db: PathBuf,
    pub workload: WorkloadId,
    /// The generator's `/metrics`.
    pub metrics: SocketAddr,
    /// The daemon's HTTP API: once it has answered, its going quiet means shutdown has begun.
    pub api: SocketAddr,
    pub json: bool,
    pub pattern: CyclePattern,
    /// The pattern's time origin (Unix seconds): pattern time = Unix time − origin.
    pub origin_s: f64,
    /// The control step in seconds.
    pub step_s: f64,
    /// When the closing summary is taken (the daemon stops a little later).
    pub deadline: Instant,
}

impl Watch {
    fn in_step(&self, unix_s: f64) -> bool {
        self.pattern.in_step(unix_s - self.origin_s)
    }

    /// Unix times at which the cycle's steps start within `[from, to)`.
    pub fn step_starts(&self, from: f64, to: f64) -> Vec<f64> {
        let first = ((from - self.origin_s) / self.pattern.period_s)
            .floor()
            .max(0.0) as u64;
        (first..)
            .map(|c| self.origin_s + self.pattern.step_start(c))
            .skip_while(|&s| s < from)
            .take_while(|&s| s < to)
            .collect()
    }
}

/// The generator's counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub unix_s: f64,
    pub offered: f64,
    pub served: f64,
    pub dropped: f64,
    pub latency_sum: f64,
    pub queue: f64,
    pub workers: f64,
}

impl Snapshot {
    /// Reads the generator's `/metrics`; `None` when it does not answer (it stopped).
    fn take(metrics: SocketAddr) -> Option<Snapshot> {
        let text = http_get(metrics, "/metrics").ok()?;
        let expo =
            prescale_ingest::exposition::parse(&text, prescale_ingest::exposition::Format::Text)
                .ok()?;
        let mut s = Snapshot {
            unix_s: unix_seconds(),
            ..Snapshot::default()
        };
        for x in &expo.samples {
            let v = x.value;
            match x.name.as_str() {
                "demo_requests_total" => s.offered = v,
                "demo_served_total" => s.served = v,
                "demo_dropped_total" => s.dropped = v,
                "demo_latency_seconds_total" => s.latency_sum = v,
                "demo_queue_depth" => s.queue = v,
                "demo_workers" => s.workers = v,
                _ => {}
            }
        }
        Some(s)
    }
}

/// Mean latency of the units served between two snapshots.
fn mean_latency(a: &Snapshot, b: &Snapshot) -> Option<f64> {
    let n = b.served - a.served;
    (n > 0.0).then(|| (b.latency_sum - a.latency_sum) / n)
}

/// One decision as the summaries need it.
#[derive(Debug, Clone)]
struct Seen {
    unix_s: f64,
    up: bool,
    on_forecast: bool,
}

/// Everything seen so far.
#[derive(Debug, Default)]
pub struct Tally {
    decisions: u64,
    scale_ups: u64,
    scale_downs: u64,
    /// Scale-ups on the forecast within [`AHEAD_STEPS`] steps before a cycle's step started.
    ahead_of_step: u64,
    seen: Vec<Seen>,
    snapshots: Vec<Snapshot>,
}

impl Tally {
    /// Counts one decision; returns whether it scaled up ahead of the cycle's step.
    fn count(
        &mut self,
        w: &Watch,
        unix_s: f64,
        before: Option<u32>,
        after: Option<u32>,
        r: &Value,
    ) {
        self.decisions += 1;
        let up = matches!((before, after), (Some(b), Some(a)) if a > b);
        let down = matches!((before, after), (Some(b), Some(a)) if a < b);
        let on_forecast = cause_rule(r) == "forecast-need";
        if up {
            self.scale_ups += 1;
            let soon = (1..=AHEAD_STEPS).any(|k| w.in_step(unix_s + w.step_s * k as f64));
            if on_forecast && soon && !w.in_step(unix_s) {
                self.ahead_of_step += 1;
            }
        }
        if down {
            self.scale_downs += 1;
        }
        self.seen.push(Seen {
            unix_s,
            up,
            on_forecast,
        });
    }

    /// The half-minute summary: rates over the last 30 s, counts so far.
    fn interval(&self) -> Option<(Value, String)> {
        let last = self.snapshots.last()?;
        let since = last.unix_s - SUMMARY_EVERY.as_secs_f64();
        let first = self
            .snapshots
            .iter()
            .find(|s| s.unix_s >= since - 0.5)
            .unwrap_or(last);
        let dt = (last.unix_s - first.unix_s).max(1e-3);
        let offered = (last.offered - first.offered) / dt;
        let served = (last.served - first.served) / dt;
        let latency = mean_latency(first, last);
        let json = json!({"summary": {
            "at": (last.unix_s * 1000.0) as i64, "offered_rate": offered, "served_rate": served,
            "queue": last.queue, "mean_latency_s": latency, "workers": last.workers,
            "offered_total": last.offered, "served_total": last.served, "dropped_total": last.dropped,
            "decisions": self.decisions, "scale_ups": self.scale_ups, "scale_downs": self.scale_downs,
            "scale_ups_ahead_of_step": self.ahead_of_step,
        }});
        let text = format!(
            "  last {:.0} s: offered {offered:.0}/s, served {served:.0}/s, mean latency {}, queue {} now, {} · \
             so far {}, {} ({} ahead of the cycle's step, on the forecast), {}",
            dt,
            latency.map_or("-".into(), |l| format!("{:.0} ms", l * 1000.0)),
            thousands(last.queue),
            count(last.workers as u64, "worker"),
            count(self.decisions, "decision"),
            count(self.scale_ups, "scale-up"),
            self.ahead_of_step,
            count(self.scale_downs, "scale-down"),
        );
        Some((json, text))
    }

    /// The closing summary, from the snapshots taken so far (all before shutdown).
    fn closing(&self, w: &Watch) -> Closing {
        let (first, last) = match (self.snapshots.first(), self.snapshots.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => (Snapshot::default(), Snapshot::default()),
        };
        let step_len = (w.pattern.step_to - w.pattern.step_from) * w.pattern.period_s;
        let steps = w
            .step_starts(first.unix_s, last.unix_s)
            .into_iter()
            .map(|s| self.step_seen(w, s, step_len))
            .collect();
        Closing {
            taken_at: (last.unix_s * 1000.0) as i64,
            ran_s: last.unix_s - first.unix_s,
            offered_total: last.offered - first.offered,
            served_total: last.served - first.served,
            dropped_total: last.dropped - first.dropped,
            mean_latency_s: mean_latency(&first, &last),
            longest_queue: self.snapshots.iter().map(|s| s.queue).fold(0.0, f64::max),
            workers: last.workers,
            decisions: self.decisions,
            scale_ups: self.scale_ups,
            scale_ups_ahead_of_step: self.ahead_of_step,
            scale_downs: self.scale_downs,
            step_height: w.pattern.step_height,
            step_seconds: step_len,
            steps,
        }
    }

    /// How the step starting at `start` (Unix s) was met.
    fn step_seen(&self, w: &Watch, start: f64, len: f64) -> StepSeen {
        let before = self.snapshots.iter().rev().find(|s| s.unix_s <= start);
        let during: Vec<&Snapshot> = self
            .snapshots
            .iter()
            .filter(|s| s.unix_s >= start && s.unix_s <= start + len)
            .collect();
        let window = w.step_s * AHEAD_STEPS as f64;
        let ahead = self
            .seen
            .iter()
            .filter(|d| d.up && d.on_forecast && d.unix_s < start && d.unix_s >= start - window)
            .map(|d| start - d.unix_s)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let latency = match (before.or(during.first().copied()), during.last()) {
            (Some(a), Some(b)) => mean_latency(a, b),
            _ => None,
        };
        StepSeen {
            at: (start * 1000.0) as i64,
            complete: during.last().is_some_and(|s| s.unix_s >= start + len - 1.5),
            workers_when_it_came: before.map(|s| s.workers),
            scaled_up_ahead_s: ahead,
            queue_peak: during.iter().map(|s| s.queue).fold(0.0, f64::max),
            mean_latency_s: latency,
        }
    }
}

/// The closing summary.
#[derive(Debug, Serialize)]
pub struct Closing {
    /// When it was taken (Unix ms): before the daemon began to shut down.
    pub taken_at: i64,
    pub ran_s: f64,
    pub offered_total: f64,
    pub served_total: f64,
    pub dropped_total: f64,
    pub mean_latency_s: Option<f64>,
    pub longest_queue: f64,
    /// Workers connected when it was taken.
    pub workers: f64,
    pub decisions: u64,
    pub scale_ups: u64,
    pub scale_ups_ahead_of_step: u64,
    pub scale_downs: u64,
    /// What the cycle's step adds (units/s) and how long it lasts.
    pub step_height: f64,
    pub step_seconds: f64,
    /// Each of the cycle's steps that began while the demo watched.
    pub steps: Vec<StepSeen>,
}

/// How one of the cycle's steps was met.
#[derive(Debug, Serialize)]
pub struct StepSeen {
    /// When it began (Unix ms).
    pub at: i64,
    /// Whether the demo watched it to its end.
    pub complete: bool,
    pub workers_when_it_came: Option<f64>,
    /// How long before it began workers were added on the forecast (`None`: not ahead).
    pub scaled_up_ahead_s: Option<f64>,
    pub queue_peak: f64,
    pub mean_latency_s: Option<f64>,
}

impl Closing {
    pub fn json(&self) -> Result<Value> {
        Ok(json!({ "closing_summary": crate::output::json_result(self)? }))
    }

    pub fn text(&self) -> String {
        let latency = |l: Option<f64>| l.map_or("-".into(), |l| format!("{:.0} ms", l * 1000.0));
        let mut out = format!(
            "closing summary, taken at {} UTC before shutdown, after {}:\n  \
             work: {} units offered, {} served, {} dropped; mean latency {}; longest queue {} units\n  \
             scaling: {}; {} ({} ahead of the cycle's step, on the forecast), {}; {} at the close\n",
            clock(self.taken_at),
            span(self.ran_s),
            thousands(self.offered_total),
            thousands(self.served_total),
            thousands(self.dropped_total),
            latency(self.mean_latency_s),
            thousands(self.longest_queue),
            count(self.decisions, "decision"),
            count(self.scale_ups, "scale-up"),
            self.scale_ups_ahead_of_step,
            count(self.scale_downs, "scale-down"),
            count(self.workers as u64, "worker"),
        );
        if self.steps.is_empty() {
            out.push_str("  the cycle's step did not come while the demo ran\n");
            return out;
        }
        out.push_str(&format!(
            "  the cycle's step (+{:.0}/s for {:.0} s) came {}:\n",
            self.step_height,
            self.step_seconds,
            match self.steps.len() {
                1 => "once".to_string(),
                n => format!("{n} times"),
            }
        ));
        for s in &self.steps {
            let workers = s
                .workers_when_it_came
                .map_or("-".into(), |w| format!("{w:.0}"));
            let how = match s.scaled_up_ahead_s {
                Some(a) => format!(
                    "ready ahead: workers added {a:.0} s before it, on the forecast; {workers} when it came"
                ),
                None => format!("met after it came: {workers} workers when it came"),
            };
            out.push_str(&format!(
                "    {}  {how}; queue up to {}, mean latency {}{}\n",
                clock(s.at),
                thousands(s.queue_peak),
                latency(s.mean_latency_s),
                if s.complete {
                    ""
                } else {
                    " (demo ended during it)"
                },
            ));
        }
        out
    }
}

/// Prints new decisions and the half-minute summaries until `stop` or the deadline; then takes
/// the closing summary from the generator's last counters read while the daemon still ran: the
/// daemon stops after the deadline, and once it begins to shut down (Ctrl-C, SIGTERM) its API
/// goes quiet and no reading after its last answer is kept.
pub fn watch(w: &Watch, stop: &AtomicBool) -> Result<Closing> {
    let mut tally = Tally::default();
    let mut store: Option<Store> = None;
    let mut seen_id: Option<i64> = None;
    let mut printed: Option<(f64, String)> = None;
    let mut last_summary = Instant::now();
    let mut pending: Vec<Snapshot> = Vec::new();
    let mut api_seen = false;
    if let Some(s) = Snapshot::take(w.metrics) {
        tally.snapshots.push(s);
    }
    loop {
        let done = stop.load(Ordering::SeqCst) || Instant::now() >= w.deadline;
        if store.is_none() {
            store = Store::open(&w.db).ok();
        }
        if let Some(s) = &store {
            if let Ok(rows) = s.decisions(200, Some(&w.workload)) {
                let from = seen_id.unwrap_or(i64::MIN);
                for (id, row) in rows.into_iter().rev().filter(|(id, _)| *id > from) {
                    seen_id = Some(id);
                    let r: Value = serde_json::from_str(&row.record_json).unwrap_or_default();
                    let unix_s = row.at.0 as f64 / 1000.0;
                    tally.count(w, unix_s, row.before, row.after, &r);
                    if w.json {
                        println!("{}", json!({ "decision": with_rfc3339(r) }));
                        continue;
                    }
                    let rule = cause_rule(&r).to_string();
                    let changed = row.before != row.after;
                    let quiet = printed.as_ref().is_some_and(|(t, last_rule)| {
                        *last_rule == rule && unix_s - t < HOLD_EVERY_S
                    });
                    if changed || !quiet {
                        println!(
                            "{}",
                            decision_line(row.at.0, row.before, row.after, &r, w.step_s)
                        );
                        printed = Some((unix_s, rule));
                    }
                }
            }
        }
        // A reading counts once the daemon's API answers after it (shutdown is for good); until
        // the API is first up, every reading counts.
        if let Some(reading) = Snapshot::take(w.metrics) {
            pending.push(reading);
        }
        if healthy(w.api) {
            api_seen = true;
            tally.snapshots.append(&mut pending);
        } else if !api_seen {
            tally.snapshots.append(&mut pending);
        }
        if done {
            break;
        }
        if last_summary.elapsed() >= SUMMARY_EVERY {
            last_summary = Instant::now();
            if let Some((j, t)) = tally.interval() {
                if w.json {
                    println!("{}", with_rfc3339(j));
                } else {
                    println!("{t}");
                }
            }
        }
        let _ = std::io::stdout().flush();
        let left = w.deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_secs(1)));
    }
    Ok(tally.closing(w))
}

/// The rule that sized a decision: a guarded decision's innermost cause.
fn cause_rule(r: &Value) -> &str {
    let mut j = &r["reason_json"];
    while j["rule"] == "guarded" {
        j = &j["cause"];
    }
    j["rule"].as_str().unwrap_or("")
}

/// `HH:MM:SS` (UTC) of a Unix-ms time.
pub fn clock(ms: i64) -> String {
    let t = rfc3339(ms);
    t.get(11..19).unwrap_or(&t).to_string()
}

/// `1 step`, `3 steps`.
fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `4m05s`, `45s`.
fn span(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// One decision as a line: time, workers before → after, the demand and why, in plain words,
/// with the one forecast upper bound the decision was sized on.
pub fn decision_line(
    at_ms: i64,
    before: Option<u32>,
    after: Option<u32>,
    r: &Value,
    step_s: f64,
) -> String {
    let show = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    let arrow = match (before, after) {
        (Some(b), Some(a)) if a > b => "▲",
        (Some(b), Some(a)) if a < b => "▼",
        _ => " ",
    };
    let demand = r["inputs"]["demand"]
        .as_f64()
        .map_or("demand -".into(), |d| format!("demand {d:.0}/s"));
    format!(
        "{} {arrow} workers {} → {}  {demand}  {}",
        clock(at_ms),
        show(before),
        show(after),
        why(r, step_s)
    )
}

/// The decision's reason in plain words.
fn why(r: &Value, step_s: f64) -> String {
    let j = &r["reason_json"];
    let text = || r["reason"].as_str().unwrap_or("").to_string();
    cause_words(r, j, step_s).unwrap_or_else(text)
}

fn cause_words(r: &Value, j: &Value, step_s: f64) -> Option<String> {
    let f = |k: &str| j[k].as_f64();
    let need = j["need"].as_u64();
    Some(match j["rule"].as_str()? {
        "forecast-need" => {
            let within = r["forecast"]["horizon_steps"]
                .as_f64()
                .map_or(String::new(), |h| format!(" within {:.0} s", h * step_s));
            let level = r["forecast"]["level"]
                .as_f64()
                .map_or(String::new(), |l| format!(" ({l:.0}% band)"));
            format!(
                "expects at most {:.0}/s{within}{level}; with headroom ×{:.2} that needs {} workers",
                f("upper")?,
                f("headroom")?,
                need?
            )
        }
        "reactive-need" => format!(
            "demand is above what was forecast: demand ×{:.2} headroom needs {} workers",
            f("headroom")?,
            need?
        ),
        "reactive-fallback" => {
            let seen = r["inputs"]["history_steps"]
                .as_u64()
                .map_or(String::new(), |n| format!(" ({} seen)", count(n, "step")));
            format!(
                "no forecast yet{seen}: reacting to the demand now, {:.0}% busy per worker needs {} workers",
                f("target")? * 100.0,
                need?
            )
        }
        "guarded" => {
            let cause = cause_words(r, &j["cause"], step_s)?;
            let wanted = j["wanted"].as_u64()?;
            let kept = r["replicas_after"]
                .as_u64()
                .map_or("-".into(), |n| n.to_string());
            let guard = match j["guard"]["kind"].as_str()? {
                "stabilization" => format!(
                    "scale-in waits until {} agree: {kept}, not {wanted}",
                    count(j["guard"]["window_steps"].as_u64()? + 1, "step")
                ),
                "bounds" => format!(
                    "kept within {}..{} workers: {kept}, not {wanted}",
                    j["guard"]["min"].as_u64()?,
                    j["guard"]["max"].as_u64()?
                ),
                _ => format!("{}: {kept}, not {wanted}", j["guard_text"].as_str()?),
            };
            format!("{cause}; {guard}")
        }
        _ => return None,
    })
}

/// Seconds since the Unix epoch.
fn unix_seconds() -> f64 {
    crate::loadgen::server::unix_seconds()
}

/// Whether the daemon's API answers `/healthz`.
fn healthy(api: SocketAddr) -> bool {
    http_get(api, "/healthz").is_ok()
}

/// A minimal HTTP/1.0 GET on loopback (the generator's `/metrics`).
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    match text.split_once("\r\n\r\n") {
        Some((head, body))
            if head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200") =>
        {
            Ok(body.to_string())
        }
        _ => Err(std::io::Error::other("no 200 answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> Watch {
        Watch {
            db: PathBuf::new(),
            workload: WorkloadId::new("w").unwrap(),
            metrics: "127.0.0.1:9".parse().unwrap(),
            api: "127.0.0.1:9".parse().unwrap(),
            json: false,
            pattern: CyclePattern {
                period_s: 60.0,
                burst_chance: 0.0,
                ..CyclePattern::default()
            },
            origin_s: 1000.0,
            step_s: 2.0,
            deadline: Instant::now(),
        }
    }

    #[test]
    fn a_forecast_decision_shows_one_upper_bound_in_words() {
        let r = json!({
            "inputs": {"demand": 156.2, "history_steps": 60},
            "forecast": {"upper": 499.0, "level": 90.0, "horizon_steps": 3},
            "reason": "forecast upper bound 526.211 × learned headroom 0.891 needs 6 replicas",
            "reason_json": {"rule": "forecast-need", "upper": 526.211, "headroom": 0.891, "need": 6},
            "replicas_after": 6,
        });
        let line = decision_line(1_768_003_230_000, Some(3), Some(6), &r, 2.0);
        assert_eq!(
            line,
            "00:00:30 ▲ workers 3 → 6  demand 156/s  expects at most 526/s within 6 s (90% band); \
             with headroom ×0.89 that needs 6 workers"
        );
        assert!(!line.contains("499"), "one upper bound: {line}");
    }

    #[test]
    fn guarded_and_fallback_decisions_read_plainly() {
        let r = json!({
            "inputs": {"demand": 114.0, "history_steps": 12},
            "reason": "…",
            "reason_json": {"rule": "guarded", "wanted": 3, "guard_text": "scale-in stabilization over 1 past steps",
                "guard": {"kind": "stabilization", "window_steps": 1},
                "cause": {"rule": "reactive-fallback", "demand": 114.0, "target": 0.7, "need": 3}},
            "replicas_after": 8,
        });
        let line = decision_line(0, Some(8), Some(8), &r, 2.0);
        assert!(
            line.ends_with(
                "no forecast yet (12 steps seen): reacting to the demand now, 70% busy per worker \
                 needs 3 workers; scale-in waits until 2 steps agree: 8, not 3"
            ),
            "{line}"
        );
        assert_eq!(cause_rule(&r), "reactive-fallback");
        // A rule without words of its own keeps the daemon's text.
        let r = json!({"inputs": {}, "reason": "stale telemetry (no samples in the window): holding",
            "reason_json": {"rule": "no-telemetry"}});
        assert!(decision_line(0, None, None, &r, 2.0).ends_with(
            "workers - → -  demand -  stale telemetry (no samples in the window): holding"
        ));
    }

    #[test]
    fn the_closing_summary_says_how_each_step_was_met() {
        let w = watch();
        // Steps start at origin + 33 s + k·60 s: 1033, 1093, 1153.
        assert_eq!(w.step_starts(1000.0, 1160.0), vec![1033.0, 1093.0, 1153.0]);
        let mut t = Tally::default();
        let mut latency_sum = 0.0;
        for i in 0..=100 {
            let s = 1000.0 + i as f64;
            let reacting = (1033.0..1041.0).contains(&s);
            latency_sum += if reacting { 0.5 } else { 0.02 } * 200.0;
            t.snapshots.push(Snapshot {
                unix_s: s,
                offered: 200.0 * i as f64,
                served: 200.0 * i as f64,
                dropped: 0.0,
                latency_sum,
                queue: if reacting { 800.0 } else { 3.0 },
                workers: if s < 1090.0 { 3.0 } else { 7.0 },
            });
        }
        let forecast = json!({"reason_json": {"rule": "forecast-need"}});
        t.count(&w, 1030.0, Some(3), Some(3), &forecast);
        t.count(&w, 1089.0, Some(3), Some(7), &forecast);
        let c = t.closing(&w);
        assert_eq!((c.scale_ups, c.scale_ups_ahead_of_step), (1, 1));
        assert_eq!(c.steps.len(), 2, "{c:?}");
        assert_eq!(c.steps[0].scaled_up_ahead_s, None);
        assert_eq!(c.steps[0].queue_peak, 800.0);
        assert_eq!(c.steps[1].scaled_up_ahead_s, Some(4.0));
        assert_eq!(c.steps[1].workers_when_it_came, Some(7.0));
        assert!(c.steps[0].complete && !c.steps[1].complete);
        assert!((c.steps[1].mean_latency_s.unwrap() - 0.02).abs() < 1e-9);
        assert_eq!(c.workers, 7.0);
        let text = c.text();
        assert!(text.contains("came 2 times"), "{text}");
        assert!(
            text.contains("met after it came: 3 workers when it came; queue up to 800"),
            "{text}"
        );
        assert!(
            text.contains("workers added 4 s before it, on the forecast; 7 when it came"),
            "{text}"
        );
        let j = c.json().unwrap();
        assert_eq!(j["closing_summary"]["steps"][1]["at"], 1_093_000);
        assert!(j["closing_summary"]["taken_at_rfc3339"].is_string());
    }
}

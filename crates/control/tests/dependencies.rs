//! Dependency-aware scaling through two controllers: a downstream whose demand follows its
//! upstream's two steps later scales ahead when handed the upstream's predicted rise, and the
//! decision records why; a declared cycle is refused naming it.

use prescale_control::graph::{UpstreamRise, WorkloadGraph};
use prescale_control::{Controller, WorkloadSpec};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use std::time::Duration;

const STEP_MS: i64 = 60_000;
const PERIOD: i64 = 24;
const HIGH_FROM: i64 = 16;
const LAG: i64 = 2;

/// The upstream: 20 for 16 steps, then 80 for 8, a small deterministic wiggle.
fn upstream(k: i64) -> f64 {
    let base = if k.rem_euclid(PERIOD) >= HIGH_FROM {
        80.0
    } else {
        20.0
    };
    base + ((k * 7919) % 13) as f64 * 0.1
}

/// The downstream: half the upstream's demand, `LAG` steps later.
fn downstream(k: i64) -> f64 {
    upstream(k - LAG) * 0.5
}

fn spec(name: &str, policy: &str) -> WorkloadSpec {
    let mut s = WorkloadSpec::new(
        WorkloadId::new(name).unwrap(),
        MetricName::new("rps").unwrap(),
        5.0,
    );
    s.policy = policy.parse().unwrap();
    s.step = Duration::from_millis(STEP_MS as u64);
    s.season = Some(Duration::from_millis((PERIOD * STEP_MS) as u64));
    s.max = 40;
    s
}

fn samples(f: fn(i64) -> f64, steps: i64) -> Vec<Sample> {
    (0..steps)
        .map(|k| Sample {
            ts: Timestamp(k * STEP_MS + 30_000),
            value: f(k),
        })
        .collect()
}

/// The downstream's replicas per step of the watched period, with or without its upstream's rise.
fn run(follow: bool) -> Vec<(u32, bool)> {
    let warm = 20 * PERIOD;
    let (up_all, down_all) = (
        samples(upstream, warm + PERIOD),
        samples(downstream, warm + PERIOD),
    );
    let mut up = Controller::new(spec("front", "predictive")).unwrap();
    // A reactive downstream: it sees no rise before its own demand shows one.
    let mut down = Controller::new(spec("api", "hpa")).unwrap();
    let (mut cur_up, mut cur_down) = (None, None);
    let mut out = Vec::new();
    for k in warm - 60..warm + PERIOD {
        let now = Timestamp(k * STEP_MS + 1_000);
        let cut = |v: &[Sample]| -> Vec<Sample> {
            v.iter().filter(|s| s.ts.0 < k * STEP_MS).copied().collect()
        };
        let r = up.tick(&cut(&up_all), now, cur_up);
        cur_up = r.replicas_after;
        if follow {
            let rises = up
                .predicted_rise()
                .map(|rise| UpstreamRise {
                    upstream: WorkloadId::new("front").unwrap(),
                    rise,
                })
                .into_iter()
                .collect();
            down.set_upstream_rises(rises);
        }
        let r = down.tick(&cut(&down_all), now, cur_down);
        cur_down = r.replicas_after;
        if k >= warm {
            if let Some(u) = &r.actions.upstream {
                assert_eq!(u.upstream.as_str(), "front");
                assert!(u.replicas > u.own && u.rise > 1.0, "{u:?}");
                assert!(r.reason.contains("upstream front"), "{}", r.reason);
            }
            out.push((r.replicas_after.unwrap(), r.actions.upstream.is_some()));
        }
    }
    out
}

#[test]
fn a_downstream_scales_ahead_of_its_upstreams_predicted_rise() {
    let alone = run(false);
    let follows = run(true);
    // The period starts with the downstream still high (its lag, the hpa's scale-down
    // stabilization); by step 10 it is low.
    let low = alone[10].0;
    let first_up = |v: &[(u32, bool)]| 10 + v[10..].iter().position(|(r, _)| *r > low + 1).unwrap();
    let (a, f) = (first_up(&alone), first_up(&follows));
    // Alone it reacts once its own demand has risen (step HIGH_FROM + LAG, seen a step later).
    assert!(a as i64 > HIGH_FROM + LAG, "alone at {a}: {alone:?}");
    // Following its upstream it rises before its own demand does.
    assert!(
        (f as i64) < HIGH_FROM + LAG,
        "following at {f}: {follows:?}"
    );
    assert!(follows[f].1, "the rise is recorded as the upstream's");
    // Held until its own demand shows the rise: never back below the rise in between.
    assert!(
        follows[f..=HIGH_FROM as usize + LAG as usize + 1]
            .iter()
            .all(|(r, _)| *r > low + 1),
        "{follows:?}"
    );
    // Before the upstream's rise is in sight, following changes nothing.
    assert_eq!(&alone[10..13], &follows[10..13]);
}

#[test]
fn a_declared_cycle_is_refused_naming_it() {
    let decl = |w: &str, d: &[&str]| (w.to_string(), d.iter().map(|s| s.to_string()).collect());
    let e = WorkloadGraph::new(&[
        decl("front", &["db"]),
        decl("api", &["front"]),
        decl("db", &["api"]),
    ])
    .unwrap_err();
    assert_eq!(e.to_string(), "dependency cycle: front → api → db → front");
}

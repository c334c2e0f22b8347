//! Shadow A/B tests: a candidate configuration that is measurably better on a trace is reported
//! better, shadows never change the acting decisions, and a promotion acts from the next step.

use prescale_control::{Controller, Current, ShadowSpec, Shadows, WorkloadSpec};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use std::time::Duration;

const STEP_MS: i64 = 60_000;

fn spec(policy: &str) -> WorkloadSpec {
    let mut s = WorkloadSpec::new(
        WorkloadId::new("web").unwrap(),
        MetricName::new("rps").unwrap(),
        10.0,
    );
    s.policy = policy.parse().unwrap();
    s.step = Duration::from_millis(STEP_MS as u64);
    s.lead = Duration::from_secs(120);
    s.season = Some(Duration::from_millis((24 * STEP_MS) as u64));
    s.max = 30;
    s
}

/// A repeating day of 24 steps: 20 for 16 steps, then a rise to 80 for 8.
fn demand(k: i64) -> f64 {
    let base = if k.rem_euclid(24) >= 16 { 80.0 } else { 20.0 };
    base + ((k * 7919) % 13) as f64 * 0.1
}

fn shadow(name: &str) -> ShadowSpec {
    ShadowSpec {
        name: name.into(),
        policy: None,
        budget: None,
        headroom: None,
        lead: None,
        model: None,
    }
}

/// Ticks `c` (with `shadows`, when given) at the end of steps `from..to`; returns the acting
/// decisions' (policy, replicas after).
fn run(
    c: &mut Controller,
    mut shadows: Option<&mut Shadows>,
    from: i64,
    to: i64,
) -> Vec<(String, Option<u32>)> {
    (from..to)
        .map(|k| {
            let window = [Sample {
                ts: Timestamp(k * STEP_MS + 30_000),
                value: demand(k),
            }];
            let now = Timestamp((k + 1) * STEP_MS);
            let r = match shadows.as_deref_mut() {
                Some(s) => s.tick(c, &window, &[], now, &Current::default()),
                None => c.tick(&window, now, None),
            };
            (r.policy, r.replicas_after)
        })
        .collect()
}

#[test]
fn a_better_shadow_is_reported_better_and_promotion_acts_from_the_next_step() {
    // Acting: an HPA aiming at 90% utilization, always late for the daily rise. Shadows: the
    // predictive policy on the same forecast (a lane), and one with a longer lead and its own
    // forecaster.
    let mut acting = Controller::new(spec("hpa@0.9")).unwrap();
    let predictive = ShadowSpec {
        policy: Some("predictive".parse().unwrap()),
        ..shadow("predictive")
    };
    let longer = ShadowSpec {
        policy: Some("predictive".parse().unwrap()),
        lead: Some(Duration::from_secs(300)),
        ..shadow("longer-lead")
    };
    let mut shadows = Shadows::new(&mut acting, vec![predictive, longer]).unwrap();
    let with = run(&mut acting, Some(&mut shadows), 0, 24 * 8);
    // The acting decisions are the ones a controller without shadows makes.
    let mut alone = Controller::new(spec("hpa@0.9")).unwrap();
    assert_eq!(with, run(&mut alone, None, 0, 24 * 8));

    let report = shadows.report(&acting);
    assert_eq!(report.acting.policy, "hpa@0.90");
    let [p, l] = &report.shadows[..] else {
        panic!("{report:?}")
    };
    assert_eq!((p.name.as_str(), p.own_forecaster), ("predictive", false));
    assert_eq!((l.name.as_str(), l.own_forecaster), ("longer-lead", true));
    assert_eq!(l.changes, "policy predictive, lead 300s");
    let steps = report.acting.metrics.steps;
    assert!(steps > 150, "{steps}");
    assert_eq!(p.metrics.steps, steps, "charged over the same steps");
    // Measurably better: under-provisioned far less often, for some more replica-hours.
    assert!(
        p.metrics.under_pct + 5.0 < report.acting.metrics.under_pct,
        "predictive {:?} vs acting {:?}",
        p.metrics,
        report.acting.metrics
    );
    assert!(p.metrics.cost > 0.0 && l.metrics.cost > 0.0);

    // Promote: the next step's acting decision is the predictive policy's.
    let (before, after) = shadows.promote(&mut acting, "predictive").unwrap();
    assert_eq!(
        (before.as_str(), after.as_str()),
        ("hpa@0.90", "predictive")
    );
    let next = run(&mut acting, Some(&mut shadows), 24 * 8, 24 * 8 + 1);
    assert_eq!(next[0].0, "predictive");
    let report = shadows.report(&acting);
    assert_eq!(report.acting.name, "predictive");
    assert_eq!(report.shadows[0].name, "acting");
    assert_eq!(report.shadows[0].policy, "hpa@0.90");
    // ... and promoting the one with its own forecaster swaps controllers.
    shadows.promote(&mut acting, "longer-lead").unwrap();
    assert_eq!(acting.spec().lead, Duration::from_secs(300));
    let next = run(&mut acting, Some(&mut shadows), 24 * 8 + 1, 24 * 8 + 2);
    assert_eq!(next[0].0, "predictive");
    let names: Vec<String> = shadows
        .report(&acting)
        .shadows
        .iter()
        .map(|s| format!("{}={}", s.name, s.policy))
        .collect();
    assert_eq!(names, ["acting=hpa@0.90", "predictive=predictive"]);
    assert!(shadows.promote(&mut acting, "nobody").is_err());
}

#[test]
fn bad_shadows_are_named() {
    let mut acting = Controller::new(spec("hpa")).unwrap();
    let headroom = ShadowSpec {
        headroom: Some(1.3),
        ..shadow("roomy")
    };
    let e = Shadows::new(&mut acting, vec![headroom]).err().unwrap();
    assert!(e.to_string().contains("only a predictive policy"), "{e}");
    let twice = vec![shadow("a"), shadow("a")];
    assert!(Shadows::new(&mut acting, twice).is_err());
    let budget = ShadowSpec {
        budget: Some(1.5),
        ..shadow("b")
    };
    assert!(Shadows::new(&mut acting, vec![budget]).is_err());
}

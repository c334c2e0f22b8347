//! Property tests of the simulator and the policies' shared invariants.

use prescale_policy::{HpaConfig, PredictiveConfig};
use prescale_replay::{simulate, PolicyKind, SimConfig};
use proptest::prelude::*;

fn kinds(pred_window: usize) -> Vec<PolicyKind> {
    vec![
        PolicyKind::Hpa(HpaConfig::default()),
        PolicyKind::Hpa(HpaConfig::with_target(0.5)),
        "threshold".parse().unwrap(),
        PolicyKind::Predictive(PredictiveConfig {
            stabilization_steps: pred_window,
            ..PredictiveConfig::default()
        }),
        PolicyKind::Oracle,
        PolicyKind::Static,
    ]
}

fn config(delay: usize, min: u32, max: u32, step_seconds: f64) -> SimConfig {
    SimConfig {
        delay_steps: delay,
        min,
        max,
        step_seconds,
        forecast: prescale_forecast::RollingConfig {
            season: Some(4),
            history_window: 10_000,
            min_history: 10_000, // no fits here: properties must hold on the fallback paths too
            guard_refits: true,
            ..Default::default()
        },
        ..SimConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn replicas_stay_within_bounds(
        demand in prop::collection::vec(0.0f64..100.0, 2..60),
        delay in 0usize..3,
        min in 0u32..4,
        span in 0u32..20,
    ) {
        let cfg = config(delay, min, min + span, 300.0);
        let r = simulate(&demand, &kinds(3), &cfg).unwrap();
        for p in &r.policies {
            for (t, &q) in p.trace.requested.iter().enumerate() {
                prop_assert!(q >= min && q <= min + span, "{} step {t}: {q}", p.name);
                prop_assert!(p.trace.ready[t] <= q);
            }
        }
    }

    #[test]
    fn no_scale_in_inside_the_stabilization_window(
        demand in prop::collection::vec(0.0f64..100.0, 2..80),
        delay in 0usize..3,
        step_choice in 0usize..3,
        pred_window in 0usize..6,
    ) {
        let step_seconds = [15.0, 60.0, 300.0][step_choice];
        let hpa_window = (300.0 / step_seconds) as usize;
        let r = simulate(&demand, &kinds(pred_window), &config(delay, 1, 1000, step_seconds)).unwrap();
        for p in &r.policies {
            let window = match p.name.as_str() {
                "hpa" | "hpa@0.50" => hpa_window,
                "predictive" => pred_window,
                _ => continue,
            };
            let q = &p.trace.requested;
            for s in 1..q.len() {
                if q[s] > q[s - 1] {
                    for t in s + 1..=(s + window).min(q.len() - 1) {
                        prop_assert!(q[t] >= q[t - 1], "{}: scale-up at {s}, scale-in at {t}: {q:?}", p.name);
                    }
                }
            }
        }
    }

    #[test]
    fn oracle_is_never_under_provisioned_and_is_the_cheapest_safe_policy(
        demand in prop::collection::vec(0.0f64..100.0, 2..60),
        delay in 0usize..4,
        min in 0u32..3,
    ) {
        let r = simulate(&demand, &kinds(2), &config(delay, min, 1000, 300.0)).unwrap();
        let oracle = r.policy("oracle").unwrap();
        prop_assert_eq!(oracle.metrics.under_steps, 0);
        prop_assert_eq!(&oracle.trace.requested, &r.oracle_requested);
        for p in &r.policies {
            if p.metrics.under_steps == 0 {
                prop_assert!(p.metrics.cost >= oracle.metrics.cost - 1e-9, "{} cheaper than the oracle", p.name);
                for (t, (&a, &b)) in p.trace.requested.iter().zip(&r.oracle_requested).enumerate() {
                    prop_assert!(a >= b, "{} below the oracle at {t}", p.name);
                }
            }
        }
        let st = r.policy("static").unwrap();
        prop_assert_eq!(st.metrics.under_steps, 0);
    }
}

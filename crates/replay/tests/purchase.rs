//! Purchase options in the replay: dollars against all-on-demand, the committed base, spot
//! interruptions counted in the under-provisioned share, seeded repeatability.

use prescale_policy::{PricingCatalogue, PurchaseSpec};
use prescale_replay::{simulate, PolicyKind, PurchaseSim, SimConfig};

const CATALOGUE: &str = r#"
[[instance]]
name = "m5.large"
vcpu = 2
memory_gib = 8
on_demand = 0.096
reserved = 0.062
spot = { price = 0.037, interruption_rate = RATE }
"#;

/// Eight weeks of hourly demand with a daily swing.
fn demand() -> Vec<f64> {
    (0..24 * 56)
        .map(|t| {
            let phase = (t % 24) as f64 / 24.0 * std::f64::consts::TAU;
            60.0 + 30.0 * phase.sin() + ((t * 7919) % 13) as f64
        })
        .collect()
}

/// `(interruptible, seed, monthly interruption rate)`.
fn config(purchase: Option<(bool, u64, f64)>) -> SimConfig {
    let rate = purchase.map_or(0.0, |p| p.2);
    let text = CATALOGUE.replace("RATE", &rate.to_string());
    let cat = PricingCatalogue::parse(&text, |f| Err(format!("no {f}"))).unwrap();
    SimConfig {
        capacity_per_replica: Some(10.0),
        step_seconds: 3600.0,
        forecast: prescale_forecast::RollingConfig {
            season: Some(24),
            min_history: 48,
            guard_refits: true,
            ..Default::default()
        },
        purchase: purchase.map(|(interruptible, seed, _)| PurchaseSim {
            instance: cat.instance("m5.large").unwrap().clone(),
            spec: PurchaseSpec {
                interruptible,
                ..PurchaseSpec::new("m5.large")
            },
            seed,
        }),
        ..SimConfig::default()
    }
}

#[test]
fn committed_and_on_demand_cost_less_than_all_on_demand_and_change_no_decision() {
    let kinds = [
        "predictive".parse::<PolicyKind>().unwrap(),
        PolicyKind::Oracle,
    ];
    let plain = simulate(&demand(), &kinds, &config(None)).unwrap();
    let priced = simulate(&demand(), &kinds, &config(Some((false, 1, 0.5)))).unwrap();
    for (a, b) in plain.policies.iter().zip(&priced.policies) {
        assert!(a.purchase.is_none());
        let p = b.purchase.as_ref().unwrap();
        // Not interruptible: the same decisions and the same service.
        assert_eq!(a.trace.requested, b.trace.requested, "{}", a.name);
        assert_eq!(a.metrics, b.metrics, "{}", a.name);
        assert_eq!((p.interruptions, p.spot_hours), (0, 0.0));
        // All on-demand is the replica-hours at the on-demand price.
        assert!((p.dollars_on_demand - b.metrics.cost * 0.096).abs() < 1e-9);
        // A base was committed after the first day, and it paid.
        assert!(p.committed > 0, "{}", a.name);
        assert!(p.dollars < p.dollars_on_demand, "{}: {p:?}", a.name);
        assert!(p.dollars > 0.62 * p.dollars_on_demand, "{}: {p:?}", a.name);
    }
}

#[test]
fn spot_interruptions_are_seeded_and_counted_as_under_provisioned() {
    let oracle = [PolicyKind::Oracle];
    let plain = simulate(&demand(), &oracle, &config(None)).unwrap();
    assert_eq!(plain.policies[0].metrics.under_steps, 0);
    let a = simulate(&demand(), &oracle, &config(Some((true, 7, 0.5)))).unwrap();
    let b = simulate(&demand(), &oracle, &config(Some((true, 7, 0.5)))).unwrap();
    assert_eq!(a, b, "the same seed draws the same interruptions");
    let run = &a.policies[0];
    let p = run.purchase.as_ref().unwrap();
    assert!(p.spot_hours > 0.0);
    assert!(p.interruptions > 0, "{p:?}");
    // The oracle has no slack to spare: every missing replica step can only add shortfalls.
    assert!(run.metrics.under_steps > 0);
    assert!(run.metrics.under_steps as u64 <= p.replica_steps_lost);
    // The budget caps spot (at 0.5 a month, 5 replicas of 1% of steps): the rest is partly committed.
    assert!(p.committed > 0, "{p:?}");
    assert!(p.dollars < 0.7 * p.dollars_on_demand, "{p:?}");
    let other = simulate(&demand(), &oracle, &config(Some((true, 8, 0.5)))).unwrap();
    assert_ne!(
        other.policies[0].purchase.as_ref().unwrap().interruptions,
        0,
        "another seed still draws interruptions"
    );
    assert_ne!(other, a, "another seed, other draws");
}

#[test]
fn rarely_reclaimed_spot_takes_everything_cheaper_than_a_commitment() {
    let r = simulate(
        &demand(),
        &[PolicyKind::Oracle],
        &config(Some((true, 1, 0.05))),
    )
    .unwrap();
    let p = r.policies[0].purchase.as_ref().unwrap();
    assert_eq!(
        (p.committed, p.committed_hours, p.on_demand_hours),
        (0, 0.0, 0.0)
    );
    assert!(
        (p.dollars - p.dollars_on_demand * 0.037 / 0.096).abs() < 1e-6,
        "{p:?}"
    );
}

#[test]
fn a_purchase_naming_another_type_is_refused() {
    let mut cfg = config(Some((true, 1, 0.5)));
    if let Some(p) = cfg.purchase.as_mut() {
        p.spec.instance_type = "m9.huge".into();
    }
    let e = simulate(&demand(), &[PolicyKind::Oracle], &cfg).unwrap_err();
    assert!(e
        .to_string()
        .contains("\"m9.huge\" is not in the pricing catalogue"));
}

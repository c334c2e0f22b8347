//! Known-answer test: the HPA policy steps through a hand-made trace exactly as the Kubernetes
//! autoscaling/v2 algorithm does (values worked out by hand in the comments).

use prescale_policy::{Decision, Guard, Reason};
use prescale_replay::{simulate, PolicyKind, SimConfig};

#[test]
fn hpa_reproduces_the_kubernetes_algorithm_step_by_step() {
    // c = 10 per replica, target 0.7, tolerance 0.1, 300 s steps (stabilization window = the
    // current and the previous step), delay 1 step. Oracle start: max(need 2, need 2) = 2.
    // t0: d20 ready2 util1.00 ratio1.43 -> ceil(20/7)=3            scale 2->3
    // t1: d20 ready3 util0.67 ratio0.95 within tolerance           hold 3
    // t2: d50 ready3 util1.67 -> ceil(50/7)=8                       scale 3->8 (under: 50 > 30)
    // t3: d80 ready8 util1.00 -> ceil(80/7)=12                      scale 8->12
    // t4: d30 ready12 util0.25 -> 5, window max(12,5)=12            hold 12 (stabilized)
    // t5: d30 -> 5, window max(5,5)=5                               scale 12->5
    // t6: d30 ready5 util0.60 ratio0.857 (outside 0.1) -> 5         hold 5
    // t7: d10 -> 2, window max(5,2)=5                               hold 5 (stabilized)
    // t8: d10 -> 2, window max(2,2)=2                               scale 5->2
    let demand = [20.0, 20.0, 50.0, 80.0, 30.0, 30.0, 30.0, 10.0, 10.0];
    let cfg = SimConfig {
        capacity_per_replica: Some(10.0),
        ..SimConfig::default()
    };
    let r = simulate(&demand, &["hpa".parse().unwrap(), PolicyKind::Oracle], &cfg).unwrap();
    let hpa = r.policy("hpa").unwrap();
    assert_eq!(hpa.trace.requested, vec![3, 3, 8, 12, 12, 5, 5, 5, 2]);
    assert_eq!(hpa.trace.ready, vec![2, 3, 3, 8, 12, 5, 5, 5, 2]);
    let under: Vec<usize> = (0..demand.len())
        .filter(|&t| hpa.trace.violation[t])
        .collect();
    assert_eq!(under, vec![2]);
    assert_eq!(hpa.metrics.actions, 5);
    assert_eq!(hpa.metrics.max_step, 7);
    assert!((hpa.metrics.cost - 55.0 / 12.0).abs() < 1e-9);
    assert!((hpa.metrics.cost_vs_oracle.unwrap() - 55.0 / 34.0).abs() < 1e-9);
    assert!((hpa.metrics.under_pct - 100.0 / 9.0).abs() < 1e-9);
    assert!((hpa.metrics.unserved_pct - 100.0 * 20.0 / 280.0).abs() < 1e-9);
    assert_eq!(r.oracle_requested, vec![2, 5, 8, 8, 3, 3, 3, 1, 1]);
    // The stabilized scale-in at t4 says so.
    let t4_hold = simulate(&demand[..5], &["hpa".parse().unwrap()], &cfg).unwrap();
    assert_eq!(t4_hold.policies[0].trace.changes.len(), 3);
    let changes = &hpa.trace.changes;
    assert!(matches!(
        &changes[3],
        (
            5,
            Decision::Scale {
                from: 12,
                to: 5,
                reason: Reason::Utilization { desired: 5, .. }
            }
        )
    ));
}

#[test]
fn hpa_scale_up_is_rate_limited_per_15_seconds() {
    // 15 s steps: one period per step; max(4 pods, 100 %) per period. c = 1, target 0.5, delay 1.
    // t0: d1 ready1 util1 -> ceil(1/0.5)=2                 scale 1->2
    // t1: d1 ready2 util0.5 = target                       hold 2
    // t2: d10 ready2 -> 20, limit max(2+4, 2*2)=6          scale 2->6
    // t3: d10 ready6 -> 20, limit max(6+4, 12)=12          scale 6->12
    // t4: d10 ready12 -> 20, limit max(16, 24)             scale 12->20
    // t5: d10 ready20 util0.5 = target                     hold 20
    let demand = [1.0, 1.0, 10.0, 10.0, 10.0, 10.0];
    let cfg = SimConfig {
        capacity_per_replica: Some(1.0),
        step_seconds: 15.0,
        ..SimConfig::default()
    };
    let r = simulate(&demand, &["hpa@0.5".parse().unwrap()], &cfg).unwrap();
    let run = &r.policies[0];
    assert_eq!(run.trace.requested, vec![2, 2, 6, 12, 20, 20]);
    assert!(matches!(
        run.trace.changes[1].1.reason(),
        Reason::Guarded {
            guard: Guard::ScaleUpLimit { limit: 6 },
            wanted: 20,
            ..
        }
    ));
}

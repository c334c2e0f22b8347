//! The fleet pass: results in input order, every item run exactly once, a panicking item isolated,
//! and a blocked item never keeping the others from completing; plus real controllers ticked in
//! parallel giving the same decisions as ticked one after another.

use prescale_control::{Controller, DecisionRecord, Fleet, Outcome, WorkloadSpec};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn results_come_back_in_input_order() {
    let mut items: Vec<usize> = (0..1000).collect();
    let out = Fleet::with_threads(4).run(&mut items, |x| *x * 3);
    let got: Vec<usize> = out.into_iter().filter_map(Outcome::done).collect();
    assert_eq!(got, (0..1000).map(|x| x * 3).collect::<Vec<_>>());
}

#[test]
fn a_panicking_item_is_reported_and_the_others_complete() {
    let mut items: Vec<u32> = (0..200).collect();
    let ran = AtomicUsize::new(0);
    let out = Fleet::with_threads(3).run(&mut items, |x| {
        ran.fetch_add(1, Ordering::SeqCst);
        if *x == 57 {
            panic!("bad workload {x}");
        }
        *x += 1;
        *x
    });
    assert_eq!(ran.load(Ordering::SeqCst), 200);
    assert_eq!(out[57], Outcome::Panicked("bad workload 57".into()));
    assert_eq!(out.iter().filter(|o| o.is_panicked()).count(), 1);
    for (i, o) in out.iter().enumerate().filter(|(i, _)| *i != 57) {
        assert_eq!(o, &Outcome::Done(i as u32 + 1));
        assert_eq!(items[i], i as u32 + 1);
    }
}

#[test]
fn a_blocked_item_does_not_keep_the_others_from_completing() {
    // Item 0 blocks until every other item has finished: the pass can only return if the other
    // thread completed all of them while item 0 was still blocked.
    let n = 500;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let done_tx = std::sync::Mutex::new(done_tx);
    let done_rx = std::sync::Mutex::new(done_rx);
    let finished_others = AtomicUsize::new(0);
    let mut items: Vec<usize> = (0..n).collect();
    let seen_while_blocked = std::sync::Mutex::new(None);
    let out = Fleet::with_threads(2).run(&mut items, |x| {
        if *x == 0 {
            // Wait (bounded, so a broken fleet fails instead of hanging) for the last other item.
            let got = done_rx_recv(&done_rx);
            *seen_while_blocked.lock().unwrap() =
                Some((got, finished_others.load(Ordering::SeqCst)));
            return 0;
        }
        let k = finished_others.fetch_add(1, Ordering::SeqCst) + 1;
        if k == n - 1 {
            // The receiver lives until the pass returns.
            done_tx.lock().unwrap().send(()).unwrap();
        }
        *x
    });
    let (got, finished) = seen_while_blocked.into_inner().unwrap().unwrap();
    assert!(
        got,
        "the other items did not finish while item 0 was blocked"
    );
    assert_eq!(finished, n - 1);
    assert_eq!(out.len(), n);
    assert!(out.iter().all(|o| !o.is_panicked()));
}

fn done_rx_recv(rx: &std::sync::Mutex<mpsc::Receiver<()>>) -> bool {
    rx.lock()
        .unwrap()
        .recv_timeout(Duration::from_secs(60))
        .is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_item_runs_exactly_once(n in 0usize..300, threads in 0usize..9, bad in proptest::option::of(0usize..300)) {
        let mut items: Vec<(usize, usize)> = (0..n).map(|i| (i, 0)).collect();
        let out = Fleet::with_threads(threads).run(&mut items, |(i, runs)| {
            *runs += 1;
            if Some(*i) == bad {
                panic!("item {i}");
            }
            *i
        });
        prop_assert_eq!(out.len(), n);
        for (i, (o, (id, runs))) in out.iter().zip(&items).enumerate() {
            prop_assert_eq!(*id, i);
            prop_assert_eq!(*runs, 1);
            if Some(i) == bad {
                prop_assert_eq!(o, &Outcome::Panicked(format!("item {i}")));
            } else {
                prop_assert_eq!(o, &Outcome::Done(i));
            }
        }
    }
}

const STEP_MS: i64 = 60_000;

fn controller(i: usize) -> Controller {
    let mut s = WorkloadSpec::new(
        WorkloadId::new(format!("w{i}")).unwrap(),
        MetricName::new("rps").unwrap(),
        10.0,
    );
    s.season = Some(Duration::from_secs(24 * 60));
    s.history_steps = 200;
    Controller::new(s).unwrap()
}

fn demand(i: usize, k: i64) -> f64 {
    let phase = (k + i as i64 * 5).rem_euclid(24) as f64 / 24.0;
    50.0 + 30.0 * (phase * std::f64::consts::TAU).sin() + ((k * 7919 + i as i64) % 11) as f64
}

fn window(i: usize, from: i64, to: i64) -> Vec<Sample> {
    (from..to)
        .map(|k| Sample {
            ts: Timestamp(k * STEP_MS),
            value: demand(i, k),
        })
        .collect()
}

fn pass(fleet: Fleet, ctrls: &mut [(usize, Controller)], k: i64) -> Vec<DecisionRecord> {
    let from = if k == 100 { 0 } else { k - 4 };
    fleet
        .run(ctrls, |(i, c)| {
            c.tick(&window(*i, from, k), Timestamp(k * STEP_MS + 1_000), None)
        })
        .into_iter()
        .map(|o| o.done().unwrap())
        .collect()
}

#[test]
fn parallel_controller_ticks_match_sequential_ones() {
    let mut seq: Vec<(usize, Controller)> = (0..12).map(|i| (i, controller(i))).collect();
    let mut par: Vec<(usize, Controller)> = (0..12).map(|i| (i, controller(i))).collect();
    for k in 100..130 {
        let a = pass(Fleet::with_threads(1), &mut seq, k);
        let b = pass(Fleet::with_threads(3), &mut par, k);
        assert_eq!(a, b, "tick {k}");
        assert!(a.iter().all(|r| r.replicas_after.is_some()));
    }
    assert!(par.iter().all(|(_, c)| c.fits() > 0));
}

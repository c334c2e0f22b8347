//! State that follows the owner, against a real `nats-server -js`: instance a learns a
//! predictive workload's headroom and snapshots it every few decisions; a stalls, b takes the
//! lease and starts from a's snapshot (the same learned state, exactly); a stale a can no longer
//! overwrite b's snapshot; a corrupt snapshot and one from a newer format are refused, counted,
//! and the workload starts fresh.

use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{Bus, BusOptions, Fence, Ownership, Partitions, Snapshots};
use prescale_control::{Controller, ControllerSnapshot, WorkloadSpec, SNAPSHOT_VERSION};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use prescale_daemon::cluster::carry::SNAPSHOT_EVERY;
use prescale_daemon::cluster::{Carried, ClusterLink, Resumed};
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(1);
const STEP_MS: i64 = 60_000;

async fn member(url: &str, id: &str) -> (Arc<Ownership>, ClusterLink, Bus) {
    let bus = Bus::connect(url, BusOptions::new(id, TTL)).await.unwrap();
    let o = Arc::new(
        Ownership::join(bus.clone(), id, Partitions::new(1).unwrap())
            .await
            .unwrap(),
    );
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let link = ClusterLink::new(o.clone(), tokio::runtime::Handle::current(), tx, vec![]);
    (o, link, bus)
}

fn spec() -> WorkloadSpec {
    let mut s = WorkloadSpec::new(
        WorkloadId::new("web").unwrap(),
        MetricName::new("rps").unwrap(),
        10.0,
    );
    s.policy = "predictive".parse().unwrap();
    s.step = Duration::from_millis(STEP_MS as u64);
    s.min = 1;
    s.max = 50;
    s
}

/// About 40 with a burst to 120 every 7th step: the headroom learns to move off its start.
fn demand(k: i64) -> f64 {
    if k % 7 == 6 {
        120.0
    } else {
        40.0 + ((k * 7919) % 11) as f64
    }
}

/// Ticks `c` through steps `from..to`.
fn learn(c: &mut Controller, from: i64, to: i64) {
    let all: Vec<Sample> = (0..to + 1)
        .map(|k| Sample {
            ts: Timestamp(k * STEP_MS),
            value: demand(k),
        })
        .collect();
    let mut current = None;
    for k in from.max(1)..=to {
        let window: Vec<Sample> = all
            .iter()
            .filter(|s| s.ts.0 < k * STEP_MS)
            .copied()
            .collect();
        let r = c.tick(&window, Timestamp(k * STEP_MS + 1_000), current);
        current = r.replicas_after.or(current);
    }
}

/// Runs `f` on a plain thread (the link blocks, as it does on the control loop's threads).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_owner_resumes_the_learned_headroom_and_bad_snapshots_are_refused() {
    let Some(nats) =
        nats_or_skip("a_new_owner_resumes_the_learned_headroom_and_bad_snapshots_are_refused")
    else {
        return;
    };
    let w = WorkloadId::new("web").unwrap();
    let (a, link_a, _) = member(&nats.url(), "a").await;
    a.round().await.unwrap();
    let (fence_a, _) = link_a
        .fence_of(&w)
        .expect("a alone owns the only partition");

    // a takes the workload over (nothing stored yet: fresh), learns, and snapshots every
    // SNAPSHOT_EVERY decisions.
    let (link, resumed, c_a, headroom_a) = blocking(move || {
        let mut c = Controller::new(spec()).unwrap();
        let mut carried = Carried::default();
        let resumed = link_a.follow(&mut carried, &mut c, Some(fence_a));
        learn(&mut c, 0, 120);
        for _ in 0..SNAPSHOT_EVERY {
            link_a.decided_under(&mut carried, &c, fence_a);
        }
        let h = c.learned_headroom(0).unwrap();
        (link_a, resumed, c, h)
    })
    .await;
    let link_a = link;
    assert_eq!(resumed, Some(Resumed::Fresh));
    assert!(
        (headroom_a - 1.0).abs() > 0.01,
        "nothing learned: {headroom_a}"
    );
    until("a's snapshot", || link_a.view().snapshots_written == 1).await;

    // a stalls (no more rounds): b takes the lease once a's expires.
    let (b, link_b, bus_b) = member(&nats.url(), "b").await;
    let mut waited = Duration::ZERO;
    while b.view().held.is_empty() {
        assert!(waited < TTL * 5, "b never took over");
        tokio::time::sleep(TTL / 4).await;
        waited += TTL / 4;
        b.round().await.unwrap();
    }
    let (fence_b, _) = link_b.fence_of(&w).unwrap();
    let lb = link_b.clone();
    let (resumed, c_b) = blocking(move || {
        let mut c = Controller::new(spec()).unwrap();
        assert_eq!(c.learned_headroom(0), Some(1.0));
        let mut carried = Carried::default();
        let r = lb.follow(&mut carried, &mut c, Some(fence_b));
        (r, c)
    })
    .await;
    assert_eq!(resumed, Some(Resumed::Restored("a".into())));
    let headroom_b = c_b.learned_headroom(0).unwrap();
    assert!(
        (headroom_b - headroom_a).abs() < 1e-12,
        "b resumed {headroom_b}, a had learned {headroom_a}"
    );
    assert_eq!(
        c_b.snapshot("b").headroom,
        c_a.snapshot("a").headroom,
        "the whole learned state carried"
    );
    assert_eq!(link_b.view().snapshots_restored, 1);

    // b snapshots its own state; a, stale, cannot overwrite it.
    let snapshots = Snapshots::new(&bus_b);
    link_b.save(&c_b, fence_b);
    until("b's snapshot", || link_b.view().snapshots_written == 1).await;
    let mut c_stale = Controller::new(spec()).unwrap();
    learn(&mut c_stale, 0, 30);
    link_a.save(&c_stale, fence_a);
    until("a's refused write", || link_a.view().snapshots_failed == 1).await;
    let stored = snapshots.get(&w).await.unwrap().unwrap();
    let stored = ControllerSnapshot::decode("web", &stored).unwrap();
    assert_eq!(stored.written_by, "b");

    // A corrupt snapshot: refused, counted, the workload starts fresh.
    let fresh_under = |link: ClusterLink, fence: Fence| {
        blocking(move || {
            let mut c = Controller::new(spec()).unwrap();
            let mut carried = Carried::default();
            let r = link.follow(&mut carried, &mut c, Some(fence));
            (r, c.learned_headroom(0))
        })
    };
    snapshots
        .put(&w, b"{\"version\":1,\"workload\":\"web\",\"pol".to_vec())
        .await
        .unwrap();
    let (r, h) = fresh_under(link_b.clone(), fence_b).await;
    match r {
        Some(Resumed::Refused(e)) => {
            assert!(
                e.contains("snapshot of web") && e.contains("not a controller snapshot"),
                "{e}"
            )
        }
        other => panic!("a corrupt snapshot was not refused: {other:?}"),
    }
    assert_eq!(h, Some(1.0));
    assert_eq!(link_b.view().snapshots_refused, 1);

    // One from a newer format: refused before its fields are read.
    let mut newer = serde_json::to_value(c_a.snapshot("a")).unwrap();
    newer["version"] = (SNAPSHOT_VERSION + 1).into();
    newer["headroom"] = serde_json::json!({"controller": "something-new"});
    snapshots
        .put(&w, newer.to_string().into_bytes())
        .await
        .unwrap();
    let (r, h) = fresh_under(link_b.clone(), fence_b).await;
    match r {
        Some(Resumed::Refused(e)) => assert!(e.contains("newer"), "{e}"),
        other => panic!("a newer snapshot was not refused: {other:?}"),
    }
    assert_eq!(h, Some(1.0));
    assert_eq!(link_b.view().snapshots_refused, 2);
    drop(nats);
}

//! Partition leases against a real `nats-server -js`: two members split the partitions with no
//! overlap, a leaving member's share is taken at the next round, a stalled member's share is
//! taken once its lease expires and its stale fencing token is refused, and instances with
//! different partition counts are refused.

use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{Bus, BusError, BusOptions, FenceError, Ownership, Partitions};
use std::collections::BTreeSet;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(1);

async fn member(url: &str, id: &str, parts: u32) -> Result<Ownership, BusError> {
    let bus = Bus::connect(url, BusOptions::new(id, TTL)).await?;
    Ownership::join(bus, id, Partitions::new(parts).unwrap()).await
}

fn held(o: &Ownership) -> BTreeSet<u32> {
    o.view().held.keys().copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_split_partitions_and_fence_a_stale_owner() {
    let Some(nats) = nats_or_skip("members_split_partitions_and_fence_a_stale_owner") else {
        return;
    };
    let a = member(&nats.url(), "a", 16).await.unwrap();
    a.round().await.unwrap();
    assert_eq!(held(&a).len(), 16, "alone, a holds every partition");
    let b = member(&nats.url(), "b", 16).await.unwrap();
    // b joins: a releases b's share at its next round, b takes it at its next.
    b.round().await.unwrap();
    a.round().await.unwrap();
    b.round().await.unwrap();
    let (ha, hb) = (held(&a), held(&b));
    assert!(ha.is_disjoint(&hb), "{ha:?} {hb:?}");
    assert_eq!(ha.len() + hb.len(), 16);
    assert!(!ha.is_empty() && !hb.is_empty());
    assert_eq!(a.view().members, vec!["a".to_string(), "b".to_string()]);

    // a stalls (no rounds) holding a fence; b's rounds take a's share once a's heartbeat and
    // leases expire.
    let p = *ha.iter().next().unwrap();
    let stale = a.fence(p).unwrap();
    a.check(stale).await.unwrap();
    let mut waited = Duration::ZERO;
    while held(&b).len() < 16 {
        assert!(
            waited < TTL * 4,
            "b did not take a's partitions: {:?}",
            held(&b)
        );
        tokio::time::sleep(TTL / 4).await;
        waited += TTL / 4;
        b.round().await.unwrap();
    }
    assert!(waited <= TTL * 2 + TTL / 2, "taken after {waited:?}");
    // a wakes and tries to act under its old token: refused, naming the new holder.
    match a.check(stale).await {
        Err(FenceError::Stale { owner, current, .. }) => {
            assert_eq!(owner, "b");
            assert!(current.unwrap() > stale.token);
        }
        other => panic!("stale token accepted or misreported: {other:?}"),
    }
    // a's own view no longer lists the expired leases.
    assert!(held(&a).is_empty());
    // b's fence passes.
    b.check(b.fence(p).unwrap()).await.unwrap();

    // a rejoins and b leaves: a holds everything after its next round.
    a.round().await.unwrap();
    b.round().await.unwrap();
    a.round().await.unwrap();
    assert!(!held(&a).is_empty() && held(&a).len() < 16);
    assert_eq!(a.members().await.unwrap(), ["a", "b"]);
    b.leave().await.unwrap();
    // A member that left (its heartbeat deleted, the deletion still in the stream) is not listed.
    assert_eq!(a.members().await.unwrap(), ["a"]);
    a.round().await.unwrap();
    assert_eq!(held(&a).len(), 16);
    assert_eq!(a.view().members, ["a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_partition_count_is_refused() {
    let Some(nats) = nats_or_skip("another_partition_count_is_refused") else {
        return;
    };
    member(&nats.url(), "a", 8).await.unwrap();
    match member(&nats.url(), "b", 16).await {
        Err(BusError::PartitionMismatch {
            cluster: 8,
            ours: 16,
        }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a second partition count was accepted"),
    }
    assert!(matches!(
        member(&nats.url(), "not.valid", 8).await,
        Err(BusError::Config(_))
    ));
}

//! The leader lease against a real `nats-server -js`: of two contenders exactly one leads and both
//! read the same leader; when the leader stops renewing (a stalled or killed process) the other
//! leads within two lease periods of its last renewal, and the former leader's token is refused
//! as stale; a leader that resigns is replaced at the other's next round with a larger token; a
//! role that is not one key token is refused.

use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{Bus, BusError, BusOptions, Leader, LeaderError, LeaderInfo};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(1);

async fn contender(url: &str, id: &str) -> Leader {
    let bus = Bus::connect(url, BusOptions::new(id, TTL)).await.unwrap();
    Leader::new(bus, id, "fleet_learning").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_replaced_within_two_lease_periods_and_a_stale_one_refused() {
    let Some(nats) = nats_or_skip("one_leader_replaced_within_two_lease_periods") else {
        return;
    };
    let a = contender(&nats.url(), "a").await;
    let b = contender(&nats.url(), "b").await;
    // Both contend at once, twice: exactly one leads, and it stays the same one.
    for _ in 0..2 {
        let (ra, rb) = tokio::join!(a.round(), b.round());
        assert_ne!(ra.unwrap(), rb.unwrap(), "exactly one leads");
    }
    let (leader, other, other_id) = if a.token().is_some() {
        (&a, &b, "b")
    } else {
        (&b, &a, "a")
    };
    assert!(other.token().is_none());
    let token = leader.token().unwrap();
    let seen = leader.current().await.unwrap().unwrap();
    assert_eq!(other.current().await.unwrap().as_ref(), Some(&seen));
    leader.check(token).await.unwrap();

    // The leader stalls (renews nothing, keeps its token); the other rounds every quarter period.
    leader.round().await.unwrap();
    let last_renewal = Instant::now();
    leader.forget();
    while !other.round().await.unwrap() {
        assert!(
            last_renewal.elapsed() <= TTL * 2,
            "no new leader within two lease periods"
        );
        tokio::time::sleep(TTL / 4).await;
    }
    let took = last_renewal.elapsed();
    assert!(took <= TTL * 2, "re-elected after {took:?}");
    let new_token = other.token().unwrap();
    assert!(new_token > token);
    let now = LeaderInfo {
        id: other_id.to_string(),
        token: new_token,
    };
    assert_eq!(leader.current().await.unwrap(), Some(now));
    assert_ne!(seen.id, other_id);
    match leader.check(token).await {
        Err(LeaderError::Stale { owner, current, .. }) => {
            assert_eq!(owner, other_id);
            assert_eq!(current, Some(new_token));
        }
        r => panic!("the stalled leader's token was not refused as stale: {r:?}"),
    }
    assert!(
        !leader.round().await.unwrap(),
        "the former leader took it back"
    );

    // The new leader resigns: the other leads at its next round, with a larger token.
    other.resign().await;
    assert!(other.token().is_none());
    assert!(leader.round().await.unwrap());
    assert!(leader.token().unwrap() > new_token);
    assert!(matches!(
        other.check(new_token).await,
        Err(LeaderError::Stale { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_is_not_one_key_token_is_refused() {
    let Some(nats) = nats_or_skip("a_role_that_is_not_one_key_token_is_refused") else {
        return;
    };
    let bus = Bus::connect(&nats.url(), BusOptions::new("a", TTL))
        .await
        .unwrap();
    for bad in ["", "fleet.learning", "a b", "*"] {
        match Leader::new(bus.clone(), "a", bad) {
            Err(BusError::Config(why)) => assert!(why.contains("leader role"), "{why}"),
            Err(e) => panic!("{bad:?}: {e}"),
            Ok(_) => panic!("{bad:?} accepted"),
        }
    }
}

//! The fleet-learning bucket against a real `nats-server -js`: rows written by two instances are
//! listed once each (the latest value, in key order, escaped keys included), the result key is
//! not a row, a rewritten row replaces the old one, and the result reads back with its revision;
//! profile partials are listed apart from the rows.

use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{profile_key, row_key, Bus, BusOptions, FleetLearning};
use prescale_core::WorkloadId;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_are_listed_once_each_and_the_result_is_not_a_row() {
    let Some(nats) = nats_or_skip("rows_are_listed_once_each_and_the_result_is_not_a_row") else {
        return;
    };
    let ttl = Duration::from_secs(2);
    let a = FleetLearning::new(
        &Bus::connect(&nats.url(), BusOptions::new("a", ttl))
            .await
            .unwrap(),
    );
    let b = FleetLearning::new(
        &Bus::connect(&nats.url(), BusOptions::new("b", ttl))
            .await
            .unwrap(),
    );
    assert!(a.rows().await.unwrap().is_empty());
    assert!(a.result().await.unwrap().is_none());
    let w = |s: &str| WorkloadId::new(s).unwrap();
    a.put_row(&w("web"), b"web-1".to_vec()).await.unwrap();
    b.put_row(&w("ns/api.v2"), b"api".to_vec()).await.unwrap();
    a.put_row(&w("web"), b"web-2".to_vec()).await.unwrap();
    let rev = b.put_result(b"result".to_vec()).await.unwrap();
    let rows = b.rows().await.unwrap();
    let listed: Vec<(&str, &[u8])> = rows
        .iter()
        .map(|r| (r.key.as_str(), r.value.as_slice()))
        .collect();
    assert_eq!(
        listed,
        [
            ("feat.ns=2Fapi=2Ev2", &b"api"[..]),
            ("feat.web", &b"web-2"[..])
        ]
    );
    assert_eq!(rows[0].key, row_key(&w("ns/api.v2")));
    let result = a.result().await.unwrap().unwrap();
    assert_eq!(
        (result.revision, result.value.as_slice()),
        (rev, &b"result"[..])
    );
    // Profile partials: their own prefix, listed apart from the feature rows.
    b.put_profile(&w("web"), b"p-1".to_vec()).await.unwrap();
    a.put_profile(&w("web"), b"p-2".to_vec()).await.unwrap();
    let profiles = b.profiles().await.unwrap();
    let listed: Vec<(&str, &[u8])> = profiles
        .iter()
        .map(|r| (r.key.as_str(), r.value.as_slice()))
        .collect();
    assert_eq!(listed, [("prof.web", &b"p-2"[..])]);
    assert_eq!(profiles[0].key, profile_key(&w("web")));
    assert_eq!(b.rows().await.unwrap().len(), 2);
}

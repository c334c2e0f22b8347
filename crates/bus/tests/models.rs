//! The fleet models' keys against a real `nats-server -js`: a generation larger than one chunk is
//! written as several chunks (each under the server's message limit) and then its manifest, reads
//! back byte for byte, histories are listed apart from the models, and pruning deletes the chunks
//! of every generation not kept (once: a deleted chunk is not deleted again).

use prescale_bus::models::{chunk_key, CHUNK_BYTES};
use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{history_key, Bus, BusOptions, FleetModels};
use prescale_core::WorkloadId;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_is_chunked_read_back_and_older_ones_pruned() {
    let Some(nats) = nats_or_skip("a_generation_is_chunked_read_back_and_older_ones_pruned") else {
        return;
    };
    let bus = Bus::connect(&nats.url(), BusOptions::new("a", Duration::from_secs(2)))
        .await
        .unwrap();
    let m = FleetModels::new(&bus);
    assert!(m.manifest().await.unwrap().is_none());
    let w = WorkloadId::new("ns/web").unwrap();
    m.put_history(&w, b"h1".to_vec()).await.unwrap();
    // 2.5 chunks of distinct bytes: more than one message of the default 1 MiB limit in all
    let body: Vec<u8> = (0..CHUNK_BYTES * 5 / 2).map(|i| (i % 251) as u8).collect();
    assert_eq!(m.publish("1-10", &body, b"m1".to_vec()).await.unwrap(), 3);
    assert_eq!(m.manifest().await.unwrap().unwrap().value, b"m1");
    let mut back = Vec::new();
    for i in 0..3 {
        back.extend(m.chunk("1-10", i).await.unwrap().unwrap().value);
    }
    assert_eq!(back, body);
    assert!(m.chunk("1-10", 3).await.unwrap().is_none());
    m.publish("1-20", b"small", b"m2".to_vec()).await.unwrap();
    m.publish("2-30", b"other", b"m3".to_vec()).await.unwrap();
    // histories only: no manifest or chunk among them
    let h = m.histories().await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].key.as_str(), h[0].value.as_slice()),
        (history_key(&w).as_str(), &b"h1"[..])
    );
    assert_eq!(
        m.prune(&["2-30", "1-20"]).await.unwrap(),
        3,
        "the three chunks of 1-10"
    );
    assert!(m.chunk("1-10", 0).await.unwrap().is_none());
    assert!(m.chunk("1-20", 0).await.unwrap().is_some());
    assert_eq!(m.prune(&["2-30", "1-20"]).await.unwrap(), 0, "deleted once");
    assert_eq!(m.prune(&["2-30"]).await.unwrap(), 1);
    assert_eq!(
        m.get(&chunk_key("2-30", 0)).await.unwrap().unwrap().value,
        b"other"
    );
    assert_eq!(m.manifest().await.unwrap().unwrap().value, b"m3");
    assert!(
        m.publish("a.b", b"x", b"m".to_vec()).await.is_err(),
        "not a key token"
    );
}

//! Against a real `nats-server -js` on loopback: points published to their partitions come back
//! from the partitions' durable consumers exactly as sent, a batch sent twice is stored once, and
//! a message that is not a point batch is counted, terminated and never stalls the consumer.

use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{
    partition_of, points_subject, Bus, BusOptions, CodecError, PartitionConsumer, Partitions,
    Publisher,
};
use prescale_core::{Labels, MetricName, Point, Sample, SeriesKey, Timestamp, WorkloadId};
use std::time::Duration;

fn point(w: &str, ts: i64, v: f64) -> Point {
    Point {
        key: SeriesKey::new(
            WorkloadId::new(w).unwrap(),
            MetricName::new("cpu_cores").unwrap(),
        ),
        labels: Labels::new(),
        sample: Sample {
            ts: Timestamp(ts),
            value: v,
        },
    }
}

async fn drain(c: &PartitionConsumer) -> (Vec<Point>, Vec<CodecError>) {
    let (mut pts, mut bad) = (Vec::new(), Vec::new());
    loop {
        let mut d = c.fetch(100, Duration::from_millis(300)).await.unwrap();
        if d.messages == 0 {
            return (pts, bad);
        }
        pts.append(&mut d.points);
        bad.append(&mut d.bad);
        d.ack().await.unwrap();
    }
}

fn sorted(mut v: Vec<Point>) -> Vec<Point> {
    v.sort_by(|a, b| (&a.key, a.sample.ts).cmp(&(&b.key, b.sample.ts)));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_reach_their_partitions_consumers_once() {
    let Some(nats) = nats_or_skip("points_reach_their_partitions_consumers_once") else {
        return;
    };
    let bus = Bus::connect(&nats.url(), BusOptions::new("t", Duration::from_secs(2)))
        .await
        .unwrap();
    let parts = Partitions::new(4).unwrap();
    let publisher = Publisher::new(bus.js.clone(), parts);
    let pts: Vec<Point> = (0..20)
        .flat_map(|w| (0..5).map(move |t| point(&format!("svc-{w}"), t * 1000, (w * t) as f64)))
        .collect();
    let sent = publisher.publish(&pts).await.unwrap();
    assert_eq!((sent.points, sent.duplicates), (100, 0));
    // The same batch again (a retry after a lost acknowledgement): stored once.
    let again = publisher.publish(&pts).await.unwrap();
    assert_eq!(again.duplicates, again.messages);
    let mut all = Vec::new();
    for p in parts.all() {
        let c = PartitionConsumer::open(&bus, p).await.unwrap();
        let (got, bad) = drain(&c).await;
        assert!(bad.is_empty());
        assert!(got
            .iter()
            .all(|x| partition_of(&x.key.workload, parts) == p));
        all.extend(got);
    }
    assert_eq!(sorted(all), sorted(pts));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_message_is_counted_and_dropped_not_redelivered() {
    let Some(nats) = nats_or_skip("a_bad_message_is_counted_and_dropped_not_redelivered") else {
        return;
    };
    let bus = Bus::connect(&nats.url(), BusOptions::new("t", Duration::from_secs(2)))
        .await
        .unwrap();
    let parts = Partitions::new(1).unwrap();
    let publisher = Publisher::new(bus.js.clone(), parts);
    publisher
        .publish_raw(&points_subject(0), b"{\"not\": \"a batch\"}".to_vec())
        .await
        .unwrap();
    publisher
        .publish_raw(&points_subject(0), b"PSPB\x01\xff\xff".to_vec())
        .await
        .unwrap();
    publisher.publish(&[point("web", 1, 2.0)]).await.unwrap();
    let c = PartitionConsumer::open(&bus, 0).await.unwrap();
    let (got, bad) = drain(&c).await;
    assert_eq!(got, vec![point("web", 1, 2.0)]);
    assert_eq!(bad.len(), 2);
    assert_eq!(bad[0], CodecError::Magic);
    assert!(
        matches!(bad[1], CodecError::Truncated { .. }),
        "{:?}",
        bad[1]
    );
    // A second consumer handle on the same durable sees nothing left: the bad messages were
    // terminated, the good one acknowledged.
    let c2 = PartitionConsumer::open(&bus, 0).await.unwrap();
    let (left, bad_left) = drain(&c2).await;
    assert!(left.is_empty() && bad_left.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_delivery_is_not_lost() {
    let Some(nats) = nats_or_skip("an_unacknowledged_delivery_is_not_lost") else {
        return;
    };
    let bus = Bus::connect(&nats.url(), BusOptions::new("t", Duration::from_secs(2)))
        .await
        .unwrap();
    let publisher = Publisher::new(bus.js.clone(), Partitions::new(1).unwrap());
    publisher.publish(&[point("web", 1, 2.0)]).await.unwrap();
    let c = PartitionConsumer::open(&bus, 0).await.unwrap();
    let d = c.fetch(10, Duration::from_millis(300)).await.unwrap();
    assert_eq!(d.points.len(), 1);
    // The owner dies before its write: nothing acknowledged; the next owner still finds the
    // points pending on the durable consumer (its info counts them as delivered, unacknowledged).
    drop(d);
    drop(c);
    let stream = bus.js.get_stream("PRESCALE_POINTS").await.unwrap();
    let mut consumer: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer("points-0").await.unwrap();
    let info = consumer.info().await.unwrap();
    assert_eq!(info.num_ack_pending, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_publisher_uses_the_clusters_partition_count() {
    let Some(nats) = nats_or_skip("the_blocking_publisher_uses_the_clusters_partition_count")
    else {
        return;
    };
    let url = nats.url();
    // No instance has joined: nothing says how many partitions there are.
    let u = url.clone();
    let refused = tokio::task::spawn_blocking(move || {
        prescale_bus::BlockingPublisher::connect(&u, "agent").err()
    })
    .await
    .unwrap()
    .expect("a publisher without a cluster was accepted");
    assert!(
        refused.to_string().contains("start an instance"),
        "{refused}"
    );

    let bus = Bus::connect(&url, BusOptions::new("a", Duration::from_secs(2)))
        .await
        .unwrap();
    let parts = Partitions::new(4).unwrap();
    prescale_bus::Ownership::join(bus.clone(), "a", parts)
        .await
        .unwrap();
    let pts: Vec<Point> = (0..8)
        .map(|w| point(&format!("host-{w}"), 5, 1.0))
        .collect();
    let sent = pts.clone();
    let report = tokio::task::spawn_blocking(move || {
        let p = prescale_bus::BlockingPublisher::connect(&url, "agent").unwrap();
        assert_eq!(p.partitions(), Partitions::new(4).unwrap());
        p.publish(&sent).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(report.points, 8);
    let mut all = Vec::new();
    for p in parts.all() {
        let c = PartitionConsumer::open(&bus, p).await.unwrap();
        let (got, _) = drain(&c).await;
        assert!(got
            .iter()
            .all(|x| partition_of(&x.key.workload, parts) == p));
        all.extend(got);
    }
    assert_eq!(sorted(all), sorted(pts));
}

//! The actuation path under a lease, against a real `nats-server -js`: the fencing token travels
//! with the request to the actuator; once the lease has expired and another instance holds it, the
//! stale owner's actuation is refused before its actuator is called; and a new owner does not act
//! in the step it took the lease in.

use prescale_actuate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState};
use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{Bus, BusOptions, Ownership, Partitions};
use prescale_core::{Timestamp, WorkloadId};
use prescale_daemon::cluster::fenced::Fenced;
use prescale_daemon::cluster::ClusterLink;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TTL: Duration = Duration::from_secs(1);

/// Records every request it is asked to apply.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<ActuationRequest>>>);

impl Actuator for Recording {
    fn name(&self) -> &str {
        "recording"
    }
    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        self.0.lock().unwrap().push(req.clone());
        Ok(Applied {
            changed: true,
            detail: "recorded".into(),
        })
    }
    fn current(&mut self, _w: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        Ok(None)
    }
}

async fn member(url: &str, id: &str) -> (Arc<Ownership>, ClusterLink) {
    let bus = Bus::connect(url, BusOptions::new(id, TTL)).await.unwrap();
    let o = Arc::new(
        Ownership::join(bus, id, Partitions::new(4).unwrap())
            .await
            .unwrap(),
    );
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let link = ClusterLink::new(o.clone(), tokio::runtime::Handle::current(), tx, vec![]);
    (o, link)
}

fn request(w: &WorkloadId) -> ActuationRequest {
    ActuationRequest {
        desired: DesiredState::replicas(w.clone(), 3),
        decision_id: "web@1".into(),
        reason: r#"{"rule":"hpa"}"#.into(),
        issued_at: Timestamp(1),
    }
}

/// Applies `req` through the fence on a plain thread (as the control loop's ticks run).
async fn apply(
    link: &ClusterLink,
    fence: prescale_bus::Fence,
    rec: &Recording,
    req: ActuationRequest,
) -> Result<Applied, String> {
    let (link, mut rec) = (link.clone(), rec.clone());
    tokio::task::spawn_blocking(move || {
        Fenced {
            inner: &mut rec,
            link: &link,
            fence,
        }
        .apply(&req)
        .map_err(|e| e.to_string())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_cannot_act_and_the_token_travels_with_the_request() {
    let Some(nats) =
        nats_or_skip("a_stale_owner_cannot_act_and_the_token_travels_with_the_request")
    else {
        return;
    };
    let w = WorkloadId::new("web").unwrap();
    let (a, link_a) = member(&nats.url(), "a").await;
    a.round().await.unwrap();
    let (fence_a, since_a) = link_a.fence_of(&w).expect("a alone owns every workload");
    let rec = Recording::default();
    apply(&link_a, fence_a, &rec, request(&w)).await.unwrap();
    {
        let seen = rec.0.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let reason: serde_json::Value = serde_json::from_str(&seen[0].reason).unwrap();
        assert_eq!(reason["rule"], "hpa");
        assert_eq!(reason["fence"]["instance"], "a");
        assert_eq!(reason["fence"]["token"], fence_a.token);
    }
    // The step a took the lease in is not acted in; the next one is.
    assert_eq!(link_a.acting_fence(&w, 60_000, since_a), None);
    assert_eq!(
        link_a.acting_fence(&w, 60_000, since_a + 60_000),
        Some(fence_a)
    );

    // a stalls (no more rounds); b takes over once a's heartbeat and lease expire.
    let (b, link_b) = member(&nats.url(), "b").await;
    let mut waited = Duration::ZERO;
    loop {
        b.round().await.unwrap();
        if b.view().held.len() == 4 {
            break;
        }
        assert!(waited < TTL * 5, "b never took over");
        tokio::time::sleep(TTL / 4).await;
        waited += TTL / 4;
    }
    let (fence_b, _) = link_b.fence_of(&w).unwrap();
    assert!(fence_b.token > fence_a.token);

    // a wakes with its old token: refused before its actuator is called.
    let refused = apply(&link_a, fence_a, &rec, request(&w))
        .await
        .unwrap_err();
    assert!(
        refused.contains("stale") && refused.contains("held by b"),
        "{refused}"
    );
    assert_eq!(
        rec.0.lock().unwrap().len(),
        1,
        "the stale owner's actuator was called"
    );
    assert_eq!(link_a.view().fenced_off, 1);
    // b acts under its own token.
    apply(&link_b, fence_b, &rec, request(&w)).await.unwrap();
    assert_eq!(rec.0.lock().unwrap().len(), 2);
}

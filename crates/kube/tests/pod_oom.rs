//! OOM kills read from pod status (`lastState.terminated.reason == "OOMKilled"`) through the
//! Kubernetes actuator, against the in-process fake API server (see `fake_api`; not a real one),
//! and handed to a controller sizing memory: a new kill raises memory at once, the same
//! `lastState` seen again does not.

mod fake_api;

use std::time::Duration;

use fake_api::{FakeApi, C};
use prescale_actuate::Actuator;
use prescale_control::{
    Controller, Current, ResourceKind, ResourceSpec, ResourceTarget, Usage, WorkloadSpec,
};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use prescale_kube::{KubeActuator, KubeOptions, KubeTarget};

const MIB: f64 = 1024.0 * 1024.0;

fn wid(s: &str) -> WorkloadId {
    WorkloadId::new(s).unwrap()
}

fn setup() -> (FakeApi, KubeActuator) {
    let api = FakeApi::start();
    api.add_deployment(
        "shop",
        "web",
        2,
        &[
            C("sidecar", Some("10m"), Some("32Mi"), None),
            C("app", Some("250m"), Some("256Mi"), None),
        ],
    );
    api.add_pod("shop", "web-1", "web", &[C("app", None, None, None)]);
    api.add_pod("shop", "web-2", "web", &[C("app", None, None, None)]);
    // Another workload's pod, killed too: not web's.
    api.add_pod("shop", "db-0", "db", &[C("app", None, None, None)]);
    let mut act = KubeActuator::new(api.config(), KubeOptions::default()).unwrap();
    act.register(
        wid("web"),
        KubeTarget::deployment("shop", "web").with_container("app"),
    );
    (api, act)
}

fn controller() -> Controller {
    let mut spec = WorkloadSpec::new(wid("web"), MetricName::new("rps").unwrap(), 100.0);
    spec.policy = "hpa".parse().unwrap();
    spec.step = Duration::from_secs(60);
    spec.resources = Some(ResourceSpec {
        memory: Some(ResourceTarget::new(
            MetricName::new("rss_bytes").unwrap(),
            64.0 * MIB,
            8192.0 * MIB,
        )),
        headroom: 0.0,
        ..ResourceSpec::default()
    });
    Controller::new(spec).unwrap()
}

#[test]
fn a_new_oomkilled_last_state_raises_memory_once() {
    let (api, mut act) = setup();
    // An old kill is there before prescale first looks: the base, not a new kill.
    api.set_container_status(
        "shop",
        "web-1",
        "app",
        1,
        Some(("OOMKilled", "2023-11-14T22:00:00Z")),
    );
    api.set_container_status("shop", "web-2", "app", 0, None);
    assert!(act.oom_kills(&wid("web")).unwrap().is_empty());
    assert!(act.oom_kills(&wid("nobody")).unwrap().is_empty());

    let mut c = controller();
    let at = |ms: i64, v: f64| Sample {
        ts: Timestamp(ms),
        value: v,
    };
    let now = Timestamp(1_700_000_000_000);
    let demand: Vec<Sample> = (0..20)
        .map(|i| at(now.0 - (20 - i) * 60_000 + 30_000, 100.0))
        .collect();
    let rss: Vec<Sample> = (0..20)
        .map(|i| at(now.0 - (20 - i) * 60_000 + 30_000, 200.0 * MIB))
        .collect();
    let usage = [Usage {
        kind: ResourceKind::Memory,
        window: &rss,
    }];
    let current = Current {
        replicas: Some(2),
        ..Current::default()
    };
    let first = c.tick_full(&demand, &usage, now, &current);
    let sized = first.resources.unwrap().memory.unwrap();
    let before = sized.after.expect("memory sized from use");
    assert!(sized.oom.is_none());

    // web-2's app container is OOM-killed and restarts (db-0's kill is another workload's).
    api.set_container_status(
        "shop",
        "web-2",
        "app",
        1,
        Some(("OOMKilled", "2023-11-14T22:13:20Z")),
    );
    api.set_container_status(
        "shop",
        "db-0",
        "app",
        4,
        Some(("OOMKilled", "2023-11-14T22:13:20Z")),
    );
    let kills = act.oom_kills(&wid("web")).unwrap();
    assert_eq!(kills.len(), 1, "{kills:?}");
    assert_eq!(
        (
            kills[0].pod.as_str(),
            kills[0].container.as_str(),
            kills[0].restart_count
        ),
        ("shop/web-2", "app", 1)
    );
    assert_eq!(kills[0].finished_at, Some(Timestamp(1_700_000_000_000)));
    c.observe_pod_oom_kills(&kills);
    // Inside the decided step, memory is raised at once: max(last request × 1.5, peak × 1.2).
    let r = c.tick_full(&demand, &usage, Timestamp(now.0 + 5_000), &current);
    let m = r.resources.unwrap().memory.unwrap();
    let bump = m.oom.clone().expect("an OOM raise");
    assert_eq!(bump.pod_kills, 1, "{}", m.reason);
    assert_eq!(m.after, Some(before * 1.5), "{}", m.reason);
    assert!(m.reason.contains("OOMKilled"), "{}", m.reason);

    // The same lastState seen again is no new kill: no second raise.
    let again = act.oom_kills(&wid("web")).unwrap();
    assert!(again.is_empty(), "{again:?}");
    c.observe_pod_oom_kills(&again);
    let r = c.tick_full(&demand, &usage, Timestamp(now.0 + 10_000), &current);
    assert!(
        r.resources
            .as_ref()
            .and_then(|r| r.memory.as_ref())
            .is_none_or(|m| m.oom.is_none()),
        "{r:?}"
    );
}

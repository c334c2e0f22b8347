//! Three `prescale run` processes share twelve workloads over a real `nats-server -js` on loopback
//! (lease period 2 s): every workload is owned by exactly one instance; after kill -9 of one, its
//! workloads are owned again within two lease periods; a stalled instance (SIGSTOP past its lease)
//! never acts beside the new owner; the killed instance restarts and gets its share back; a bus
//! outage leaves every instance holding (no actuation) and ownership returns with the bus. Every
//! actuation (an exec actuator appending a line) is checked: no step of a workload was acted on by
//! two instances. A killed owner's learned headroom follows its workload to the next owner.

mod common;

use common::{http, now_ms};
use prescale_bus::testkit::nats_or_skip;
use prescale_ingest::remote_write::{encode, from_points};
use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(2);
const WORKLOADS: usize = 12;
const TOKEN: &str = "cluster-test-token-0123456789";

/// The multi-instance tests run one at a time: each starts several daemons with second-long
/// leases and timing bounds, and two such clusters sharing a 2-core machine starved each other
/// (seen as "no actuation after the bus came back" when both ran at once).
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn workloads() -> Vec<String> {
    (0..WORKLOADS).map(|i| format!("svc-{i}")).collect()
}

struct Instance {
    id: String,
    port: u16,
    db: PathBuf,
    cfg: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    /// Instance `id` run with config file `cfg`, its store and log in `dir`, on a free port.
    fn new(dir: &Path, id: &str, cfg: PathBuf) -> Instance {
        Instance {
            id: id.to_string(),
            port: TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(),
            db: dir.join(format!("{id}.db")),
            cfg,
            log: dir.join(format!("{id}.log")),
            child: None,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        self.start_logging("info");
    }

    /// Starts it with `RUST_LOG=filter`.
    fn start_logging(&mut self, filter: &str) {
        let child = Command::new(env!("CARGO_BIN_EXE_prescale"))
            .arg("--db")
            .arg(&self.db)
            .args(["run", "--config"])
            .arg(&self.cfg)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("PRESCALE_CLUSTER_INSTANCE", &self.id)
            .env("RUST_LOG", filter)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&self.log).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        while http()
            .get(&format!("{}/healthz", self.base()))
            .call()
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{} did not start: {}",
                self.id,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success());
    }

    /// `GET /api/v1/cluster`, `None` when it does not answer.
    fn view(&self) -> Option<serde_json::Value> {
        let mut r = http()
            .get(&format!("{}/api/v1/cluster", self.base()))
            .config()
            .timeout_global(Some(Duration::from_secs(1)))
            .build()
            .call()
            .ok()?;
        serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
        self.kill9();
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Each live instance's owned workloads, when all of them list exactly `members` and every
/// workload is owned by exactly one of them.
fn settled(live: &[&Instance], members: &[&str]) -> Option<BTreeMap<String, BTreeSet<String>>> {
    let mut owned = BTreeMap::new();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for i in live {
        let v = i.view()?;
        if strings(&v["members"]) != members {
            return None;
        }
        let o: BTreeSet<String> = strings(&v["owned"]).into_iter().collect();
        for w in &o {
            *count.entry(w.clone()).or_default() += 1;
        }
        owned.insert(i.id.clone(), o);
    }
    let all = workloads().iter().all(|w| count.get(w) == Some(&1));
    all.then_some(owned)
}

fn wait_settled(
    live: &[&Instance],
    members: &[&str],
    limit: Duration,
    what: &str,
) -> (BTreeMap<String, BTreeSet<String>>, Duration) {
    let start = Instant::now();
    loop {
        if let Some(o) = settled(live, members) {
            return (o, start.elapsed());
        }
        if start.elapsed() > limit {
            let views: Vec<_> = live.iter().map(|i| (i.id.clone(), i.view())).collect();
            panic!("{what}: not settled within {limit:?}: {views:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The actuations logged: (instance, workload, issued at ms).
fn actuations(log: &Path) -> Vec<(String, String, i64)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.to_string(),
                f.get(2)?.parse().ok()?,
            ))
        })
        .collect()
}

/// No workload's step (1 s) was acted on by two instances.
fn assert_single_actor(log: &Path) {
    let mut by_step: BTreeMap<(String, i64), BTreeSet<String>> = BTreeMap::new();
    for (inst, w, at) in actuations(log) {
        by_step
            .entry((w, at.div_euclid(1000)))
            .or_default()
            .insert(inst);
    }
    for (k, who) in &by_step {
        assert_eq!(who.len(), 1, "step {k:?} acted on by {who:?}");
    }
}

/// The instance's three newest stored decisions: workload, step, replicas before and after,
/// actuation and reason.
fn last_decisions(i: &Instance) -> String {
    let Some(v) = http()
        .get(&format!("{}/api/v1/decisions?limit=3", i.base()))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
    else {
        return "(no answer)".to_string();
    };
    v["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{} at {} {}->{} {} {}",
                d["workload"],
                d["at"],
                d["replicas_before"],
                d["replicas_after"],
                d["actuation"],
                d["reason"]
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each durable consumer of the points stream as the server reports it (`/jsz`): its name,
/// delivered and acknowledged stream sequences, pending and waiting counts.
fn consumers(monitor: &str) -> String {
    let Some(jsz) = http()
        .get(&format!("{monitor}/jsz?consumers=true"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
    else {
        return "(no /jsz answer)".to_string();
    };
    let mut out = Vec::new();
    for acc in jsz["account_details"].as_array().into_iter().flatten() {
        for st in acc["stream_detail"].as_array().into_iter().flatten() {
            out.push(format!("stream {} state {}", st["name"], st["state"]));
            for c in st["consumer_detail"].as_array().into_iter().flatten() {
                out.push(format!(
                    "  {} delivered {} ack_floor {} pending {} ack_pending {} waiting {}",
                    c["name"],
                    c["delivered"]["stream_seq"],
                    c["ack_floor"]["stream_seq"],
                    c["num_pending"],
                    c["num_ack_pending"],
                    c["num_waiting"]
                ));
            }
        }
    }
    out.join("\n")
}

/// An instance of the twelve [`workloads`], each acting through an exec actuator that appends
/// `instance workload issued-at replicas` to `acts`.
fn acting_instance(dir: &Path, nats: &str, id: &str, acts: &Path) -> Instance {
    let mut workload_toml = String::new();
    for w in workloads() {
        workload_toml.push_str(&format!(
            r#"
[[workload]]
workload = "{w}"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
policy = {{ kind = "hpa", stabilization_seconds = 0 }}
max = 50
mode = "act"
actuator = {{ type = "exec", program = "/bin/sh", args = ["-c", "echo \"$PRESCALE_CLUSTER_INSTANCE $PRESCALE_WORKLOAD $PRESCALE_ISSUED_AT_MS $PRESCALE_REPLICAS\" >> {}"] }}
"#,
            acts.display()
        ));
    }
    let cfg = dir.join(format!("{id}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "tick = \"250ms\"\nmode = \"act\"\napi_token = \"{TOKEN}\"\n[agent]\nenabled = false\n[learn]\nenabled = false\n[cluster]\nnats = \"{nats}\"\nid = \"{id}\"\nlease_ttl = \"2s\"\npartitions = 16\n{workload_toml}",
        ),
    )
    .unwrap();
    Instance::new(dir, id, cfg)
}

/// Demand for every workload, pushed every 250 ms to whichever of `instances` answers (it
/// publishes to the bus; the owner consumes) until `stop`: a 4 s sawtooth, so the replicas change
/// every second. The hpa policy runs without scale-in stabilization: with the default 300 s
/// window an owner that had held a workload long enough to reach the sawtooth's peak kept it
/// there for 5 minutes, and an owner that got the workload back after the bus outage had nothing
/// to change (the "no actuation after the bus came back" failure under load).
fn feed(instances: &[Instance], stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let targets: Vec<String> = instances.iter().map(Instance::base).collect();
    std::thread::spawn(move || {
        let mut n = 0usize;
        while !stop.load(Ordering::SeqCst) {
            let t = now_ms();
            let level = 10.0 + 40.0 * ((t / 1000) % 4) as f64;
            let names = workloads();
            let pts: Vec<_> = names
                .iter()
                .map(|w| ("cpu", vec![("job", w.as_str())], t, level))
                .collect();
            let body = encode(&from_points(pts));
            for k in 0..targets.len() {
                let base = &targets[(n + k) % targets.len()];
                let ok = http()
                    .post(&format!("{base}/api/v1/write"))
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .send(&body[..])
                    .is_ok_and(|r| r.status() == 204);
                if ok {
                    break;
                }
            }
            n += 1;
            std::thread::sleep(Duration::from_millis(250));
        }
    })
}

#[test]
fn three_instances_share_fail_over_fence_and_hold_through_a_bus_outage() {
    let _alone = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(mut nats) =
        nats_or_skip("three_instances_share_fail_over_fence_and_hold_through_a_bus_outage")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acts = dir.path().join("actuations.log");
    let mut instances: Vec<Instance> = ["a", "b", "c"]
        .iter()
        .map(|id| acting_instance(dir.path(), &nats.url(), id, &acts))
        .collect();
    for i in instances.iter_mut() {
        i.start();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(&instances, stop.clone());

    // 1. Every workload owned by exactly one of the three.
    let all: Vec<&Instance> = instances.iter().collect();
    let (before, _) = wait_settled(&all, &["a", "b", "c"], Duration::from_secs(20), "start");
    // Decisions flow: some actuation within a few steps.
    let start = Instant::now();
    while actuations(&acts).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no actuation at all"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // 2. kill -9 the instance that owns the most; the others own everything within 2 leases.
    let victim = before
        .iter()
        .max_by_key(|(_, o)| o.len())
        .map(|(id, _)| id.clone())
        .unwrap();
    let vi = instances.iter().position(|i| i.id == victim).unwrap();
    instances[vi].kill9();
    let killed_at = Instant::now();
    let killed_ms = now_ms();
    let rest: Vec<&Instance> = instances.iter().filter(|i| i.id != victim).collect();
    let rest_ids: Vec<&str> = rest.iter().map(|i| i.id.as_str()).collect();
    wait_settled(&rest, &rest_ids, Duration::from_secs(10), "after kill -9");
    let took = killed_at.elapsed();
    assert!(
        took <= TTL * 2,
        "owned again after {took:?}, beyond two lease periods"
    );

    // The new owners act on the victim's workloads (their consumers resume its partitions).
    let start = Instant::now();
    while !actuations(&acts)
        .iter()
        .any(|(i, w, at)| *i != victim && before[&victim].contains(w) && *at > killed_ms)
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nobody acted on {victim}'s workloads"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // 3. Restart it: the same rendezvous share comes back to it.
    instances[vi].start();
    let all: Vec<&Instance> = instances.iter().collect();
    let (after, _) = wait_settled(&all, &["a", "b", "c"], Duration::from_secs(20), "restart");
    assert_eq!(
        after, before,
        "ownership after the restart differs from before"
    );

    // 4. A deliberately stale owner: SIGSTOP one past its lease, the others take over, then
    // SIGCONT. It must not act beside the new owners (its leases ran out; a pending actuation
    // would be refused by the fence).
    let sleeper = after
        .iter()
        .find(|(id, o)| !o.is_empty() && **id != victim)
        .map(|(id, _)| id.clone())
        .unwrap();
    let si = instances.iter().position(|i| i.id == sleeper).unwrap();
    instances[si].signal("-STOP");
    let awake: Vec<&Instance> = instances.iter().filter(|i| i.id != sleeper).collect();
    let awake_ids: Vec<&str> = awake.iter().map(|i| i.id.as_str()).collect();
    wait_settled(
        &awake,
        &awake_ids,
        Duration::from_secs(10),
        "while one is stopped",
    );
    std::thread::sleep(Duration::from_secs(1));
    instances[si].signal("-CONT");
    let all: Vec<&Instance> = instances.iter().collect();
    wait_settled(
        &all,
        &["a", "b", "c"],
        Duration::from_secs(20),
        "after SIGCONT",
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_single_actor(&acts);

    // 5. Bus outage: every instance holds (owns nothing, acts on nothing); the bus returns and so
    // does ownership.
    nats.stop();
    let stopped_at = now_ms();
    let start = Instant::now();
    loop {
        let views: Vec<_> = instances.iter().map(Instance::view).collect();
        if views
            .iter()
            .all(|v| v.as_ref().is_some_and(|v| strings(&v["owned"]).is_empty()))
        {
            break;
        }
        assert!(
            start.elapsed() < TTL * 3,
            "still owning with the bus away: {views:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let held_from = now_ms();
    std::thread::sleep(TTL);
    let during: Vec<_> = actuations(&acts)
        .into_iter()
        .filter(|(_, _, at)| *at > held_from)
        .collect();
    assert!(
        during.is_empty(),
        "acted with the bus away (since {stopped_at}): {during:?}"
    );
    nats.restart().unwrap();
    let all: Vec<&Instance> = instances.iter().collect();
    let (back, _) = wait_settled(
        &all,
        &["a", "b", "c"],
        Duration::from_secs(30),
        "after the outage",
    );
    assert_eq!(back, before);
    let back_at = now_ms();
    let start = Instant::now();
    while !actuations(&acts).iter().any(|(_, _, at)| *at > back_at) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no actuation after the bus came back; the instances' views:\n{}\nthe server's consumers:\n{}\nthe last log lines of the instances:\n{}",
            instances
                .iter()
                .map(|i| format!("{}: {:?}\nlast decisions: {}", i.id, i.view(), last_decisions(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            consumers(&nats.monitor_url()),
            instances
                .iter()
                .map(|i| {
                    let log = std::fs::read_to_string(&i.log).unwrap_or_default();
                    let lines: Vec<&str> = log.lines().filter(|l| !l.contains("DEBUG")).collect();
                    format!(
                        "{}: {}",
                        i.id,
                        lines[lines.len().saturating_sub(12)..].join("\n")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // 6. One kill switch for the fleet: engaged through one instance, every instance obeys it
    // (nothing acts), released through another.
    let kill = |i: &Instance, engaged: bool| {
        let r = http()
            .post(&format!("{}/api/v1/kill-switch", i.base()))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .send(format!("{{\"engaged\": {engaged}}}").as_bytes())
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    let engaged_everywhere = |want: bool| {
        let start = Instant::now();
        loop {
            let all = instances.iter().all(|i| {
                http()
                    .get(&format!("{}/api/v1/kill-switch", i.base()))
                    .call()
                    .ok()
                    .and_then(|mut r| r.body_mut().read_to_string().ok())
                    .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
                    .is_some_and(|v| v["global"] == want)
            });
            if all {
                return;
            }
            assert!(
                start.elapsed() < TTL * 3,
                "the kill switch did not reach every instance"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    kill(&instances[0], true);
    engaged_everywhere(true);
    let killed_from = now_ms();
    std::thread::sleep(TTL);
    let while_killed: Vec<_> = actuations(&acts)
        .into_iter()
        .filter(|(_, _, at)| *at > killed_from)
        .collect();
    assert!(
        while_killed.is_empty(),
        "acted with the global kill switch engaged: {while_killed:?}"
    );
    kill(&instances[2], false);
    engaged_everywhere(false);

    stop.store(true, Ordering::SeqCst);
    feeder.join().unwrap();
    assert_single_actor(&acts);
    let actors: BTreeSet<String> = actuations(&acts).into_iter().map(|(i, _, _)| i).collect();
    assert_eq!(
        actors.len(),
        3,
        "every instance acted at some point: {actors:?}"
    );
}

/// `prescale agent --publish`: this machine's samples go to the bus and the owner of their
/// partitions stores them; without a reachable bus the command fails naming the flag.
#[test]
fn the_agent_publishes_to_the_bus_and_the_owner_stores_it() {
    let Some(nats) = nats_or_skip("the_agent_publishes_to_the_bus_and_the_owner_stores_it") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("solo.toml");
    std::fs::write(
        &cfg,
        format!(
            "[agent]\nenabled = false\n[learn]\nenabled = false\n[cluster]\nnats = \"{}\"\nid = \"solo\"\nlease_ttl = \"2s\"\npartitions = 8\n",
            nats.url()
        ),
    )
    .unwrap();
    let mut solo = Instance::new(dir.path(), "solo", cfg);
    solo.start();
    let start = Instant::now();
    while solo
        .view()
        .is_none_or(|v| v["partitions_held"].as_array().map_or(0, Vec::len) != 8)
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "solo holds no partitions"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The answer is what docs/openapi.json documents: exactly the Cluster schema's fields.
    let doc: serde_json::Value = serde_json::from_str(prescale_daemon::http::OPENAPI).unwrap();
    let schema = &doc["components"]["schemas"]["Cluster"];
    let documented: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let view = solo.view().unwrap();
    let answered: BTreeSet<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        answered, documented,
        "GET /api/v1/cluster vs the OpenAPI Cluster schema"
    );
    assert_eq!(required, documented);
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args([
            "agent",
            "--count",
            "2",
            "--interval",
            "200ms",
            "--json",
            "--publish",
            &nats.url(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("published ").count(), 2, "{stderr}");
    // The workloads the agent printed are the ones the owner stores.
    let printed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["workload"].as_str().map(String::from))
        .collect();
    assert!(!printed.is_empty());
    let start = Instant::now();
    loop {
        let listed: BTreeSet<String> = http()
            .get(&format!("{}/api/v1/workloads", solo.base()))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
            .and_then(|v| {
                let list = v["workloads"].as_array().or(v.as_array())?.clone();
                Some(
                    list.iter()
                        .filter_map(|w| w["workload"].as_str().or(w.as_str()).map(String::from))
                        .collect(),
                )
            })
            .unwrap_or_default();
        if listed == printed {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "stored {listed:?}, the agent printed {printed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(solo.view().unwrap()["points_consumed"].as_u64().unwrap() > 0);

    // Nothing listening: a one-line error naming the flag.
    let dead = format!(
        "nats://127.0.0.1:{}",
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .args(["agent", "--count", "1", "--publish", &dead])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("--publish {dead}")), "{stderr}");
}

/// The workload of the snapshot test: a predictive policy on a bursty demand.
const SNAPSHOT_WORKLOAD: &str = "web";

/// An instance alone with [`SNAPSHOT_WORKLOAD`] (forecast-only: nothing is actuated).
fn snapshot_instance(dir: &Path, nats: &str, id: &str) -> Instance {
    let cfg = dir.join(format!("{id}.toml"));
    std::fs::write(
        &cfg,
        format!(
            r#"tick = "250ms"
mode = "forecast-only"
[agent]
enabled = false
[learn]
enabled = false
[cluster]
nats = "{nats}"
id = "{id}"
lease_ttl = "2s"
partitions = 4

[[workload]]
workload = "{SNAPSHOT_WORKLOAD}"
metric = "cpu"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
policy = "predictive"
max = 50
"#
        ),
    )
    .unwrap();
    Instance::new(dir, id, cfg)
}

/// Waits until `i`'s `/api/v1/cluster` satisfies `ok`.
fn wait_view(i: &Instance, limit: Duration, what: &str, ok: impl Fn(&serde_json::Value) -> bool) {
    let start = Instant::now();
    while !i.view().is_some_and(|v| ok(&v)) {
        assert!(
            start.elapsed() < limit,
            "{what} within {limit:?}: {:?}\n{}",
            i.view(),
            std::fs::read_to_string(&i.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The snapshots bucket, read and written beside the instances.
fn bucket(
    nats: &str,
) -> (
    tokio::runtime::Runtime,
    prescale_bus::Snapshots,
    prescale_core::WorkloadId,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bus = rt
        .block_on(prescale_bus::Bus::connect(
            nats,
            prescale_bus::BusOptions::new("snapshot-test", TTL),
        ))
        .unwrap();
    let w = prescale_core::WorkloadId::new(SNAPSHOT_WORKLOAD).unwrap();
    (rt, prescale_bus::Snapshots::new(&bus), w)
}

/// State that follows the owner: instance a learns the workload's headroom and snapshots it;
/// after kill -9 of a, instance b takes the workload over and starts from a's snapshot (the
/// state it logs on resuming is the one a's snapshot holds); a corrupt snapshot makes the next
/// owner (c) refuse it, count it and start fresh; c's clean shutdown writes its own.
#[test]
fn a_killed_owners_learned_headroom_follows_the_workload() {
    let _alone = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(nats) = nats_or_skip("a_killed_owners_learned_headroom_follows_the_workload") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut a = snapshot_instance(dir.path(), &nats.url(), "a");
    a.start();
    // Demand about 40 with a burst to 120 every 5th second, pushed every 250 ms to a.
    let stop = Arc::new(AtomicBool::new(false));
    let target = Arc::new(Mutex::new(a.base()));
    let feeder = {
        let (stop, target) = (stop.clone(), target.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let t = now_ms();
                let level = if (t / 1000) % 5 == 4 {
                    120.0
                } else {
                    40.0 + ((t / 1000) % 3) as f64
                };
                let body = encode(&from_points(vec![(
                    "cpu",
                    vec![("job", SNAPSHOT_WORKLOAD)],
                    t,
                    level,
                )]));
                let base = target.lock().unwrap().clone();
                let _ = http()
                    .post(&format!("{base}/api/v1/write"))
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .send(&body[..]);
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    // a snapshots every 10 decisions; wait until one holds a learned state (the policy learns
    // once the forecaster has fitted), then kill it.
    let (rt, snapshots, w) = bucket(&nats.url());
    let read = || {
        rt.block_on(snapshots.get(&w))
            .unwrap()
            .map(|b| prescale_control::ControllerSnapshot::decode(SNAPSHOT_WORKLOAD, &b).unwrap())
    };
    let learned = |s: &prescale_control::ControllerSnapshot| match &s.headroom {
        Some(prescale_policy::HeadroomState::Hedge { log_weights, .. }) => {
            log_weights.iter().any(|l| *l != 0.0)
        }
        Some(prescale_policy::HeadroomState::Aci { steps, .. }) => *steps > 0,
        None => false,
    };
    let start = Instant::now();
    while !read().is_some_and(|s| learned(&s)) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "a stored no learned state: {:?}\n{}",
            read(),
            std::fs::read_to_string(&a.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    a.kill9();
    // What the bucket holds now is what the next owner reads.
    let stored = read().expect("a's snapshot");
    assert_eq!(stored.written_by, "a");
    assert!(learned(&stored));
    let mut b = snapshot_instance(dir.path(), &nats.url(), "b");
    b.start_logging("info,prescale_daemon::cluster::carry=debug");
    *target.lock().unwrap() = b.base();
    wait_view(
        &b,
        TTL * 2 + Duration::from_secs(5),
        "b resumes a's snapshot",
        |v| v["snapshots_restored"].as_u64() == Some(1),
    );
    let log = std::fs::read_to_string(&b.log).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("resumed from the previous owner's snapshot"))
        .unwrap_or_else(|| panic!("b logged no resume: {log}"));
    assert!(line.contains("from=a"), "{line}");
    // b's policy state right after resuming is a's, exactly (every weight, the price).
    let expected = format!("state={:?}", stored.headroom);
    assert!(
        line.contains(&expected),
        "b resumed another state than a's snapshot holds ({expected}): {line}"
    );
    assert_eq!(b.view().unwrap()["snapshots_refused"], 0);

    // A corrupt snapshot: the next owner refuses it, counts it, and starts fresh.
    b.kill9();
    rt.block_on(snapshots.put(&w, b"\x00not a snapshot".to_vec()))
        .unwrap();
    let mut c = snapshot_instance(dir.path(), &nats.url(), "c");
    c.start();
    *target.lock().unwrap() = c.base();
    wait_view(
        &c,
        TTL * 2 + Duration::from_secs(5),
        "c refuses the corrupt snapshot",
        |v| v["snapshots_refused"].as_u64() == Some(1),
    );
    assert_eq!(c.view().unwrap()["snapshots_restored"], 0);
    let log = std::fs::read_to_string(&c.log).unwrap();
    assert!(
        log.contains("snapshot refused; the workload starts fresh")
            && log.contains("not a controller snapshot"),
        "{log}"
    );

    // A clean shutdown leaves the owner's state: the corrupt entry again, then SIGTERM (well
    // within the 10 decisions between periodic snapshots): c's own snapshot replaces it.
    stop.store(true, Ordering::SeqCst);
    feeder.join().unwrap();
    rt.block_on(snapshots.put(&w, b"\x00not a snapshot".to_vec()))
        .unwrap();
    c.signal("-TERM");
    let status = c.child.take().unwrap().wait().unwrap();
    assert!(status.success(), "c exited {status:?}");
    let last = read().expect("c's snapshot at shutdown");
    assert_eq!(last.written_by, "c");
}

/// An instance's decision log read from its store file (the process stopped): each decision's
/// message id `<workload>@<at>` by row id, and the outbox's cursor.
fn decision_log(db: &Path) -> (Vec<(i64, String)>, i64) {
    let store = prescale_store::Store::open(db).unwrap();
    let rows = store
        .decisions_after(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(id, d)| (id, format!("{}@{}", d.workload, d.at.0)))
        .collect();
    (rows, store.decision_outbox_cursor().unwrap().unwrap_or(0))
}

/// The decisions stream's messages by message id, with how many times each is stored.
fn decisions_on_bus(nats: &str) -> BTreeMap<String, usize> {
    let mut by_id = BTreeMap::new();
    for m in prescale_bus::testkit::read_stream_blocking(nats, "PRESCALE_DECISIONS").unwrap() {
        *by_id
            .entry(m.msg_id.expect("a decision without a message id"))
            .or_insert(0) += 1;
    }
    by_id
}

/// No decision lost (issue 16): two instances decide the twelve workloads; the bus goes away
/// while they decide (their decisions wait in the store, not published) and one is killed -9
/// with its backlog; the bus returns and it restarts; the other is killed -9 while deciding with
/// the bus up and restarts. Then nothing decides (the feed stops, both are killed -9 and come back
/// without workloads, publishing what they had left), and every decision of each instance's
/// decision log is on `PRESCALE_DECISIONS` exactly once by its message id, and nothing else is.
#[test]
fn every_logged_decision_reaches_the_bus_once_through_kill_9_and_an_outage() {
    let _alone = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(mut nats) =
        nats_or_skip("every_logged_decision_reaches_the_bus_once_through_kill_9_and_an_outage")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acts = dir.path().join("actuations.log");
    let mut instances: Vec<Instance> = ["a", "b"]
        .iter()
        .map(|id| acting_instance(dir.path(), &nats.url(), id, &acts))
        .collect();
    for i in instances.iter_mut() {
        i.start();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(&instances, stop.clone());
    let members = ["a", "b"];
    wait_settled(
        &instances.iter().collect::<Vec<_>>(),
        &members,
        Duration::from_secs(20),
        "start",
    );
    for i in &instances {
        wait_view(i, Duration::from_secs(20), "decisions published", |v| {
            v["decisions_published"].as_u64() > Some(0)
        });
    }

    // 1. The bus goes away while they decide (the leases hold for up to a period; an actuation's
    // fence check then fails, the decision is logged all the same): once a's decisions of that
    // time wait unpublished, it is killed.
    nats.stop();
    wait_view(
        &instances[0],
        Duration::from_secs(10),
        "a decision waiting with the bus away",
        |v| v["decisions_backlog"].as_u64() > Some(0),
    );
    instances[0].kill9();
    let (a_log, a_cursor) = decision_log(&instances[0].db);
    let a_backlog = a_log.iter().filter(|(id, _)| *id > a_cursor).count();
    assert!(
        a_backlog > 0,
        "a had no unpublished decision when killed ({} logged)",
        a_log.len()
    );
    nats.restart().unwrap();
    instances[0].start();
    wait_settled(
        &instances.iter().collect::<Vec<_>>(),
        &members,
        Duration::from_secs(30),
        "after the outage and a's restart",
    );

    // 2. b killed -9 while it decides with the bus up; it restarts.
    std::thread::sleep(Duration::from_secs(2));
    instances[1].kill9();
    let (b_log, b_cursor) = decision_log(&instances[1].db);
    let b_backlog = b_log.iter().filter(|(id, _)| *id > b_cursor).count();
    instances[1].start();
    wait_settled(
        &instances.iter().collect::<Vec<_>>(),
        &members,
        Duration::from_secs(30),
        "after b's restart",
    );
    std::thread::sleep(Duration::from_secs(2));

    // 3. Nothing decides any more; each instance comes back without workloads and publishes
    // what its log still holds.
    stop.store(true, Ordering::SeqCst);
    feeder.join().unwrap();
    let mut logged: BTreeSet<String> = BTreeSet::new();
    let mut rows = 0usize;
    let mut left = Vec::new();
    let mut ends = Vec::new();
    for i in instances.iter_mut() {
        i.kill9();
        let (log, cursor) = decision_log(&i.db);
        rows += log.len();
        ends.push(log.len());
        left.push(log.iter().filter(|(id, _)| *id > cursor).count());
        logged.extend(log.into_iter().map(|(_, m)| m));
        let drain = dir.path().join(format!("{}-drain.toml", i.id));
        std::fs::write(
            &drain,
            format!(
                "[agent]\nenabled = false\n[learn]\nenabled = false\n[cluster]\nnats = \"{}\"\nid = \"{}\"\nlease_ttl = \"2s\"\npartitions = 16\n",
                nats.url(),
                i.id
            ),
        )
        .unwrap();
        i.cfg = drain;
        i.start();
    }
    // Two instances never decide the same workload and step: each decision has its own id.
    assert_eq!(
        logged.len(),
        rows,
        "two logged decisions share a message id"
    );
    let start = Instant::now();
    loop {
        let on_bus = decisions_on_bus(&nats.url());
        let missing: Vec<&String> = logged.iter().filter(|m| !on_bus.contains_key(*m)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} logged decisions never reached the bus, e.g. {:?}; views {:?}",
            missing.len(),
            &missing[..missing.len().min(5)],
            instances.iter().map(Instance::view).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for i in &instances {
        wait_view(i, Duration::from_secs(10), "the backlog published", |v| {
            v["decisions_backlog"].as_u64() == Some(0)
        });
    }
    let on_bus = decisions_on_bus(&nats.url());
    let twice: Vec<_> = on_bus.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let keys: BTreeSet<String> = on_bus.keys().cloned().collect();
    assert_eq!(keys, logged, "the bus holds exactly the logged decisions");
    eprintln!(
        "decisions logged {rows} (a, b: {ends:?}), on the bus {} (each once); unpublished at kill -9: a {a_backlog} of {} (bus away), b {b_backlog} of {} (bus up); left to the drain restart: {left:?}",
        on_bus.len(),
        a_log.len(),
        b_log.len()
    );
}

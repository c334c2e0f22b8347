//! Fleet learning across instances over a real `nats-server -js` on loopback: two `prescale run`
//! instances each own part of a fleet of two behaviours (a fast hourly wave and a flat level);
//! each stores only its own workloads' history, yet both serve the same fleet-wide clustering
//! (`/api/v1/clusters`) covering every workload, with each behaviour's workloads of both owners in
//! one cluster. A malformed feature row on the bus is counted and skipped. After kill -9 of the
//! learner, the other instance takes the learner lease and learns the whole fleet itself.

mod common;

use common::{http, now_ms};
use prescale_bus::testkit::nats_or_skip;
use prescale_bus::{partition_of, Partitions};
use prescale_core::WorkloadId;
use prescale_ingest::remote_write::{encode, from_points};
use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PARTITIONS: u32 = 16;
/// History pushed per workload: 6 h at one sample a minute.
const SAMPLES: i64 = 360;
const STEP_MS: i64 = 60_000;

struct Instance {
    id: String,
    port: u16,
    db: PathBuf,
    cfg: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    fn new(dir: &Path, nats: &str, id: &str) -> Instance {
        Instance::with(dir, nats, id, "")
    }

    /// An instance whose config ends with `workloads` (`[[workload]]` tables).
    fn with(dir: &Path, nats: &str, id: &str, workloads: &str) -> Instance {
        Instance::with_learn(dir, nats, id, "fleet = false\n", workloads)
    }

    /// An instance with `learn` at the end of its `[learn]` table (fleet model settings).
    fn with_learn(dir: &Path, nats: &str, id: &str, learn: &str, workloads: &str) -> Instance {
        let cfg = dir.join(format!("{id}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "tick = \"1s\"\n[agent]\nenabled = false\n[learn]\nfingerprint_every = \"1s\"\ncluster_every = \"1h\"\nwindows = [\"1h\", \"6h\"]\n{learn}[cluster]\nnats = \"{nats}\"\nid = \"{id}\"\nlease_ttl = \"2s\"\npartitions = {PARTITIONS}\n{workloads}"
            ),
        )
        .unwrap();
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
        let child = Command::new(env!("CARGO_BIN_EXE_prescale"))
            .arg("--db")
            .arg(&self.db)
            .args(["run", "--config"])
            .arg(&self.cfg)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("RUST_LOG", "info")
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
                self.logs()
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

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON of a 200 answer to `GET path`; `None` otherwise.
    fn get(&self, path: &str) -> Option<serde_json::Value> {
        let mut r = http()
            .get(&format!("{}{path}", self.base()))
            .config()
            .timeout_global(Some(Duration::from_secs(2)))
            .http_status_as_error(false)
            .build()
            .call()
            .ok()?;
        if r.status() != 200 {
            return None;
        }
        serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
    }

    /// `GET /api/v1/cluster`.
    fn view(&self) -> Option<serde_json::Value> {
        self.get("/api/v1/cluster")
    }

    /// The k-means clustering it serves: each cluster's members, as sets.
    fn clusters(&self) -> Option<BTreeSet<BTreeSet<String>>> {
        let v = self.get("/api/v1/clusters?algorithm=kmeans")?;
        Some(
            v["clusters"]
                .as_array()?
                .iter()
                .map(|c| strings(&c["members"]).into_iter().collect())
                .collect(),
        )
    }

    fn count(&self, field: &str) -> u64 {
        self.view().and_then(|v| v[field].as_u64()).unwrap_or(0)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn wait_for<T>(
    limit: Duration,
    what: &str,
    logs: &[&Instance],
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        if start.elapsed() > limit {
            let mut all = String::new();
            for i in logs {
                let l = i.logs();
                let tail: Vec<&str> = l.lines().rev().take(40).collect();
                all.push_str(&format!(
                    "\n--- {} view {:?}\n{}",
                    i.id,
                    i.view(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
            panic!("timed out after {limit:?} waiting for {what}{all}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The demand of `workload` of `shape` at sample `k`: a wave of period one hour around 100, or a
/// flat level around 1000, each with a small per-workload wiggle.
fn demand(shape: &str, seed: usize, k: i64) -> f64 {
    let wiggle = ((k * 7919 + seed as i64 * 104_729) % 97) as f64 / 97.0;
    match shape {
        "wave" => 100.0 + 80.0 * (2.0 * std::f64::consts::PI * k as f64 / 60.0).sin() + wiggle,
        _ => 1000.0 + 2.0 * wiggle,
    }
}

/// Sends `workload`'s history (6 h to now) to `to`; the time of its last sample.
fn push_history(to: &Instance, workload: &str, shape: &str, seed: usize) -> i64 {
    let end = now_ms() / STEP_MS * STEP_MS;
    let pts: Vec<_> = (0..SAMPLES)
        .map(|k| {
            (
                "cpu",
                vec![("job", workload)],
                end - (SAMPLES - 1 - k) * STEP_MS,
                demand(shape, seed, k),
            )
        })
        .collect();
    let body = encode(&from_points(pts));
    let r = http()
        .post(&format!("{}/api/v1/write", to.base()))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .send(&body[..])
        .unwrap();
    assert_eq!(r.status(), 204, "writing {workload}'s history");
    end
}

#[test]
fn two_instances_learn_one_fleet_wide_clustering_and_the_learner_fails_over() {
    let Some(nats) =
        nats_or_skip("two_instances_learn_one_fleet_wide_clustering_and_the_learner_fails_over")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut a = Instance::new(dir.path(), &nats.url(), "a");
    let mut b = Instance::new(dir.path(), &nats.url(), "b");
    a.start();
    b.start();

    // Both members, each holding its share of the partitions.
    let held = wait_for(
        Duration::from_secs(20),
        "two members splitting the partitions",
        &[&a, &b],
        || {
            let (va, vb) = (a.view()?, b.view()?);
            let ha: Vec<u64> = va["partitions_held"]
                .as_array()?
                .iter()
                .filter_map(|p| p.as_u64())
                .collect();
            let hb: Vec<u64> = vb["partitions_held"]
                .as_array()?
                .iter()
                .filter_map(|p| p.as_u64())
                .collect();
            (strings(&va["members"]).len() == 2
                && strings(&vb["members"]).len() == 2
                && ha.len() + hb.len() == PARTITIONS as usize
                && !ha.is_empty()
                && !hb.is_empty())
            .then(|| {
                let mut m = BTreeMap::new();
                for p in ha {
                    m.insert(p as u32, "a");
                }
                for p in hb {
                    m.insert(p as u32, "b");
                }
                m
            })
        },
    );

    // Two workloads of each shape owned by each instance.
    let parts = Partitions::new(PARTITIONS).unwrap();
    let owner = |w: &str| held[&partition_of(&WorkloadId::new(w).unwrap(), parts)];
    let mut fleet: Vec<(String, &str, &str)> = Vec::new(); // (workload, shape, owner)
    for shape in ["wave", "flat"] {
        for want in ["a", "b"] {
            let picked: Vec<String> = (0..200)
                .map(|i| format!("{shape}-{i}"))
                .filter(|w| owner(w) == want)
                .take(2)
                .collect();
            assert_eq!(picked.len(), 2, "two {shape} workloads owned by {want}");
            for w in picked {
                fleet.push((w, shape, want));
            }
        }
    }
    for (seed, (w, shape, _)) in fleet.iter().enumerate() {
        push_history(&a, w, shape, seed);
    }
    let every: BTreeSet<String> = fleet.iter().map(|(w, _, _)| w.clone()).collect();

    // Both serve one clustering of all eight workloads, the same one.
    let clusters = wait_for(
        Duration::from_secs(60),
        "the same fleet-wide clustering on both instances",
        &[&a, &b],
        || {
            let (ca, cb) = (a.clusters()?, b.clusters()?);
            let covered: BTreeSet<String> = ca.iter().flatten().cloned().collect();
            (ca == cb && covered == every).then_some(ca)
        },
    );
    // Each instance's store holds only its own workloads' history: the learning was fleet-wide.
    for i in [&a, &b] {
        let series = i
            .get("/api/v1/workloads")
            .map(|v| v.to_string())
            .unwrap_or_default();
        for (w, _, o) in &fleet {
            if *o == i.id.as_str() {
                assert!(
                    series.contains(&format!("\"{w}\"")),
                    "{} lacks its {w}: {series}",
                    i.id
                );
            } else {
                assert!(
                    !series.contains(&format!("\"{w}\"")),
                    "{} stores {w}, owned by {o}: {series}",
                    i.id
                );
            }
        }
    }
    // Each shape's workloads, from both owners, share a cluster; the shapes do not.
    let cluster_of = |w: &str| clusters.iter().find(|c| c.contains(w)).unwrap().clone();
    for shape in ["wave", "flat"] {
        let of_shape: Vec<&(String, &str, &str)> = fleet.iter().filter(|f| f.1 == shape).collect();
        let c = cluster_of(&of_shape[0].0);
        for (w, _, _) in &of_shape {
            assert!(c.contains(w), "{shape} workloads apart: {clusters:?}");
        }
    }
    assert_ne!(
        cluster_of(&fleet[0].0),
        cluster_of(&fleet[4].0),
        "{clusters:?}"
    );
    let learner = a.view().unwrap()["learner"].as_str().unwrap().to_string();
    assert_eq!(
        b.view().unwrap()["learner"].as_str(),
        Some(learner.as_str())
    );
    let (lead, other) = if learner == "a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert!(lead.count("fleet_results_published") >= 1);
    assert!(other.count("fleet_results_applied") >= 1);
    assert!(
        lead.count("feature_rows_published") >= 4 && other.count("feature_rows_published") >= 4
    );

    // A malformed row on the bus: counted by the learner and skipped; learning goes on.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bus = rt
        .block_on(prescale_bus::Bus::connect(
            &nats.url(),
            prescale_bus::BusOptions::new("learning-test", Duration::from_secs(2)),
        ))
        .unwrap();
    let learning = prescale_bus::FleetLearning::new(&bus);
    rt.block_on(learning.put("feat.garbage", b"{not a row".to_vec()))
        .unwrap();
    // A ninth workload (a wave) arrives beside the bad row: learned into the waves' cluster.
    let extra = "wave-extra";
    push_history(lead, extra, "wave", 99);
    let mut every = every;
    every.insert(extra.to_string());
    let clusters = wait_for(
        Duration::from_secs(30),
        "the bad row counted and the new workload learned by both",
        &[lead, other],
        || {
            let (cl, co) = (lead.clusters()?, other.clusters()?);
            let covered: BTreeSet<String> = cl.iter().flatten().cloned().collect();
            (lead.count("feature_rows_bad") >= 1 && cl == co && covered == every).then_some(cl)
        },
    );
    let with_extra = clusters.iter().find(|c| c.contains(extra)).unwrap();
    assert!(with_extra.contains(&fleet[0].0), "{clusters:?}");

    // kill -9 of the learner: the other takes the learner lease and learns the whole fleet from
    // the rows on the bus.
    lead.kill9();
    wait_for(
        Duration::from_secs(30),
        "the survivor learning for the fleet",
        &[other],
        || {
            let v = other.view()?;
            (v["learner"].as_str() == Some(other.id.as_str())
                && v["fleet_results_published"].as_u64()? >= 1)
                .then_some(())
        },
    );
    let after = other.clusters().unwrap();
    let covered: BTreeSet<String> = after.iter().flatten().cloned().collect();
    assert_eq!(covered, every, "{after:?}");
    assert!(other.count("feature_rows_bad") >= 1);
    // Sizes on the bus (the README's figures): a feature row, and the result per workload.
    let rows = rt.block_on(learning.rows()).unwrap();
    let row = rows.iter().find(|r| r.key == "feat.wave-extra").unwrap();
    let result = rt.block_on(learning.result()).unwrap().unwrap();
    eprintln!(
        "feature row: {} bytes; fleet result: {} bytes for {} workloads",
        row.value.len(),
        result.value.len(),
        every.len()
    );
}

/// Cold start across instances: a new workload owned by `a`, declared like a wave whose cluster's
/// members are all owned (and stored) by `b`, is forecast on `a` from that cluster's profile, built
/// from the profile partials `b` published: the forecast follows the members' hourly wave.
#[test]
fn a_new_workload_cold_starts_from_a_cluster_another_instance_stores() {
    let Some(nats) =
        nats_or_skip("a_new_workload_cold_starts_from_a_cluster_another_instance_stores")
    else {
        return;
    };
    let parts = Partitions::new(PARTITIONS).unwrap();
    let ids = vec!["a".to_string(), "b".to_string()];
    let owner = |w: &str| {
        prescale_bus::rendezvous(partition_of(&WorkloadId::new(w).unwrap(), parts), &ids)
            .unwrap()
            .to_string()
    };
    let pick = |prefix: &str, want: &str, n: usize| -> Vec<String> {
        let p: Vec<String> = (0..400)
            .map(|i| format!("{prefix}-{i}"))
            .filter(|w| owner(w) == want)
            .take(n)
            .collect();
        assert_eq!(p.len(), n, "{n} {prefix} workloads owned by {want}");
        p
    };
    let (waves, flats) = (pick("wave", "b", 4), pick("flat", "b", 4));
    let newbie = pick("newbie", "a", 1).remove(0);
    let workload = format!(
        "[[workload]]\nworkload = \"{newbie}\"\nmetric = \"cpu\"\ncapacity_per_replica = 10.0\nstep = \"1m\"\nlead = \"30m\"\nstale_after = \"1h\"\nlike = \"{}\"\n",
        waves[0]
    );
    let dir = tempfile::tempdir().unwrap();
    let mut a = Instance::with(dir.path(), &nats.url(), "a", &workload);
    let mut b = Instance::with(dir.path(), &nats.url(), "b", &workload);
    a.start();
    b.start();
    wait_for(
        Duration::from_secs(20),
        "a owning the new workload beside b",
        &[&a, &b],
        || {
            let (va, vb) = (a.view()?, b.view()?);
            (strings(&va["members"]).len() == 2
                && strings(&vb["members"]).len() == 2
                && strings(&va["owned"]).contains(&newbie))
            .then_some(())
        },
    );
    let mut end = 0;
    for (seed, w) in waves.iter().enumerate() {
        end = push_history(&a, w, "wave", seed);
    }
    for (seed, w) in flats.iter().enumerate() {
        push_history(&a, w, "flat", seed + 10);
    }
    let every: BTreeSet<String> = waves.iter().chain(&flats).cloned().collect();
    wait_for(
        Duration::from_secs(60),
        "the fleet-wide clustering on a",
        &[&a, &b],
        || {
            let ca = a.clusters()?;
            let covered: BTreeSet<String> = ca.iter().flatten().cloned().collect();
            (covered == every && b.count("profile_rows_published") >= 8).then_some(())
        },
    );
    // a stores none of the cluster's members.
    let stored = a.get("/api/v1/workloads").unwrap().to_string();
    assert!(!stored.contains(&format!("\"{}\"", waves[0])), "{stored}");
    // A malformed partial on the bus: counted and skipped.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bus = rt
        .block_on(prescale_bus::Bus::connect(
            &nats.url(),
            prescale_bus::BusOptions::new("learning-test", Duration::from_secs(2)),
        ))
        .unwrap();
    let learning = prescale_bus::FleetLearning::new(&bus);
    rt.block_on(learning.put("prof.garbage", b"{not a partial".to_vec()))
        .unwrap();
    // Once a has counted it, a has read every partial b published (before the garbage), so the
    // newcomer's first cold-start lookup (a minute before the next) finds them.
    wait_for(
        Duration::from_secs(30),
        "a counting the malformed partial",
        &[&a, &b],
        || (a.count("profile_rows_bad") >= 1).then_some(()),
    );
    // The newcomer's own points, at the waves' mean level: its last three minutes, then one
    // every 15 s as a live workload sends them (each new step is decided, from the prior once the
    // profile was found).
    let post = |at: &[(i64, f64)]| {
        let pts: Vec<_> = at
            .iter()
            .map(|(t, v)| ("cpu", vec![("job", newbie.as_str())], *t, *v))
            .collect();
        let r = http()
            .post(&format!("{}/api/v1/write", a.base()))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .send(&encode(&from_points(pts))[..])
            .unwrap();
        assert_eq!(r.status(), 204);
    };
    let now = now_ms() / STEP_MS * STEP_MS;
    let first: Vec<(i64, f64)> = (1..=3).map(|k| (now - k * STEP_MS + 1, 100.0)).collect();
    post(&first);
    let mut posted = Instant::now();
    let (model, f) = wait_for(
        // the profile is looked up at a step boundary (a minute) and the next step decided
        // from it: up to two minutes and a bit
        Duration::from_secs(150),
        "a cold-start forecast of the new workload on a",
        &[&a, &b],
        || {
            if posted.elapsed() > Duration::from_secs(15) {
                post(&[(now_ms(), 100.0)]);
                posted = Instant::now();
            }
            let d = a.get(&format!("/api/v1/decisions?workload={newbie}&limit=10"))?;
            // the decision names the profile (the forecast view's model is the fitted one's)
            let model = d["decisions"].as_array()?.iter().find_map(|r| {
                r["model"]
                    .as_str()
                    .filter(|m| m.starts_with("profile of cluster"))
                    .map(str::to_string)
            })?;
            let v = a.get(&format!("/api/v1/workloads/{newbie}/forecast"))?;
            Some((model, v["forecasts"][0].clone()))
        },
    );
    let ts: Vec<i64> = f["ts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    let point: Vec<f64> = f["point"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    assert!(point.len() >= 20, "{f}");
    // The members' wave at each forecast time (sample k of their history at end - (SAMPLES-1-k)).
    let wave: Vec<f64> = ts
        .iter()
        .map(|t| {
            let k = (t - end) / STEP_MS + SAMPLES - 1;
            (2.0 * std::f64::consts::PI * k as f64 / 60.0).sin()
        })
        .collect();
    let corr = correlation(&point, &wave);
    let (lo, hi) = point
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(*p), h.max(*p))
        });
    eprintln!(
        "cold start on a from b's partials: {model}; correlation with the wave {corr:.3}, range {lo:.1}..{hi:.1}"
    );
    assert!(model.contains("(4 members)"), "{model}");
    assert!(corr > 0.9, "not the members' wave (r = {corr}): {f}");
    assert!(hi > 2.0 * lo, "flat, not the wave: {f}");
    let rows = rt.block_on(learning.profiles()).unwrap();
    let row = rows
        .iter()
        .find(|r| r.key == format!("prof.{}", waves[0]))
        .unwrap();
    eprintln!(
        "profile partial: {} bytes for {SAMPLES} samples",
        row.value.len()
    );
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// `/api/v1/models`' fleet model of `kind` (the first), if any.
fn fleet_model(i: &Instance, kind: &str) -> Option<serde_json::Value> {
    let v = i.get("/api/v1/models")?;
    v["fleet"]
        .as_array()?
        .iter()
        .find(|m| m["kind"].as_str() == Some(kind))
        .cloned()
}

/// Fleet models across instances: two instances each own and store four of eight controlled
/// workloads (two waves, two flat levels each, `model = "gbm"`); the learner trains the fleet gbm
/// and the cluster GRUs on all eight histories from the bus, and the other instance serves the
/// learner's gbm (trained on workloads it does not store) to its own controllers, whose decisions
/// name it. A malformed manifest and a truncated generation are counted and ignored (the models
/// in use stay). After kill -9 of the learner, the survivor trains the fleet models itself.
#[test]
fn the_learner_trains_fleet_models_on_every_instance_s_workloads_and_the_others_use_them() {
    let Some(nats) = nats_or_skip(
        "the_learner_trains_fleet_models_on_every_instance_s_workloads_and_the_others_use_them",
    ) else {
        return;
    };
    let parts = Partitions::new(PARTITIONS).unwrap();
    let ids = vec!["a".to_string(), "b".to_string()];
    let owner = |w: &str| {
        prescale_bus::rendezvous(partition_of(&WorkloadId::new(w).unwrap(), parts), &ids)
            .unwrap()
            .to_string()
    };
    let pick = |prefix: &str, want: &str| -> Vec<String> {
        let p: Vec<String> = (0..400)
            .map(|i| format!("{prefix}-{i}"))
            .filter(|w| owner(w) == want)
            .take(2)
            .collect();
        assert_eq!(p.len(), 2, "two {prefix} workloads owned by {want}");
        p
    };
    let mut fleet: Vec<(String, &str, &str)> = Vec::new(); // (workload, shape, owner)
    for shape in ["wave", "flat"] {
        for o in ["a", "b"] {
            for w in pick(shape, o) {
                fleet.push((w, shape, o));
            }
        }
    }
    let workloads: String = fleet
        .iter()
        .map(|(w, _, _)| {
            format!("[[workload]]\nworkload = \"{w}\"\nmetric = \"cpu\"\ncapacity_per_replica = 10.0\nstep = \"1m\"\nlead = \"5m\"\nstale_after = \"1h\"\nmodel = \"gbm\"\n")
        })
        .collect();
    let learn = "fleet = true\nfleet_every = \"15s\"\ncluster_models = [\"gru\"]\n";
    let dir = tempfile::tempdir().unwrap();
    let mut a = Instance::with_learn(dir.path(), &nats.url(), "a", learn, &workloads);
    let mut b = Instance::with_learn(dir.path(), &nats.url(), "b", learn, &workloads);
    a.start();
    b.start();
    wait_for(
        Duration::from_secs(20),
        "two members, each owning its four workloads",
        &[&a, &b],
        || {
            let (va, vb) = (a.view()?, b.view()?);
            (strings(&va["members"]).len() == 2
                && strings(&vb["members"]).len() == 2
                && strings(&va["owned"]).len() == 4
                && strings(&vb["owned"]).len() == 4)
                .then_some(())
        },
    );
    let mut end = 0;
    for (seed, (w, shape, _)) in fleet.iter().enumerate() {
        end = push_history(&a, w, shape, seed);
    }
    let every: BTreeSet<String> = fleet.iter().map(|(w, _, _)| w.clone()).collect();
    let trained_on = |m: &serde_json::Value| -> BTreeSet<String> {
        strings(&m["trained_on"]).into_iter().collect()
    };
    // The follower serves the learner's gbm, trained on all eight workloads.
    let (learner, gbm) = wait_for(
        Duration::from_secs(150),
        "the learner's gbm over all eight workloads on the other instance",
        &[&a, &b],
        || {
            let learner = a.view()?["learner"].as_str()?.to_string();
            let other = if learner == "a" { &b } else { &a };
            let m = fleet_model(other, "gbm")?;
            (m["trained_by"].as_str() == Some(learner.as_str()) && trained_on(&m) == every)
                .then_some((learner, m))
        },
    );
    let (lead, other) = if learner == "a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert_eq!(gbm["series"], 8, "{gbm}");
    // the follower stores only its own four workloads, and trained nothing itself
    let stored = other.get("/api/v1/workloads").unwrap().to_string();
    for (w, _, o) in &fleet {
        assert_eq!(
            stored.contains(&format!("\"{w}\"")),
            *o == other.id.as_str(),
            "{}'s store and {w} (owned by {o}): {stored}",
            other.id
        );
    }
    let v = other.view().unwrap();
    assert!(v["fleet_models_applied"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["fleet_models_published"], 0, "{v}");
    assert!(
        v["training_histories_published"].as_u64().unwrap() >= 4,
        "{v}"
    );
    assert!(lead.count("fleet_models_published") >= 1);
    // the cluster models too: a GRU per cluster of the fleet-wide clustering, by the learner
    let gru = wait_for(
        Duration::from_secs(60),
        "the learner's cluster GRUs on the other instance",
        &[lead, other],
        || {
            let m = fleet_model(other, "gru")?;
            (m["trained_by"].as_str() == Some(learner.as_str())).then_some(m)
        },
    );
    assert!(trained_on(&gru).len() >= 2, "{gru}");
    // The follower's own workloads are decided with it.
    let mine: Vec<&String> = fleet
        .iter()
        .filter(|f| f.2 == other.id.as_str())
        .map(|f| &f.0)
        .collect();
    // live points, one every 15 s, so the steps complete and are decided
    let mut posted: Option<Instant> = None;
    let model = wait_for(
        Duration::from_secs(150),
        "a decision of the follower's own workload by the fleet gbm",
        &[lead, other],
        || {
            if posted.is_none_or(|p| p.elapsed() > Duration::from_secs(15)) {
                let now = now_ms();
                let pts: Vec<_> = fleet
                    .iter()
                    .enumerate()
                    .map(|(seed, (w, shape, _))| {
                        let k = SAMPLES - 1 + (now - end) / STEP_MS;
                        (
                            "cpu",
                            vec![("job", w.as_str())],
                            now,
                            demand(shape, seed, k),
                        )
                    })
                    .collect();
                let r = http()
                    .post(&format!("{}/api/v1/write", other.base()))
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .send(&encode(&from_points(pts))[..])
                    .unwrap();
                assert_eq!(r.status(), 204);
                posted = Some(Instant::now());
            }
            mine.iter().find_map(|w| {
                let d = other.get(&format!("/api/v1/decisions?workload={w}&limit=5"))?;
                d["decisions"].as_array()?.iter().find_map(|r| {
                    // e.g. "GBM[60 trees, 8 series] (gbm, no season, refit every 12 steps)"
                    r["model"]
                        .as_str()
                        .filter(|m| m.starts_with("GBM[") && m.contains(", 8 series]"))
                        .map(str::to_string)
                })
            })
        },
    );
    let generation = other.view().unwrap()["fleet_models_generation"]
        .as_str()
        .unwrap()
        .to_string();

    // A malformed manifest, then a generation whose one chunk is truncated: both counted by the
    // follower and ignored; it keeps the learner's generation.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bus = rt
        .block_on(prescale_bus::Bus::connect(
            &nats.url(),
            prescale_bus::BusOptions::new("models-test", Duration::from_secs(2)),
        ))
        .unwrap();
    let models = prescale_bus::FleetModels::new(&bus);
    let manifest = rt.block_on(models.manifest()).unwrap().unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(&manifest.value).unwrap();
    let chunk0 = rt
        .block_on(models.chunk(m["generation"].as_str().unwrap(), 0))
        .unwrap()
        .unwrap();
    // The learner republishes every `fleet_every`, which may overwrite a tampered manifest
    // before the follower polls it: each wait re-puts the tampered manifest whenever the stored
    // one is no longer it, until the follower has counted it.
    let tamper = |manifest_bytes: &[u8], what: &str| {
        let before = other.count("fleet_models_bad");
        wait_for(Duration::from_secs(60), what, &[lead, other], || {
            if other.count("fleet_models_bad") > before {
                return Some(());
            }
            let stored = rt.block_on(models.manifest()).ok().flatten();
            if stored.is_none_or(|s| s.value != manifest_bytes) {
                rt.block_on(models.put("models.manifest", manifest_bytes.to_vec()))
                    .unwrap();
            }
            None
        })
    };
    tamper(b"{not a manifest", "the malformed manifest counted");
    m["generation"] = "9-9".into();
    let half = chunk0.value[..chunk0.value.len() / 2].to_vec();
    rt.block_on(models.put("models.9-9.0", half)).unwrap();
    tamper(
        &serde_json::to_vec(&m).unwrap(),
        "the truncated generation counted",
    );
    // The follower kept a generation the learner published (the one seen above, or a later
    // retraining's), never the truncated one.
    let kept = other.view().unwrap()["fleet_models_generation"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(kept, "9-9");
    let (token, _) = generation.split_once('-').unwrap();
    assert!(
        kept.starts_with(&format!("{token}-")),
        "kept {kept}, first applied {generation}"
    );
    assert_eq!(
        fleet_model(other, "gbm").unwrap()["trained_by"].as_str(),
        Some(learner.as_str())
    );

    // kill -9 of the learner: the survivor takes the learner lease and trains the fleet models
    // itself from the histories on the bus (its own and the dead learner's).
    lead.kill9();
    let gbm = wait_for(
        Duration::from_secs(90),
        "the survivor training the fleet models",
        &[other],
        || {
            let v = other.view()?;
            let m = fleet_model(other, "gbm")?;
            (v["fleet_models_published"].as_u64()? >= 1
                && m["trained_by"].as_str() == Some(other.id.as_str())
                && trained_on(&m) == every)
                .then_some(m)
        },
    );
    let sizes = (chunk0.value.len(), m["bytes"].as_u64().unwrap_or(0));
    eprintln!(
        "follower decided with {model} from learner {learner}; survivor {} retrained on {} series; generation {} bytes ({} in chunk 0)",
        other.id, gbm["series"], sizes.1, sizes.0
    );
}

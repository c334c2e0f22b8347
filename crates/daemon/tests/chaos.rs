//! Chaos in `act` mode (issue 12): a real daemon process — this test binary re-run as
//! `chaos_daemon_child` — controls a process-pool workload (`sleep` replicas marked by an
//! environment variable) and a webhook workload (a target served here that counts every hit),
//! while the test
//! - kills it with SIGKILL 20 times at moments drawn from a seeded generator (some during
//!   start-up, the others at a random point after its replicas settled),
//! - takes the webhook target down (503) for ~25 s, a dozen times the breaker's 2 s cool-down,
//!   across six of those kills and one long uninterrupted stretch,
//! - stops the telemetry for the last six kills.
//!
//! It asserts: no replica leaked or doubled (after every restart the marked processes are exactly
//! the pids the pool's state file records and as many as the newest decision wants, never more than
//! `max`; none is left after a graceful stop); webhook retries are bounded (at most `max_attempts`
//! hits per decision, and during the outage no more hits than the breaker allows per daemon
//! lifetime); the circuit opens (decisions say `circuit-open`) and recovers (an `applied` decision
//! once the target is back); decisions hold on stale telemetry (the documented rule: stale or
//! missing telemetry holds and never scales in — the pool keeps its replicas through the restarts,
//! it does not fall to `min`); the decision log is intact (SQLite integrity check, every decision
//! served before a kill still stored, each workload's decisions in strictly increasing time).

mod common;

use common::now_ms;
use prescale_ingest::remote_write::{encode, from_points};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set (to the config path) only in the child process the test starts and kills.
const CHILD_ENV: &str = "PRESCALE_CHAOS_DAEMON_CONFIG";
const TOKEN: &str = "chaos-test-token-0123456789";
/// The kill moments are drawn from this seed: the same run every time.
const SEED: u64 = 0x5eed_0c4a_0512_2026;
/// The pool's `max` (the replicas never exceed it).
const MAX: usize = 6;
/// The webhook's `[workload.retry]`.
const ATTEMPTS: usize = 3;
const THRESHOLD: usize = 3;
const OPEN_FOR: Duration = Duration::from_secs(2);
/// The workloads' `stale_after`.
const STALE_AFTER_MS: i64 = 3000;

/// Not a test of its own: when the chaos test re-runs this binary with [`CHILD_ENV`] set, this is
/// the daemon it kills (`prescale run` minus the command line: the same `prescale_daemon::run`).
#[test]
fn chaos_daemon_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let cfg = prescale_daemon::DaemonConfig::from_file(Path::new(&path)).expect("chaos config");
    prescale_daemon::run(cfg, prescale_daemon::RunOptions::default()).expect("daemon");
}

/// xorshift64*: the seeded kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// One POST the webhook target received.
struct Hit {
    at: Instant,
    key: String,
    up: bool,
}

/// The webhook target: 200 `{"changed":true}` while up, 503 while down; every hit recorded.
#[derive(Default)]
struct Target {
    up: AtomicBool,
    hits: Mutex<Vec<Hit>>,
}

fn serve_target(target: Arc<Target>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let t = target.clone();
            std::thread::spawn(move || answer(stream, &t));
        }
    });
    port
}

/// Serves one keep-alive connection.
fn answer(stream: TcpStream, t: &Target) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let (mut len, mut key) = (0usize, String::new());
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "idempotency-key" => key = v.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let up = t.up.load(SeqCst);
        t.hits.lock().unwrap().push(Hit {
            at: Instant::now(),
            key,
            up,
        });
        let resp: &[u8] = if up {
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"changed\":true}"
        } else {
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\ndown\n"
        };
        if out.write_all(resp).is_err() {
            return;
        }
    }
}

/// The telemetry sender: both workloads' demand every 250 ms of sample time, sent every 200 ms
/// (what a daemon was down for is sent once it is back, unless paused).
#[derive(Default)]
struct Telemetry {
    paused: AtomicBool,
    /// The pool's demand held high (more than five replicas' worth) instead of low.
    high: AtomicBool,
    stop: AtomicBool,
}

/// The pool's demand: low (one replica's worth: its size then follows `min`, which the test
/// changes from one life to the next), or high (more than five replicas' worth).
fn pool_demand(high: bool) -> f64 {
    if high {
        48.0
    } else {
        6.0
    }
}

fn hook_demand(ts: i64) -> f64 {
    [55.0, 25.0, 75.0, 35.0][(ts / 2000).rem_euclid(4) as usize]
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

fn send_telemetry(base: String, t: Arc<Telemetry>) {
    let http = agent(Duration::from_secs(2));
    let mut last = now_ms() - 60_000;
    while !t.stop.load(SeqCst) {
        if t.paused.load(SeqCst) {
            last = now_ms();
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let now = now_ms();
        let high = t.high.load(SeqCst);
        let pts: Vec<_> = (last..now)
            .step_by(250)
            .flat_map(|ts| {
                [
                    ("rps", [("job", "pool")], ts, pool_demand(high)),
                    ("rps", [("job", "hook")], ts, hook_demand(ts)),
                ]
            })
            .collect();
        if !pts.is_empty() {
            let sent = http
                .post(&format!("{base}/api/v1/write"))
                .header("Content-Encoding", "snappy")
                .header("Content-Type", "application/x-protobuf")
                .send(&encode(&from_points(pts))[..]);
            if sent.is_ok_and(|r| r.status() == 204) {
                last = now;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Live processes whose environment holds `mark` (zombies count as gone).
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("PRESCALE_TEST_MARK={mark}");
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']));
            !zombie
                && environ
                    .split(|b| *b == 0)
                    .any(|var| var == needle.as_bytes())
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Kills whatever carries the mark when the test ends, passed or not.
struct KillMarked(String);

impl Drop for KillMarked {
    fn drop(&mut self) {
        for pid in marked(&self.0) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// The pids the pool's state file records, sorted (none when there is no file).
fn recorded(state: &Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(state) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_str(&text).expect("state file is JSON");
    let mut pids: Vec<u32> = v["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| u32::try_from(r["pid"].as_u64().unwrap()).unwrap())
        .collect();
    pids.sort_unstable();
    pids
}

/// The daemon under test and what the test keeps across its lives.
struct Chaos {
    dir: PathBuf,
    db: PathBuf,
    port: u16,
    target_port: u16,
    cfg: PathBuf,
    log: PathBuf,
    state: PathBuf,
    mark: String,
    base: String,
    http: ureq::Agent,
    rng: Rng,
    /// Each life: start and end.
    lives: Vec<(Instant, Instant)>,
    /// Decision ids served before a kill (each must still be stored at the end).
    served: BTreeSet<i64>,
    kills: usize,
    /// The replica counts the pool settled at after restarts.
    settled: Vec<usize>,
}

impl Chaos {
    /// Rewrites the config with the pool's `min` (read by the next start).
    fn configure(&self, pool_min: usize) {
        let text = config(&self.db, self.port, self.target_port, &self.mark, pool_min);
        std::fs::write(&self.cfg, text).unwrap();
    }

    fn spawn(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "chaos_daemon_child", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_ENV, &self.cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let begin = Instant::now();
        while self.get("/healthz").is_none() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the daemon exited ({status}) at start: {}", self.log_tail());
            }
            assert!(
                begin.elapsed() < Duration::from_secs(30),
                "no daemon after 30 s: {}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text[text.len().saturating_sub(3000)..].to_string()
    }

    fn get(&self, path: &str) -> Option<Value> {
        let mut r = self.http.get(&format!("{}{path}", self.base)).call().ok()?;
        if r.status() != 200 {
            return None;
        }
        let text = r.body_mut().read_to_string().ok()?;
        Some(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn decisions(&self, workload: &str) -> Vec<Value> {
        self.get(&format!(
            "/api/v1/decisions?workload={workload}&limit=10000"
        ))
        .and_then(|v| v["decisions"].as_array().cloned())
        .unwrap_or_default()
    }

    /// After a (re)start: waits until a decision made after `since` stands and the pool runs
    /// exactly what it decided, all recorded, never more than `MAX`; with `hold`, that decision is
    /// a hold at that many replicas. Returns the replicas.
    fn settle(&self, since: i64, hold: Option<usize>) -> usize {
        let begin = Instant::now();
        loop {
            let running = marked(&self.mark);
            assert!(running.len() <= MAX, "over max: {running:?}");
            let newest = self.decisions("pool").into_iter().next();
            if let Some(d) = newest.filter(|d| d["at"].as_i64() > Some(since)) {
                let rule = d["reason_json"]["rule"].as_str().unwrap_or("");
                let outcome = d["actuation"]["outcome"].as_str().unwrap_or("");
                let after = d["replicas_after"].as_u64().map(|n| n as usize);
                if let Some(n) = hold {
                    assert!(
                        matches!(rule, "stale-telemetry" | "no-telemetry"),
                        "stale telemetry, yet {d}"
                    );
                    assert_eq!(after, Some(n), "a hold changed the replicas: {d}");
                    assert_eq!(d["replicas_before"].as_u64(), Some(n as u64), "{d}");
                }
                let recorded = recorded(&self.state);
                if matches!(outcome, "applied" | "skipped")
                    && after == Some(running.len())
                    && recorded == running
                {
                    return running.len();
                }
            }
            assert!(
                begin.elapsed() < Duration::from_secs(15),
                "the pool did not settle: running {running:?}, recorded {:?}, newest decision {}\n{}",
                recorded(&self.state),
                self.decisions("pool")
                    .first()
                    .cloned()
                    .unwrap_or_default(),
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One life: start, (unless killed early) settle, a random while, SIGKILL. Unless holding, the
    /// pool's `min` is drawn anew first, so each start scales the replicas it adopts up or down.
    fn life(&mut self, hold: Option<usize>) {
        if hold.is_none() {
            let pool_min = 1 + (self.rng.next() % MAX as u64) as usize;
            self.configure(pool_min);
        }
        let since = now_ms();
        let mut child = self.spawn();
        let start = Instant::now();
        let early = self.rng.next().is_multiple_of(4);
        let wait = if early {
            self.rng.millis(0, 600)
        } else {
            let n = self.settle(since, hold);
            self.settled.push(n);
            self.rng.millis(0, 1500)
        };
        std::thread::sleep(wait);
        for d in self.decisions("pool").iter().chain(&self.decisions("hook")) {
            self.served.insert(d["id"].as_i64().unwrap());
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        self.kills += 1;
        self.lives.push((start, Instant::now()));
    }
}

/// The daemon's config; the pool's `min` is `pool_min`.
fn config(db: &Path, port: u16, target_port: u16, mark: &str, pool_min: usize) -> String {
    format!(
        r#"
listen = "127.0.0.1:{port}"
db = {db:?}
tick = "200ms"
mode = "act"
api_token = "{TOKEN}"
[agent]
enabled = false
[learn]
enabled = false
[[workload]]
workload = "pool"
metric = "rps"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
stale_after = "{stale}ms"
min = {pool_min}
max = {MAX}
policy = "predictive"
actuator = {{ type = "process-pool", program = "sleep", args = ["300"], grace = "1s", max_replicas = {MAX}, env = {{ PRESCALE_TEST_MARK = "{mark}" }} }}
[[workload]]
workload = "hook"
metric = "rps"
capacity_per_replica = 10.0
step = "1s"
lead = "1s"
stale_after = "{stale}ms"
min = 1
max = 10
policy = "threshold"
actuator = {{ type = "webhook", url = "http://127.0.0.1:{target_port}/scale", secret = "chaos-secret", timeout = "1s" }}
[workload.retry]
base = "50ms"
max = "200ms"
max_attempts = {ATTEMPTS}
failure_threshold = {THRESHOLD}
open_for = "{open}ms"
"#,
        db = db.display().to_string(),
        stale = STALE_AFTER_MS,
        open = OPEN_FOR.as_millis(),
    )
}

#[test]
fn chaos_kill_9_webhook_outage_and_stale_telemetry_in_act_mode() {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chaos.db");
    let mark = dir.path().display().to_string();
    let _cleanup = KillMarked(mark.clone());
    let target = Arc::new(Target::default());
    target.up.store(true, SeqCst);
    let target_port = serve_target(target.clone());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = Chaos {
        dir: dir.path().to_path_buf(),
        db: db.clone(),
        port,
        target_port,
        cfg: dir.path().join("prescale.toml"),
        log: dir.path().join("daemon.log"),
        state: dir.path().join("chaos.db.pool.pool.json"),
        mark: mark.clone(),
        base: format!("http://127.0.0.1:{port}"),
        http: agent(Duration::from_secs(10)),
        rng: Rng(SEED),
        lives: Vec::new(),
        served: BTreeSet::new(),
        kills: 0,
        settled: Vec::new(),
    };
    let telemetry = Arc::new(Telemetry::default());
    let sender = {
        let (base, t) = (c.base.clone(), telemetry.clone());
        std::thread::spawn(move || send_telemetry(base, t))
    };
    // The most replicas ever seen at once, sampled every 20 ms throughout.
    let most = Arc::new(AtomicUsize::new(0));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (most, watching, mark) = (most.clone(), watching.clone(), mark.clone());
        std::thread::spawn(move || {
            while watching.load(SeqCst) {
                most.fetch_max(marked(&mark).len(), SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // 1. Eight kills with everything up.
    for _ in 0..8 {
        c.life(None);
    }

    let distinct: BTreeSet<usize> = c.settled.iter().copied().collect();
    assert!(
        distinct.len() >= 2,
        "the pool never changed size across the restarts ({:?}): nothing was exercised",
        c.settled
    );

    // 2. The webhook target down: six kills, then one daemon through the rest of the outage.
    let outage_from = (Instant::now(), now_ms());
    target.up.store(false, SeqCst);
    for _ in 0..6 {
        c.life(None);
    }
    c.configure(2);
    let mut child = c.spawn();
    let life_start = Instant::now();
    std::thread::sleep(Duration::from_secs(16));
    target.up.store(true, SeqCst);
    let outage_to = (Instant::now(), now_ms());
    // Recovery: the breaker lets a trial through after its cool-down, and it succeeds.
    let recovered = loop {
        let applied = c.decisions("hook").into_iter().find(|d| {
            d["at"].as_i64() > Some(outage_to.1) && d["actuation"]["outcome"] == "applied"
        });
        if let Some(d) = applied {
            break d["at"].as_i64().unwrap() - outage_to.1;
        }
        assert!(
            outage_to.0.elapsed() < OPEN_FOR + Duration::from_secs(8),
            "the webhook's circuit did not recover: {:?}",
            c.decisions("hook").first()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let hook = c.decisions("hook");
    let in_outage = |d: &&Value| {
        let at = d["at"].as_i64().unwrap_or(0);
        at > outage_from.1 && at < outage_to.1
    };
    let open_during = hook
        .iter()
        .filter(in_outage)
        .filter(|d| d["actuation"]["outcome"] == "circuit-open")
        .count();
    let failed_during = hook
        .iter()
        .filter(in_outage)
        .filter(|d| d["actuation"]["outcome"] == "failed")
        .count();
    assert!(
        open_during > 0,
        "the circuit never opened during the outage"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    c.kills += 1;
    c.lives.push((life_start, Instant::now()));

    // 3. Telemetry stops with the pool at a high count: every decision holds, through six kills.
    telemetry.high.store(true, SeqCst);
    c.configure(1);
    let mut child = c.spawn();
    let begin = Instant::now();
    while marked(&mark).len() < 4 {
        assert!(
            begin.elapsed() < Duration::from_secs(20),
            "the pool never scaled up: {:?}",
            c.decisions("pool").first()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    telemetry.paused.store(true, SeqCst);
    let paused_at = now_ms();
    std::thread::sleep(Duration::from_millis(STALE_AFTER_MS as u64 + 1500));
    let held = marked(&mark).len();
    assert!(held > 1, "nothing to hold above min");
    child.kill().unwrap();
    child.wait().unwrap();
    c.kills += 1;
    for _ in 0..5 {
        c.life(Some(held));
    }
    let stale_from = paused_at + STALE_AFTER_MS + 1000;
    let stale_to = now_ms();
    for w in ["pool", "hook"] {
        for d in c.decisions(w).iter().filter(|d| {
            let at = d["at"].as_i64().unwrap_or(0);
            at > stale_from && at < stale_to
        }) {
            let rule = d["reason_json"]["rule"].as_str().unwrap_or("");
            assert!(
                matches!(rule, "stale-telemetry" | "no-telemetry"),
                "{w}: acted on stale telemetry: {d}"
            );
            assert_eq!(d["replicas_after"], d["replicas_before"], "{w}: {d}");
            if w == "pool" {
                assert_eq!(d["replicas_after"].as_u64(), Some(held as u64), "{d}");
            }
        }
    }
    assert_eq!(
        marked(&mark).len(),
        held,
        "the replicas changed while stale"
    );

    // 4. Telemetry back: it decides again; then a graceful stop leaves nothing behind.
    telemetry.high.store(false, SeqCst);
    telemetry.paused.store(false, SeqCst);
    let since = now_ms();
    let child = c.spawn();
    let running = c.settle(since, None);
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let mut child = child;
    assert!(child.wait().unwrap().success(), "{}", c.log_tail());
    telemetry.stop.store(true, SeqCst);
    sender.join().unwrap();
    let begin = Instant::now();
    while !marked(&mark).is_empty() {
        assert!(
            begin.elapsed() < Duration::from_secs(10),
            "replicas outlived the daemon: {:?}",
            marked(&mark)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    watching.store(false, SeqCst);
    watcher.join().unwrap();
    assert!(recorded(&c.state).is_empty());
    let most = most.load(SeqCst);
    assert!(most <= MAX, "{most} replicas at once, max {MAX}");

    // Webhook retries: per decision at most `ATTEMPTS` hits; during the outage at most what the
    // breaker lets through in each daemon life (THRESHOLD, then one trial per cool-down).
    let hits = target.hits.lock().unwrap();
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for h in hits.iter() {
        *per_key.entry(h.key.as_str()).or_default() += 1;
    }
    let (worst_key, worst) = per_key
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, n)| (*k, *n))
        .unwrap_or(("", 0));
    assert!(worst <= ATTEMPTS, "{worst} hits for decision {worst_key}");
    let down_hits = hits.iter().filter(|h| !h.up).count();
    let bound: usize = c
        .lives
        .iter()
        .filter_map(|(s, e)| {
            let from = (*s).max(outage_from.0);
            let to = (*e).min(outage_to.0);
            (to > from).then(|| {
                let cooldowns = (to - from).as_millis().div_ceil(OPEN_FOR.as_millis()) as usize;
                THRESHOLD + cooldowns + 1
            })
        })
        .sum();
    assert!(
        down_hits <= bound,
        "{down_hits} hits on the target while it was down, the breaker allows {bound}"
    );
    let up_after = hits.iter().filter(|h| h.up && h.at > outage_to.0).count();
    assert!(up_after > 0, "no hit after the target came back");

    // The decision log: intact, nothing served before a kill lost, time strictly increasing.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn
        .prepare("SELECT id, workload, at FROM decisions ORDER BY id")
        .unwrap();
    let rows: Vec<(i64, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let stored: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    let lost: Vec<&i64> = c.served.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "decisions served before a kill are gone: {lost:?}"
    );
    let mut last_at: BTreeMap<&str, i64> = BTreeMap::new();
    for (id, w, at) in &rows {
        if let Some(prev) = last_at.insert(w.as_str(), *at) {
            assert!(
                *at > prev,
                "decision {id} of {w} at {at} after one at {prev}"
            );
        }
    }
    eprintln!(
        "chaos: {} kills (SIGKILL) + 1 graceful stop in {:.0} s; most replicas at once {most} (max {MAX}), \
         settled at {:?} after restarts, {running} at the end, none left after the stop; webhook {} hits, {down_hits} while down \
         (breaker bound {bound}), at most {worst} per decision (max_attempts {ATTEMPTS}); \
         {open_during} circuit-open and {failed_during} failed decisions during the {:.0} s outage, \
         applied again {recovered} ms after it; pool held at {held} replicas through 5 restarts \
         on stale telemetry; {} decisions stored, {} served before kills all kept, integrity ok ({})",
        c.kills,
        began.elapsed().as_secs_f64(),
        c.settled,
        hits.len(),
        (outage_to.0 - outage_from.0).as_secs_f64(),
        rows.len(),
        c.served.len(),
        c.dir.display(),
    );
}

//! Test harness: a daemon on 127.0.0.1:0 with a temporary store, and small HTTP helpers.
#![allow(dead_code)]

pub mod prometheus;

use prescale_daemon::{Daemon, DaemonConfig};
use prescale_store::Store;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct Running {
    pub daemon: Daemon,
    pub base: String,
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

/// A daemon from `toml` (listen and db are filled in), agent off unless the text enables it.
pub async fn start(toml: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prescale.db");
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndb = {:?}\n{}",
        db.display().to_string(),
        if toml.contains("[agent]") {
            toml.to_string()
        } else {
            format!("{toml}\n[agent]\nenabled = false\n")
        }
    );
    let cfg = DaemonConfig::from_toml(&text).unwrap();
    let daemon = Daemon::start(cfg).await.unwrap();
    let base = format!("http://{}", daemon.local_addr());
    Running {
        daemon,
        base,
        db,
        _dir: dir,
    }
}

pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// POSTs a remote-write body; returns status and body text.
pub async fn post_write(base: &str, body: Vec<u8>) -> (u16, String) {
    let url = format!("{base}/api/v1/write");
    tokio::task::spawn_blocking(move || {
        let mut r = http()
            .post(&url)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .send(&body[..])
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

pub async fn get(base: &str, path: &str) -> (u16, String) {
    let url = format!("{base}{path}");
    tokio::task::spawn_blocking(move || {
        let mut r = http().get(&url).call().unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

/// Opens the daemon's store read-only for assertions.
pub fn store(db: &Path) -> Store {
    Store::open(db).unwrap()
}

/// Polls `f` every 50 ms until it is true; panics with `what` after `patience`.
pub async fn eventually(what: &str, patience: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < patience, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first of `workload`'s latest decisions that `wanted` accepts, polled for up to 30 s: a
/// decision is recorded only once its actuator has returned, a moment after the actuator's
/// effect (a command's output, a patched object) can be seen.
pub async fn decision_where(
    base: &str,
    workload: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let begin = Instant::now();
    loop {
        let (_, text) = get(
            base,
            &format!("/api/v1/decisions?workload={workload}&limit=100"),
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if let Some(r) = v["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| wanted(r))
        {
            return r.clone();
        }
        assert!(
            begin.elapsed() < Duration::from_secs(30),
            "no decision of {workload} as wanted: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A smooth demand for live test workloads: 50 ± 10 with a 31 s period.
pub fn live_demand(ts: i64) -> f64 {
    50.0 + 10.0 * (ts as f64 / 5000.0).sin()
}

/// Stores `secs` seconds of `workload`'s `metric` at 1 s ([`live_demand`]), ending now, so that a
/// controller's first tick already has the history to forecast.
pub fn prefill_live(db: &Path, workload: &str, metric: &str, secs: i64) {
    use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId};
    let end = now_ms() / 1000 * 1000;
    let samples: Vec<Sample> = (0..secs)
        .map(|k| {
            let ts = end - (secs - k) * 1000;
            Sample {
                ts: Timestamp(ts),
                value: live_demand(ts),
            }
        })
        .collect();
    let key = SeriesKey::new(
        WorkloadId::new(workload).unwrap(),
        MetricName::new(metric).unwrap(),
    );
    let series = Series::new(key, Labels::default(), samples).unwrap();
    Store::open(db).unwrap().upsert_series(&series).unwrap();
}

/// Remote-writes a fresh [`live_demand`] sample of `workload`'s `metric` every 250 ms, forever
/// (abort the task to stop it).
pub async fn feed_live(base: String, workload: &'static str, metric: &'static str) {
    use prescale_ingest::remote_write::{encode, from_points};
    loop {
        let ts = now_ms();
        let points = vec![(metric, vec![("job", workload)], ts, live_demand(ts))];
        post_write(&base, encode(&from_points(points))).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A daemon config on `db` with a fast tick, no agent or learn loop, `extra` TOML (e.g. an
/// `[[export]]`), and one live forecast-only `workload` of `requests` deciding every second.
pub fn live_config(db: &Path, workload: &str, extra: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
tick = "200ms"
[agent]
enabled = false
[learn]
enabled = false
{extra}
[[workload]]
workload = "{workload}"
metric = "requests"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
actuator = {{ type = "dry-run" }}
"#,
        db = db.display().to_string(),
    )
}

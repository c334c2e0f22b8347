//! Cluster benchmark (bench/cluster.sh): W workloads shared by 1, 2, 3 `prescale run` processes over
//! a real `nats-server -js` on loopback. Each point goes through the bus (published by whichever
//! instance received it, consumed by the owner of its partition); each instance decides its own
//! workloads every tick. After a warm-up, over a measured window it reads each instance's
//! `/metrics` (control pass seconds and passes, decisions), its process CPU time, and the server's
//! `/jsz` (stream messages and bytes), and prints one `ROW` line per instance count:
//!
//! `ROW instances workloads passes_per_s mean_pass_s decisions_per_s workloads_per_pass_s cpu_ms_per_decision
//!  point_msgs_per_s point_bytes_per_s bytes_per_point decision_bytes lease_writes_per_s lease_bytes`
//!
//! Usage: cluster_bench PRESCALE_BIN [--workloads N] [--instances 1,2,3] [--seconds S] [--warmup S]

use prescale_bus::testkit::NatsServer;
use prescale_ingest::remote_write::{encode, from_points};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn get(url: &str) -> Option<String> {
    http()
        .get(url)
        .call()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The sum of every sample of `family` in exposition `text`.
fn metric_sum(text: &str, family: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(family)
                .is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
        })
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum()
}

/// User + system CPU seconds of process `pid`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// (messages, bytes, last sequence) of every stream, from the server's `/jsz`.
fn streams(monitor: &str) -> BTreeMap<String, (f64, f64, f64)> {
    let mut out = BTreeMap::new();
    let Some(text) = get(&format!("{monitor}/jsz?accounts=true&streams=true")) else {
        return out;
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    for acc in v["account_details"].as_array().into_iter().flatten() {
        for s in acc["stream_detail"].as_array().into_iter().flatten() {
            let st = &s["state"];
            out.insert(
                s["name"].as_str().unwrap_or_default().to_string(),
                (
                    st["messages"].as_f64().unwrap_or(0.0),
                    st["bytes"].as_f64().unwrap_or(0.0),
                    st["last_seq"].as_f64().unwrap_or(0.0),
                ),
            );
        }
    }
    out
}

struct Snapshot {
    at: Instant,
    pass_seconds: f64,
    passes: f64,
    decisions: f64,
    cpu: f64,
    streams: BTreeMap<String, (f64, f64, f64)>,
    points_sent: u64,
}

fn snapshot(bases: &[String], pids: &[u32], monitor: &str, sent: &AtomicU64) -> Snapshot {
    let mut s = Snapshot {
        at: Instant::now(),
        pass_seconds: 0.0,
        passes: 0.0,
        decisions: 0.0,
        cpu: pids.iter().map(|&p| cpu_seconds(p)).sum(),
        streams: streams(monitor),
        points_sent: sent.load(Ordering::SeqCst),
    };
    for b in bases {
        let m = get(&format!("{b}/metrics")).unwrap_or_default();
        s.pass_seconds += metric_sum(&m, "prescale_control_tick_seconds_total");
        s.passes += metric_sum(&m, "prescale_control_ticks_total");
        s.decisions += metric_sum(&m, "prescale_decisions_total");
    }
    s
}

fn run(bin: &Path, k: usize, workloads: usize, seconds: u64, warmup: u64) {
    let nats = NatsServer::start().expect("nats-server");
    let dir = tempfile::tempdir().unwrap();
    let mut wl = String::new();
    for i in 0..workloads {
        wl.push_str(&format!(
            "[[workload]]\nworkload = \"svc-{i}\"\nmetric = \"cpu\"\ncapacity_per_replica = 10.0\nstep = \"1s\"\nlead = \"5s\"\nstale_after = \"1h\"\nmax = 100\n\n"
        ));
    }
    let mut children: Vec<Child> = Vec::new();
    let mut bases = Vec::new();
    for i in 0..k {
        let cfg = dir.path().join(format!("i{i}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "tick = \"1s\"\n[agent]\nenabled = false\n[learn]\nenabled = false\n[cluster]\nnats = \"{}\"\nid = \"i{i}\"\nlease_ttl = \"4s\"\npartitions = 64\n\n{wl}",
                nats.url()
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .arg("--db")
            .arg(dir.path().join(format!("i{i}.db")))
            .args(["run", "--config"])
            .arg(&cfg)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prescale run");
        children.push(child);
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    for b in &bases {
        let start = Instant::now();
        while get(&format!("{b}/healthz")).is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{b} did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // One point per workload per second, to the instances in turn.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let feeder = {
        let (stop, sent, bases) = (stop.clone(), sent.clone(), bases.clone());
        std::thread::spawn(move || {
            let names: Vec<String> = (0..workloads).map(|i| format!("svc-{i}")).collect();
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let t = now_ms();
                let pts: Vec<_> = names
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let phase = ((t / 1000) as f64 + i as f64) / 60.0;
                        (
                            "cpu",
                            vec![("job", w.as_str())],
                            t,
                            50.0 + 30.0 * phase.sin(),
                        )
                    })
                    .collect();
                let body = encode(&from_points(pts));
                let ok = http()
                    .post(&format!("{}/api/v1/write", bases[n % bases.len()]))
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .send(&body[..])
                    .is_ok_and(|r| r.status() == 204);
                if ok {
                    sent.fetch_add(workloads as u64, Ordering::SeqCst);
                }
                n += 1;
                let spent = (now_ms() - t).max(0) as u64;
                std::thread::sleep(Duration::from_millis(1000u64.saturating_sub(spent)));
            }
        })
    };
    // Every workload owned before the warm-up starts.
    let start = Instant::now();
    loop {
        let owned: usize = bases
            .iter()
            .filter_map(|b| get(&format!("{b}/api/v1/cluster")))
            .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map(|v| v["owned"].as_array().map_or(0, Vec::len))
            .sum();
        if owned == workloads {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "ownership did not settle"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(warmup));
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let a = snapshot(&bases, &pids, &nats.monitor_url(), &sent);
    std::thread::sleep(Duration::from_secs(seconds));
    let b = snapshot(&bases, &pids, &nats.monitor_url(), &sent);
    stop.store(true, Ordering::SeqCst);
    let _ = feeder.join();
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    let secs = b.at.duration_since(a.at).as_secs_f64();
    let passes = b.passes - a.passes;
    let pass_s = b.pass_seconds - a.pass_seconds;
    let decisions = b.decisions - a.decisions;
    let mean_pass = if passes > 0.0 {
        pass_s / passes
    } else {
        f64::NAN
    };
    // Each instance's passes run side by side: workloads decided per second of pass time, summed
    // over the instances = decisions / (pass seconds / instances).
    let per_pass_s = decisions / (pass_s / k as f64);
    let cpu_ms = 1000.0 * (b.cpu - a.cpu) / decisions;
    let delta = |name: &str| {
        let (m0, b0, s0) = a.streams.get(name).copied().unwrap_or_default();
        let (m1, b1, s1) = b.streams.get(name).copied().unwrap_or_default();
        (
            m1 - m0,
            b1 - b0,
            s1 - s0,
            if m1 > 0.0 { b1 / m1 } else { 0.0 },
        )
    };
    let (pm, pb, _, _) = delta("PRESCALE_POINTS");
    let points = (b.points_sent - a.points_sent) as f64;
    let (_, _, _, decision_bytes) = delta("PRESCALE_DECISIONS");
    let (_, _, lease_writes, lease_bytes) = delta("KV_prescale_leases");
    println!(
        "ROW {k} {workloads} {:.3} {mean_pass:.4} {:.1} {per_pass_s:.0} {cpu_ms:.3} {:.2} {:.0} {:.2} {decision_bytes:.0} {:.2} {lease_bytes:.0}",
        passes / secs,
        decisions / secs,
        pm / secs,
        pb / secs,
        pb / points,
        lease_writes / secs,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bin = std::path::PathBuf::from(
        args.first()
            .expect("usage: cluster_bench PRESCALE_BIN [...]"),
    );
    let flag = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_string())
    };
    let workloads: usize = flag("--workloads", "1000").parse().expect("--workloads N");
    let seconds: u64 = flag("--seconds", "20").parse().expect("--seconds S");
    let warmup: u64 = flag("--warmup", "15").parse().expect("--warmup S");
    for k in flag("--instances", "1,2,3").split(',') {
        let k: usize = k.trim().parse().expect("--instances 1,2,3");
        eprintln!("== {k} instance(s), {workloads} workloads");
        run(&bin, k, workloads, seconds, warmup);
    }
}

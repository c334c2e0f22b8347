//! The agent watching a real child process whose CPU, memory, file writes and threads the test
//! controls. The child is this test binary run again with `PRESCALE_AGENT_CHILD` set.

use prescale_agent::{Agent, AgentConfig, AgentSample, Unmatched};
use prescale_core::Timestamp;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "PRESCALE_AGENT_CHILD";
const MIB: usize = 1 << 20;
const ALLOC_MIB: usize = 64;
const THREADS: usize = 3;

/// The child's body; a no-op unless run as the child. It must stay `fn child_load` (the parent runs
/// it by name).
#[test]
fn child_load() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let stdin = std::io::stdin();
    let mut line = String::new();
    println!("ready");
    std::io::stdout().flush().unwrap();
    stdin.lock().read_line(&mut line).unwrap();
    // Memory: touch every page so it is resident.
    let mut block = vec![0u8; ALLOC_MIB * MIB];
    for i in (0..block.len()).step_by(4096) {
        block[i] = (i / 4096) as u8;
    }
    // Threads that only sleep.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    println!("loaded");
    std::io::stdout().flush().unwrap();
    // CPU and file writes on the main thread until told to stop (or 30 s at most).
    let path = std::path::Path::new(&dir).join("written.bin");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![7u8; 256 * 1024];
    let start = Instant::now();
    let mut last_write = Instant::now();
    let mut x: u64 = 1;
    let stop_file = std::path::Path::new(&dir).join("stop");
    while start.elapsed() < Duration::from_secs(30) && !stop_file.exists() {
        for _ in 0..200_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
        }
        if last_write.elapsed() >= Duration::from_millis(100) {
            file.write_all(&chunk).unwrap();
            file.sync_data().unwrap();
            last_write = Instant::now();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    std::hint::black_box((x, block.len()));
}

fn value(s: &AgentSample, metric: &str) -> Option<f64> {
    s.points
        .iter()
        .find(|p| p.key.metric.as_str() == metric)
        .map(|p| p.sample.value)
}

fn now_ms() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}

#[test]
fn agent_sees_what_the_child_does() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    if !std::path::Path::new("/proc/self/io").exists() {
        println!("skipping: no /proc/self/io on this system");
        return;
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let token = format!("live-{}", std::process::id());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_load", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .env("PRESCALE_AGENT_LIVE", &token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    let wait_for = |out: &mut BufReader<_>, what: &str| {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "child ended before {what}"
            );
            // libtest prints "test child_load ... " without a newline before the child's output.
            if line.trim_end().ends_with(what) {
                return;
            }
        }
    };
    wait_for(&mut out, "ready");

    let cfg: AgentConfig = toml::from_str(
        "interval = \"500ms\"\nunmatched = \"drop\"\n[[rules]]\nenv = \"PRESCALE_AGENT_LIVE\"\n",
    )
    .unwrap();
    assert_eq!(cfg.unmatched, Unmatched::Drop);
    let mut agent = Agent::new(cfg).unwrap();
    let base = agent.sample(now_ms()).unwrap();
    assert!(base.points.iter().all(|p| p.key.workload.as_str() == token));
    let rss0 = value(&base, "rss_bytes").unwrap();
    let threads0 = value(&base, "threads").unwrap();

    writeln!(stdin, "go").unwrap();
    wait_for(&mut out, "loaded");
    agent.sample(now_ms()).unwrap();
    let mut samples = Vec::new();
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(500));
        samples.push(agent.sample(now_ms()).unwrap());
    }
    std::fs::write(dir.path().join("stop"), "").unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success());

    let mean = |m: &str| {
        let v: Vec<f64> = samples.iter().filter_map(|s| value(s, m)).collect();
        assert_eq!(v.len(), samples.len(), "{m} missing in some samples");
        v.iter().sum::<f64>() / v.len() as f64
    };
    let last = samples.last().unwrap();
    let cpu = mean("cpu_cores");
    let rss_gain = value(last, "rss_bytes").unwrap() - rss0;
    let write_bytes = mean("write_bytes_per_s");
    let wchar = mean("write_chars_per_s");
    let syscw = mean("syscw_per_s");
    let threads = value(last, "threads").unwrap();
    println!(
        "child: cpu_cores {cpu:.3}, rss +{:.1} MiB, threads {threads0} -> {threads}, write_bytes/s {write_bytes:.0}, wchar/s {wchar:.0}, syscw/s {syscw:.1}, fds {:?}, ctx vol/s {:.1}",
        rss_gain / MIB as f64,
        value(last, "open_fds"),
        mean("ctx_switches_voluntary_per_s"),
    );
    // One busy thread: about one core (less when the machine is contended).
    assert!((0.3..=1.2).contains(&cpu), "cpu_cores {cpu}");
    // The touched block is resident.
    let want = (ALLOC_MIB * MIB) as f64;
    assert!(
        (rss_gain - want).abs() < 0.15 * want,
        "rss grew by {rss_gain} bytes, expected about {want}"
    );
    // 256 KiB every 100 ms; write_bytes depends on the file system reaching a block device.
    assert!(wchar > 500_000.0, "wchar/s {wchar}");
    assert!(syscw > 2.0, "syscw/s {syscw}");
    // The child started THREADS threads on top of libtest's main and test threads.
    assert_eq!(threads, threads0 + THREADS as f64);
    assert_eq!(value(last, "processes"), Some(1.0));
}

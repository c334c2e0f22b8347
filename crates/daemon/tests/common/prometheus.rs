//! A real `/usr/bin/prometheus` on a free loopback port with a temporary data dir, killed on drop.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Prometheus {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `None` (after printing why) when the binary is missing, unless CI=true, then it panics.
pub fn start(config_yaml: &str) -> Option<Prometheus> {
    start_with(config_yaml, &[])
}

/// [`start`] with further command-line flags (e.g. `--web.enable-remote-write-receiver`).
pub fn start_with(config_yaml: &str, flags: &[&str]) -> Option<Prometheus> {
    let bin = Path::new("/usr/bin/prometheus");
    if !bin.exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("/usr/bin/prometheus is required in CI");
        }
        eprintln!("skipping: /usr/bin/prometheus not found");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config_yaml).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Prometheus {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let start = Instant::now();
    loop {
        let ok = super::http()
            .get(&format!("{}/-/ready", p.base))
            .call()
            .map(|r| r.status() == 200)
            .unwrap_or(false);
        if ok {
            return Some(p);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "prometheus did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

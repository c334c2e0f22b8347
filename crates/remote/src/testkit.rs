//! Test harness: runs the real `prometheus` and `victoria-metrics` binaries on free loopback ports
//! with temporary data directories, waits until they are ready and kills them on drop.
//!
//! Enabled by the `testkit` feature; meant for integration tests and benchmarks only.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use thiserror::Error;

/// Why a server could not be started.
#[derive(Debug, Error)]
pub enum TestkitError {
    /// The binary is not installed (tests skip unless `CI=true`).
    #[error("{0} not found (install the Debian package, or set {1})")]
    Missing(&'static str, &'static str),
    #[error("starting {what}: {detail}")]
    Start { what: String, detail: String },
}

/// A running server; killed (and its data directory removed) on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    dir: TempDir,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub name: &'static str,
}

impl Server {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    /// The server's log so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
    /// `base_url` + `/api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base_url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound then released; the server binds it right after).
pub fn free_port() -> Result<u16, TestkitError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| TestkitError::Start {
        what: "port".into(),
        detail: e.to_string(),
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| TestkitError::Start {
            what: "port".into(),
            detail: e.to_string(),
        })
}

fn find(env: &'static str, default: &'static str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let p = PathBuf::from(default);
    if p.is_file() {
        return Some(p);
    }
    let name = p.file_name()?.to_owned();
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(&name))
        .find(|c| c.is_file())
}

/// The Prometheus binary (`$PRESCALE_PROMETHEUS_BIN`, `/usr/bin/prometheus` or on `PATH`).
pub fn prometheus_bin() -> Option<PathBuf> {
    find("PRESCALE_PROMETHEUS_BIN", "/usr/bin/prometheus")
}

/// The VictoriaMetrics binary (`$PRESCALE_VICTORIA_METRICS_BIN`, `/usr/bin/victoria-metrics` or on `PATH`).
pub fn victoria_metrics_bin() -> Option<PathBuf> {
    find("PRESCALE_VICTORIA_METRICS_BIN", "/usr/bin/victoria-metrics")
}

/// Starts Prometheus with `config_yaml` (written to the data directory) and the remote-write
/// receiver enabled.
pub fn start_prometheus(config_yaml: &str) -> Result<Server, TestkitError> {
    let bin = prometheus_bin().ok_or(TestkitError::Missing(
        "prometheus",
        "PRESCALE_PROMETHEUS_BIN",
    ))?;
    start("prometheus", "/-/ready", |dir, port| {
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, config_yaml).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .arg("--log.level=warn");
        Ok(cmd)
    })
}

/// Starts VictoriaMetrics (single node) with caching and the latency offset off, so freshly
/// written data is visible to queries at once (after [`force_flush`]).
pub fn start_victoria_metrics() -> Result<Server, TestkitError> {
    let bin = victoria_metrics_bin().ok_or(TestkitError::Missing(
        "victoria-metrics",
        "PRESCALE_VICTORIA_METRICS_BIN",
    ))?;
    start("victoria-metrics", "/health", |dir, port| {
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("-storageDataPath={}", dir.join("data").display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache")
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR");
        Ok(cmd)
    })
}

fn start(
    name: &'static str,
    ready_path: &str,
    command: impl Fn(&Path, u16) -> Result<Command, String>,
) -> Result<Server, TestkitError> {
    let err = |detail: String| TestkitError::Start {
        what: name.to_string(),
        detail,
    };
    let mut last = String::new();
    // A released port can be taken by someone else before the server binds it: try a few.
    for _ in 0..3 {
        let dir = tempfile::tempdir().map_err(|e| err(e.to_string()))?;
        let port = free_port()?;
        let log = File::create(dir.path().join("server.log")).map_err(|e| err(e.to_string()))?;
        let log2 = log.try_clone().map_err(|e| err(e.to_string()))?;
        let child = command(dir.path(), port)
            .map_err(err)?
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| err(e.to_string()))?;
        let mut server = Server {
            child,
            dir,
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            name,
        };
        match wait_ready(&mut server, ready_path, Duration::from_secs(30)) {
            Ok(()) => return Ok(server),
            Err(e) => last = format!("{e}; log:\n{}", server.log()),
        }
    }
    Err(err(last))
}

fn wait_ready(server: &mut Server, path: &str, limit: Duration) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{path}", server.base_url);
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("exited with {status} before it was ready"));
        }
        if let Ok(resp) = agent.get(&url).call() {
            if resp.status().is_success() {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("not ready at {url} within {limit:?}"))
}

/// Makes data VictoriaMetrics has received searchable now (`/internal/force_flush`).
pub fn force_flush(vm: &Server) -> Result<(), TestkitError> {
    let url = format!("{}/internal/force_flush", vm.base_url);
    let resp = ureq::get(&url).call().map_err(|e| TestkitError::Start {
        what: "force_flush".into(),
        detail: e.to_string(),
    })?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(TestkitError::Start {
            what: "force_flush".into(),
            detail: format!("HTTP {}", resp.status()),
        })
    }
}

/// For tests: the server, or `None` after printing a skip message when the binary is missing
/// (panics instead when `CI=true`, and on any other start failure).
pub fn require(started: Result<Server, TestkitError>) -> Option<Server> {
    match started {
        Ok(s) => Some(s),
        Err(TestkitError::Missing(what, env)) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping: {what} not installed (set {env} or install the Debian package)");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

//! Test harness: runs the real `nats-server -js` on a free loopback port with a temporary store
//! directory, waits until it accepts connections, and kills it on drop. It can be stopped and
//! started again on the same port and directory (a bus outage). [`read_stream`] reads back every
//! message a stream holds, with its message id.
//!
//! Enabled by the `testkit` feature; meant for integration tests and benchmarks only.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NatsTestError {
    /// The binary is not installed (tests skip unless `CI=true`).
    #[error("nats-server not found (install the Debian package nats-server, or set PRESCALE_NATS_SERVER_BIN)")]
    Missing,
    #[error("starting nats-server: {0}")]
    Start(String),
    #[error("reading stream {stream}: {detail}")]
    Read { stream: String, detail: String },
}

/// One message a stream holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub sequence: u64,
    pub subject: String,
    /// The `Nats-Msg-Id` it was published with.
    pub msg_id: Option<String>,
    pub payload: Vec<u8>,
}

/// Every message `stream` holds on the server at `url`, in stream order.
pub async fn read_stream(url: &str, stream: &str) -> Result<Vec<StoredMessage>, NatsTestError> {
    let err = |detail: String| NatsTestError::Read {
        stream: stream.to_string(),
        detail,
    };
    let client = async_nats::connect(url)
        .await
        .map_err(|e| err(e.to_string()))?;
    let js = async_nats::jetstream::new(client);
    let mut s = js
        .get_stream(stream)
        .await
        .map_err(|e| err(e.to_string()))?;
    let state = s
        .info()
        .await
        .map_err(|e| err(e.to_string()))?
        .state
        .clone();
    let mut out = Vec::new();
    if state.messages == 0 {
        return Ok(out);
    }
    for seq in state.first_sequence..=state.last_sequence {
        match s.get_raw_message(seq).await {
            Ok(m) => out.push(StoredMessage {
                sequence: m.sequence,
                subject: m.subject.to_string(),
                msg_id: m
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|v| v.to_string()),
                payload: m.payload.to_vec(),
            }),
            // A sequence removed (limits, deletes) leaves a gap.
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound => {}
            Err(e) => return Err(err(format!("message {seq}: {e}"))),
        }
    }
    Ok(out)
}

/// [`read_stream`] from synchronous code (a test's thread, not inside a runtime).
pub fn read_stream_blocking(url: &str, stream: &str) -> Result<Vec<StoredMessage>, NatsTestError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NatsTestError::Read {
            stream: stream.to_string(),
            detail: e.to_string(),
        })?
        .block_on(read_stream(url, stream))
}

/// A running `nats-server -js`; killed on drop.
pub struct NatsServer {
    bin: PathBuf,
    child: Option<Child>,
    dir: TempDir,
    pub port: u16,
    /// The HTTP monitoring port (`/jsz`, `/varz`).
    pub monitor_port: u16,
}

/// The binary: `$PRESCALE_NATS_SERVER_BIN`, `/usr/sbin/nats-server`, or on `PATH`.
pub fn nats_server_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PRESCALE_NATS_SERVER_BIN") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let fixed = PathBuf::from("/usr/sbin/nats-server");
    if fixed.is_file() {
        return Some(fixed);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("nats-server"))
        .find(|c| c.is_file())
}

/// The server for a test, or `None` (with a message) when it is not installed; under `CI=true`
/// a missing server fails the test instead.
pub fn nats_or_skip(test: &str) -> Option<NatsServer> {
    match NatsServer::start() {
        Ok(s) => Some(s),
        Err(NatsTestError::Missing) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping {test}: {}", NatsTestError::Missing);
            None
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

impl NatsServer {
    /// Starts a server on a free port.
    pub fn start() -> Result<NatsServer, NatsTestError> {
        let bin = nats_server_bin().ok_or(NatsTestError::Missing)?;
        let mut last = String::new();
        // A released port can be taken before the server binds it: try a few.
        for _ in 0..3 {
            let dir = tempfile::tempdir().map_err(|e| NatsTestError::Start(e.to_string()))?;
            let (port, monitor_port) = (free_port()?, free_port()?);
            let mut s = NatsServer {
                bin: bin.clone(),
                child: None,
                dir,
                port,
                monitor_port,
            };
            match s.restart() {
                Ok(()) => return Ok(s),
                Err(e) => last = e.to_string(),
            }
        }
        Err(NatsTestError::Start(last))
    }

    /// `http://127.0.0.1:MONITOR_PORT`
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the server (its store directory stays): a bus outage.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and store directory, waiting until it accepts
    /// connections.
    pub fn restart(&mut self) -> Result<(), NatsTestError> {
        self.stop();
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .map_err(|e| NatsTestError::Start(e.to_string()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| NatsTestError::Start(e.to_string()))?;
        let child = Command::new(&self.bin)
            .arg("-js")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-m", &self.monitor_port.to_string()])
            .arg("-sd")
            .arg(self.dir.path().join("store"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| NatsTestError::Start(e.to_string()))?;
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(NatsTestError::Start(format!(
                    "exited with {status}; log:\n{}",
                    self.log()
                )));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(NatsTestError::Start(format!(
            "not accepting connections on port {} within 15 s",
            self.port
        )))
    }
}

fn free_port() -> Result<u16, NatsTestError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| NatsTestError::Start(e.to_string()))
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

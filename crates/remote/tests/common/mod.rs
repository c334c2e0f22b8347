//! Helpers shared by the integration tests: a tiny scrape target and a canned-answer HTTP server.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One HTTP request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(mut stream: &TcpStream, status: u16, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// Serves on a loopback port until dropped; `handler` sees each request.
pub struct HttpThread {
    pub port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl HttpThread {
    pub fn start(
        handler: impl Fn(&Request) -> (u16, String, String) + Send + 'static,
    ) -> HttpThread {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Some(req) = read_request(&stream) {
                    let (status, ct, body) = handler(&req);
                    respond(&stream, status, &ct, &body);
                }
            }
        });
        HttpThread {
            port,
            stop,
            handle: Some(handle),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A `/metrics` target: scrape `n` (from 1) serves counter `3n` and gauge `(7n mod 11) + 0.5`.
pub struct ScrapeTarget {
    pub http: HttpThread,
    /// `(n, unix ms when served)` per scrape.
    pub served: Arc<Mutex<Vec<(u64, i64)>>>,
}

pub fn counter_value(n: u64) -> f64 {
    3.0 * n as f64
}

pub fn gauge_value(n: u64) -> f64 {
    ((7 * n) % 11) as f64 + 0.5
}

impl ScrapeTarget {
    pub fn start() -> ScrapeTarget {
        let served: Arc<Mutex<Vec<(u64, i64)>>> = Arc::default();
        let log = served.clone();
        let http = HttpThread::start(move |req| {
            if req.path != "/metrics" {
                return (404, "text/plain".into(), "not found\n".into());
            }
            let mut log = log.lock().expect("lock");
            let n = log.len() as u64 + 1;
            log.push((n, now_ms()));
            let body = format!(
                "# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\n\
                 test_requests_total{{path=\"/api\"}} {}\n\
                 # HELP test_queue_depth Queue depth.\n# TYPE test_queue_depth gauge\n\
                 test_queue_depth {}\n",
                counter_value(n),
                gauge_value(n)
            );
            (200, "text/plain; version=0.0.4".into(), body)
        });
        ScrapeTarget { http, served }
    }
}

/// Answers requests from a script of `(status, body)` (the last one repeats) and records them.
pub struct Scripted {
    pub http: HttpThread,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Scripted {
    pub fn start(script: Vec<(u16, &'static str)>) -> Scripted {
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let log = requests.clone();
        let http = HttpThread::start(move |req| {
            let mut log = log.lock().expect("lock");
            let i = log.len().min(script.len() - 1);
            log.push(req.clone());
            let (status, body) = script[i];
            (status, "application/json".into(), body.to_string())
        });
        Scripted { http, requests }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }
}

//! Webhook actuator against an in-test HTTP server that checks the signature.

mod common;

use common::request;
use prescale_actuate::{
    verify_signature, ActuateError, ActuationRequest, Actuator, Webhook, WebhookOptions,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &[u8] = b"s3cret";

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    signature_ok: bool,
}

struct Server {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    let signature_ok = headers
        .get("x-prescale-signature")
        .is_some_and(|s| verify_signature(SECRET, &body, s));
    Some(Received {
        path,
        headers,
        body,
        signature_ok,
    })
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        409 => "Conflict",
        _ => "Internal Server Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let Some(req) = read_request(&mut stream) else {
                    return;
                };
                log.lock().unwrap().push(req.clone());
                if !req.signature_ok {
                    return respond(&mut stream, 401, "bad signature");
                }
                match req.path.as_str() {
                    "/ok" => respond(
                        &mut stream,
                        200,
                        r#"{"changed": true, "detail": "scaled to 4"}"#,
                    ),
                    "/same" => respond(&mut stream, 200, r#"{"changed": false}"#),
                    "/conflict" => respond(&mut stream, 409, "version conflict"),
                    "/slow" => {
                        std::thread::sleep(Duration::from_secs(5));
                        respond(&mut stream, 200, "{}");
                    }
                    _ => respond(&mut stream, 500, "boom"),
                }
            });
        }
    });
    Server { base, received }
}

fn hook(server: &Server, path: &str, secret: &[u8], timeout: Duration) -> Webhook {
    Webhook::new(
        format!("{}{path}", server.base),
        secret.to_vec(),
        WebhookOptions {
            timeout,
            ..WebhookOptions::default()
        },
    )
}

#[test]
fn success_sends_signed_json_with_headers() {
    let server = start();
    let mut h = hook(&server, "/ok", SECRET, Duration::from_secs(30));
    let req = request(4);
    let applied = h.apply(&req).unwrap();
    assert!(applied.changed);
    assert_eq!(applied.detail, "scaled to 4");
    let got = server.received.lock().unwrap().pop().unwrap();
    assert!(got.signature_ok);
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["idempotency-key"], "dec-4");
    assert!(got.headers["x-prescale-timestamp"].parse::<u64>().unwrap() > 1_600_000_000);
    let parsed: ActuationRequest = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(parsed, req);
    assert_eq!(
        h.current(&req.desired.workload).unwrap().unwrap().replicas,
        Some(4)
    );

    let mut same = hook(&server, "/same", SECRET, Duration::from_secs(30));
    assert!(!same.apply(&req).unwrap().changed);
}

#[test]
fn wrong_secret_is_rejected_by_the_receiver() {
    let server = start();
    let mut h = hook(&server, "/ok", b"wrong", Duration::from_secs(30));
    let err = h.apply(&request(4)).unwrap_err();
    assert!(
        matches!(err, ActuateError::Rejected { status: 401, .. }),
        "{err:?}"
    );
    assert!(!server.received.lock().unwrap()[0].signature_ok);
}

#[test]
fn conflict_is_permanent_and_carries_the_body() {
    let server = start();
    let mut h = hook(&server, "/conflict", SECRET, Duration::from_secs(30));
    let err = h.apply(&request(4)).unwrap_err();
    match &err {
        ActuateError::Rejected { status, body, .. } => {
            assert_eq!(*status, 409);
            assert_eq!(body, "version conflict");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(h.current(&common::workload()).unwrap().is_none());
}

#[test]
fn server_error_is_retryable() {
    let server = start();
    let mut h = hook(&server, "/fail", SECRET, Duration::from_secs(30));
    let err = h.apply(&request(4)).unwrap_err();
    assert!(
        matches!(err, ActuateError::ServerError { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[test]
fn slow_receiver_times_out_retryably() {
    let server = start();
    let mut h = hook(&server, "/slow", SECRET, Duration::from_millis(300));
    let err = h.apply(&request(4)).unwrap_err();
    assert!(matches!(err, ActuateError::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[test]
fn refused_connection_is_retryable() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut h = Webhook::new(
        format!("http://127.0.0.1:{port}/x"),
        SECRET.to_vec(),
        WebhookOptions::default(),
    );
    let err = h.apply(&request(1)).unwrap_err();
    assert!(matches!(err, ActuateError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
}

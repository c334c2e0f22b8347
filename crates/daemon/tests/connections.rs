//! Connection limits of the HTTP server (issue 12, item 2): silent, half-sent and idle
//! connections are closed after their timeouts, a body shorter than its Content-Length is cut
//! with 408, and past the connection cap new connections get a prompt 503 while the held ones
//! expire, after which `/healthz` answers again. Small configured timeouts, raw sockets.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any of these waits may take; the old server never closed at all.
const PATIENCE: Duration = Duration::from_secs(5);

fn limits(extra: &str) -> String {
    format!(
        "[learn]\nenabled = false\n[server]\nheader_read_timeout = \"300ms\"\n\
         body_timeout = \"300ms\"\nidle_timeout = \"1s\"\n{extra}\n"
    )
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the peer closes; the bytes and how long it took (panics past `PATIENCE`).
async fn until_closed(s: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, s.read(&mut buf)).await {
            Err(_) => panic!(
                "connection still open after {PATIENCE:?}; read {:?}",
                String::from_utf8_lossy(&all)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&all).into_owned(),
        started.elapsed(),
    )
}

/// Reads one whole response that ends with `tail`.
async fn response(s: &mut TcpStream, tail: &str) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&all).ends_with(tail) {
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&all));
        all.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_sent_connections_are_closed_after_the_header_timeout() {
    let d = start(&limits("")).await;
    let mut silent = connect(&d.base).await;
    let mut half = connect(&d.base).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow:")
        .await
        .unwrap();
    for s in [&mut silent, &mut half] {
        let (got, took) = until_closed(s).await;
        assert!(!got.contains("200 OK"), "{got}");
        assert!(took < Duration::from_secs(3), "closed after {took:?}");
    }
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let d = start(&limits("")).await;
    let mut s = connect(&d.base).await;
    // Two requests on one connection: keep-alive works.
    for _ in 0..2 {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let r = response(&mut s, "ok\n").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    let (_, idle) = until_closed(&mut s).await;
    // The idle timeout (1 s), not the header-read one (300 ms), closed it.
    assert!(idle >= Duration::from_millis(800), "closed after {idle:?}");
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_length_is_cut_with_408() {
    let d = start(&limits("")).await;
    let mut s = connect(&d.base).await;
    s.write_all(
        b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
          Content-Encoding: snappy\r\nContent-Length: 1000\r\n\r\nonly a few bytes",
    )
    .await
    .unwrap();
    let (got, took) = until_closed(&mut s).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("did not arrive within 300ms"), "{got}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    // The server is fine afterwards.
    assert_eq!(get(&d.base, "/healthz").await.0, 200);
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_get_a_prompt_503() {
    let d = start(&limits("max_connections = 3")).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&d.base).await);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let mut extra = connect(&d.base).await;
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let (got, _) = until_closed(&mut extra).await;
    assert!(got.starts_with("HTTP/1.1 503"), "{got:?}");
    assert!(got.contains("Retry-After: 1"), "{got}");
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "refused after {:?}",
        started.elapsed()
    );
    // The held connections send nothing: they expire and /healthz answers again.
    for s in &mut held {
        until_closed(s).await;
    }
    assert_eq!(get(&d.base, "/healthz").await, (200, "ok\n".to_string()));
    d.daemon.shutdown().await.unwrap();
}

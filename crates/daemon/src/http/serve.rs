//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout, a body
//! timeout, an idle keep-alive timeout and a connection cap. Past the cap a connection is answered
//! 503 (`Retry-After: 1`) and closed at once; the cap is lowered to what the open-file limit leaves
//! after a reserve for the store, the agent and outgoing requests, so idle sockets cannot starve
//! them of file descriptors. Shutdown stops accepting, closes idle connections and lets requests
//! in flight finish.

use super::body_timeout;
use super::conn_watch::{DoneOnDrop, Timeouts, Watch, Watched};
use crate::config::ServerConfig;
use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

/// The limits one server runs with (the configured ones, the cap already fitted to the fds).
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub header_read_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl ServeLimits {
    /// `cfg`'s limits with the connection cap fitted to this process's open-file limit.
    pub fn fitted(cfg: &ServerConfig) -> ServeLimits {
        let cap = match (open_file_limit(), open_files_now()) {
            (Some(limit), Some(open)) => {
                connection_cap(cfg.max_connections, limit, open, cfg.fd_reserve)
            }
            _ => cfg.max_connections,
        };
        if cap < cfg.max_connections {
            tracing::info!(
                configured = cfg.max_connections,
                cap,
                fd_reserve = cfg.fd_reserve,
                open_file_limit = open_file_limit().unwrap_or(0),
                "connection cap lowered to fit the open-file limit"
            );
        }
        ServeLimits {
            header_read_timeout: cfg.header_read_timeout,
            body_timeout: cfg.body_timeout,
            idle_timeout: cfg.idle_timeout,
            max_connections: cap,
        }
    }
}

/// The connections that fit: at most `configured`, and no more than the open-file `limit` leaves
/// after the files `open` now and the `reserve` (at least one, so the server still answers).
pub fn connection_cap(configured: usize, limit: u64, open: usize, reserve: usize) -> usize {
    let spare = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(open)
        .saturating_sub(reserve);
    configured.min(spare).max(1)
}

/// The soft `RLIMIT_NOFILE`, when it is finite.
#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own and reads nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
    // rlim_t is u64 on Linux, narrower or wider elsewhere.
    #[allow(clippy::useless_conversion)]
    let cur = u64::from(r.rlim_cur);
    (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(cur)
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// File descriptors this process has open now (Linux: `/proc/self/fd`).
fn open_files_now() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits (up to `drain`) for the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut refused: u64 = 0;
    let mut last_refusal_log: Option<tokio::time::Instant> = None;
    let mut last_accept_error_log: Option<tokio::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((s, _peer)) => s,
            Err(e) => {
                // EMFILE and friends: the reserve is for the rest of the daemon, so back off
                // instead of spinning; a connection error is the client's and is skipped.
                if !is_connection_error(&e) {
                    if due(&mut last_accept_error_log) {
                        tracing::warn!(error = %e, "accepting a connection");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                continue;
            }
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                refused += 1;
                if due(&mut last_refusal_log) {
                    tracing::warn!(
                        cap = limits.max_connections,
                        refused_so_far = refused,
                        "connection cap reached: refusing new connections with 503"
                    );
                }
                tokio::spawn(refuse(stream));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (router, stop) = (router.clone(), stop_rx.clone());
        tokio::spawn(async move {
            connection(stream, router, limits, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(drain, permits.acquire_many(all)).await;
    Ok(())
}

/// Whether `last` is more than 10 s ago (then it becomes now): rate-limits warnings.
fn due(last: &mut Option<tokio::time::Instant>) -> bool {
    let now = tokio::time::Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(10)) {
        return false;
    }
    *last = Some(now);
    true
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Answers 503 on a connection past the cap and closes it (bounded: a client that does not
/// read gets the close).
async fn refuse(mut stream: TcpStream) {
    const ANSWER: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Retry-After: 1\r\nConnection: close\r\nContent-Length: 40\r\n\r\n\
too many connections: retry in a second\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(ANSWER).await?;
        stream.shutdown().await
    })
    .await;
}

/// Serves one connection until it ends, a deadline of its [`Watch`] passes, or shutdown.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
) {
    let w = Watch::new();
    let timeouts = Timeouts {
        header_read: limits.header_read_timeout,
        idle: limits.idle_timeout,
    };
    let svc_watch = w.clone();
    let body_limit = limits.body_timeout;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        svc_watch.request_started();
        let (parts, body) = req.into_parts();
        let (body, fired) = body_timeout::bounded(body, body_limit);
        let req = hyper::Request::from_parts(parts, body);
        let (router, w) = (router.clone(), svc_watch.clone());
        async move {
            let mut resp = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if fired.load(Ordering::SeqCst) {
                resp = body_timeout::timed_out(body_limit);
            }
            Ok::<_, std::convert::Infallible>(resp.map(|b| Body::new(DoneOnDrop::new(b, w))))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Timeouts are the watchdog's below: hyper's own header timer would also cut idle connections.
    builder.header_read_timeout(None).keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(Watched::new(stream, w.clone())), service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = w.deadline(timeouts);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = w.changed() => {}
            _ = sleep_until(deadline.map(|d| d.0)) => {
                if let Some((at, why)) = w.deadline(timeouts) {
                    if at <= tokio::time::Instant::now() {
                        tracing::debug!(reason = why.as_str(), "closing a connection");
                        return;
                    }
                }
            }
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_the_reserve() {
        assert_eq!(connection_cap(1024, 65_536, 40, 128), 1024);
        // The case: a 256-file limit.
        assert_eq!(connection_cap(1024, 256, 40, 128), 88);
        assert_eq!(connection_cap(1024, 100, 40, 128), 1);
        assert_eq!(connection_cap(16, u64::MAX, 40, 128), 16);
    }
}

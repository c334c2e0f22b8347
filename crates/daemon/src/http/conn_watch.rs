//! What one connection is doing, and the deadline that follows from it: waiting for a request
//! (the idle keep-alive timeout; a new connection's first headers get the header-read timeout),
//! reading headers (the header-read timeout), or serving a request (no deadline of its own: the
//! body timeout and a write that stays blocked bound it). The socket wrapper reports bytes and
//! blocked writes; the service reports when a request starts and its answer ends.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The timeouts a connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No byte of the next request yet; `first`: no request on this connection yet.
    Waiting { since: Instant, first: bool },
    /// Bytes of a request head arrived; the head is not complete.
    Head { since: Instant },
    /// A request is being served.
    Busy,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Since when a write has found the socket full.
    write_blocked: Option<Instant>,
}

/// Shared between the socket wrapper, the service and the connection's watchdog.
#[derive(Debug, Clone)]
pub struct Watch {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

/// Why a connection is closed by its watchdog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Idle,
    HeaderRead,
    WriteStalled,
}

impl Expiry {
    pub fn as_str(self) -> &'static str {
        match self {
            Expiry::Idle => "idle keep-alive timeout",
            Expiry::HeaderRead => "header-read timeout",
            Expiry::WriteStalled => "writes blocked past the idle timeout",
        }
    }
}

impl Watch {
    /// A connection accepted now.
    pub fn new() -> Watch {
        Watch {
            state: Arc::new(Mutex::new(State {
                phase: Phase::Waiting {
                    since: Instant::now(),
                    first: true,
                },
                write_blocked: None,
            })),
            changed: Arc::new(Notify::new()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Bytes arrived: a waiting connection is now reading a request head. A new connection's
    /// head is timed from the accept, so dribbling the first byte late buys nothing.
    fn bytes_read(&self) {
        let moved = self.with(|s| match s.phase {
            Phase::Waiting { since, first } => {
                s.phase = Phase::Head {
                    since: if first { since } else { Instant::now() },
                };
                true
            }
            _ => false,
        });
        if moved {
            self.changed.notify_one();
        }
    }

    fn write_blocked(&self, blocked: bool) {
        let started = self.with(|s| match (blocked, s.write_blocked) {
            (true, None) => {
                s.write_blocked = Some(Instant::now());
                true
            }
            (false, Some(_)) => {
                s.write_blocked = None;
                false
            }
            _ => false,
        });
        if started {
            self.changed.notify_one();
        }
    }

    /// The service was called: a request head is complete.
    pub fn request_started(&self) {
        self.with(|s| s.phase = Phase::Busy);
        self.changed.notify_one();
    }

    /// The answer was written (or abandoned): the connection waits for its next request.
    pub fn request_done(&self) {
        self.with(|s| {
            s.phase = Phase::Waiting {
                since: Instant::now(),
                first: false,
            }
        });
        self.changed.notify_one();
    }

    /// Resolves when the phase may have changed (a deadline to recompute).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// The earliest deadline now in force, and what passing it means.
    pub fn deadline(&self, t: Timeouts) -> Option<(Instant, Expiry)> {
        self.with(|s| {
            let phase = match s.phase {
                Phase::Waiting { since, first: true } | Phase::Head { since } => {
                    Some((since + t.header_read, Expiry::HeaderRead))
                }
                Phase::Waiting {
                    since,
                    first: false,
                } => Some((since + t.idle, Expiry::Idle)),
                Phase::Busy => None,
            };
            let write = s.write_blocked.map(|w| (w + t.idle, Expiry::WriteStalled));
            match (phase, write) {
                (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
                (a, b) => a.or(b),
            }
        })
    }
}

/// A socket that tells its [`Watch`] about bytes read and writes blocked.
pub struct Watched<S> {
    inner: S,
    watch: Watch,
}

impl<S> Watched<S> {
    pub fn new(inner: S, watch: Watch) -> Self {
        Watched { inner, watch }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.bytes_read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch.write_blocked(r.is_pending());
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch.write_blocked(r.is_pending());
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch.write_blocked(r.is_pending());
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that tells the [`Watch`] when it is dropped: hyper drops it once written, or
/// when the connection goes.
pub struct DoneOnDrop<B> {
    inner: B,
    watch: Watch,
}

impl<B> DoneOnDrop<B> {
    pub fn new(inner: B, watch: Watch) -> Self {
        DoneOnDrop { inner, watch }
    }
}

impl<B> Drop for DoneOnDrop<B> {
    fn drop(&mut self) {
        self.watch.request_done();
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for DoneOnDrop<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deadlines_follow_the_phase() {
        let t = Timeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        };
        let w = Watch::new();
        let (d0, why) = w.deadline(t).unwrap();
        assert_eq!(why, Expiry::HeaderRead);
        // The first head is timed from the accept, not from its first byte.
        w.bytes_read();
        assert_eq!(w.deadline(t), Some((d0, Expiry::HeaderRead)));
        w.request_started();
        assert_eq!(w.deadline(t), None);
        w.write_blocked(true);
        assert_eq!(w.deadline(t).map(|d| d.1), Some(Expiry::WriteStalled));
        w.write_blocked(false);
        w.request_done();
        let (idle, why) = w.deadline(t).unwrap();
        assert_eq!(why, Expiry::Idle);
        assert!(idle >= d0 + Duration::from_secs(50));
        // A later request's head is timed from its first byte.
        w.bytes_read();
        let (head, why) = w.deadline(t).unwrap();
        assert_eq!(why, Expiry::HeaderRead);
        assert!(head < idle);
    }
}

//! The body timeout: a request body must arrive in full within a deadline counted from the end of
//! its headers; past it the body fails, and the answer becomes 408 with `Connection: close`.

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error a late body fails with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

/// `inner` with a deadline `limit` from now; `fired` is set when it passes.
pub struct TimedBody<B> {
    inner: B,
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
    fired: Arc<AtomicBool>,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, limit: Duration, fired: Arc<AtomicBool>) -> Self {
        TimedBody {
            inner,
            limit,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + limit)),
            fired,
        }
    }
}

impl<B> http_body::Body for TimedBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(r) => Poll::Ready(r.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    this.fired.store(true, Ordering::SeqCst);
                    Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.limit)))))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request body as axum's, bounded by `limit`; the flag says afterwards whether it fired.
pub fn bounded<B>(inner: B, limit: Duration) -> (Body, Arc<AtomicBool>)
where
    B: http_body::Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let fired = Arc::new(AtomicBool::new(false));
    (
        Body::new(TimedBody::new(inner, limit, fired.clone())),
        fired,
    )
}

/// The 408 that replaces a handler's answer when the body timed out.
pub fn timed_out(limit: Duration) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONNECTION, "close")],
        format!(
            "the request body did not arrive within {}\n",
            crate::config::show_duration(limit)
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that yields one chunk and then never ends (a client that stopped sending).
    struct Stalled(bool);

    impl http_body::Body for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.0 {
                Poll::Pending
            } else {
                self.0 = true;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"part")))))
            }
        }
    }

    #[tokio::test]
    async fn a_body_that_stops_short_fails_at_the_deadline() {
        let limit = Duration::from_millis(100);
        let (body, fired) = bounded(Stalled(false), limit);
        let started = Instant::now();
        let e = axum::body::to_bytes(body, 1 << 20).await.unwrap_err();
        assert!(fired.load(Ordering::SeqCst));
        assert!(started.elapsed() >= limit);
        assert!(
            std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("did not arrive")),
            "{e:?}"
        );
        let (whole, fired) = bounded(Body::from("all of it"), limit);
        assert_eq!(
            axum::body::to_bytes(whole, 1 << 20).await.unwrap(),
            "all of it"
        );
        assert!(!fired.load(Ordering::SeqCst));
    }
}

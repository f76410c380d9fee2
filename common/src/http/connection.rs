//! What one connection of [`super::serve`] is doing, for its watcher: its socket and its service
//! report each request byte and each request's start and end to a shared [`Activity`], which
//! says whether the connection is busy, idle past its timeout, or slow with a request head.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use warp::reply::Response;

use super::HttpLimits;

/// What a connection is doing, as its watcher sees it.
pub(super) enum Verdict {
    Busy,
    Idle,
    SlowHead,
}

/// When a connection last did something, shared by its socket, its service and its watcher.
/// Times are milliseconds since `start`.
pub(super) struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    /// When the last request ended (or the connection opened).
    idle_since: AtomicU64,
    /// When the first byte of a request head came while no request was in flight, or
    /// [`NO_HEAD`].
    head_since: AtomicU64,
}

const NO_HEAD: u64 = u64::MAX;

impl Activity {
    pub(super) fn new() -> Activity {
        Activity {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NO_HEAD),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let now = self.now();
            let _ =
                self.head_since
                    .compare_exchange(NO_HEAD, now, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn request_began(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NO_HEAD, Ordering::Release);
    }

    fn request_ended(&self) {
        self.idle_since.store(self.now(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    pub(super) fn verdict(&self, limits: &HttpLimits) -> Verdict {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Verdict::Busy;
        }
        let now = self.now();
        let head_since = self.head_since.load(Ordering::Acquire);
        if head_since != NO_HEAD {
            return if now.saturating_sub(head_since) > limits.header_read_timeout_ms {
                Verdict::SlowHead
            } else {
                Verdict::Busy
            };
        }
        if now.saturating_sub(self.idle_since.load(Ordering::Acquire)) > limits.idle_timeout_ms {
            Verdict::Idle
        } else {
            Verdict::Busy
        }
    }
}

/// The socket, telling [`Activity`] when request bytes come.
pub(super) struct Watched {
    pub(super) stream: TcpStream,
    pub(super) activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A request as hyper hands it to a connection's service.
pub(super) type IncomingRequest = warp::http::Request<hyper::body::Incoming>;

/// What [`warp::service`] makes of the routes: a cloneable service that always answers. One name
/// for the bounds that [`Counted`] and the server loop both need.
pub(super) trait Routes:
    tower_service::Service<
        IncomingRequest,
        Response = Response,
        Error = Infallible,
        Future = <Self as Routes>::Answer,
    > + Clone
    + Send
    + 'static
{
    /// The service's future, sent to the connection's task.
    type Answer: Future<Output = Result<Response, Infallible>> + Send + 'static;
}

impl<S> Routes for S
where
    S: tower_service::Service<IncomingRequest, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Answer = S::Future;
}

/// The routes' service, telling [`Activity`] when a request is in flight.
#[derive(Clone)]
pub(super) struct Counted<S> {
    pub(super) inner: S,
    pub(super) activity: Arc<Activity>,
}

impl<S: Routes> hyper::service::Service<IncomingRequest> for Counted<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: IncomingRequest) -> Self::Future {
        self.activity.request_began();
        let in_flight = InFlight(Arc::clone(&self.activity));
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let response = inner.call(request).await;
            drop(in_flight);
            response
        })
    }
}

/// Ends the request in [`Activity`] however its future ends, dropped half-way included.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

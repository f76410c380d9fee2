//! The server loop every listener runs (the frontend's two, the catalog's, each replica's): HTTP/1.1
//! through hyper directly, so that slow and idle clients are bounded, with graceful shutdown.
//!
//! Invariants kept here:
//! - A listener holds at most [`HttpLimits::max_connections`] connections; one more is answered
//!   503 with the public error body and closed (at most 64 such answers at a time,
//!   more are dropped), so a flood of idle sockets cannot grow memory.
//! - A connection with no request in flight is closed once it has sat without a byte for the
//!   idle timeout, or once a request head it began has taken longer than the header timeout.
//! - A request head over [`HttpLimits::max_header_bytes`] is answered 431 by hyper and closed.
//! - On shutdown no connection is taken any more; each open one finishes its request in flight,
//!   then closes, and [`serve`] returns once all have.

use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use warp::{Filter, Reply};

use super::connection::{Activity, Counted, Routes, Verdict, Watched};
use crate::shutdown::Shutdown;

/// Default [`HttpLimits::header_read_timeout_ms`].
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default [`HttpLimits::idle_timeout_ms`]: as long as a header read, so a client that opens a
/// connection and says nothing is closed as soon as a slow one.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 10_000;
/// Default [`HttpLimits::max_header_bytes`]: 32 KiB, hyper's read buffer for a head; every
/// request of the store's own clients is under 1 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;
/// Default [`HttpLimits::max_connections`] of one listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Largest [`HttpLimits::max_connections`]: past any file-descriptor limit, and small enough
/// that shutdown can wait for every slot in one call.
pub const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;
/// Connections over the limit being answered at once; past these, one more is dropped unanswered
/// so that a flood cannot grow the refusals themselves without bound.
const MAX_REFUSALS_IN_FLIGHT: usize = 64;

/// The body of the answer to a connection over the limit.
const TOO_MANY_CONNECTIONS: &str = r#"{"error":{"code":503,"message":"too many connections"}}"#;
/// How long writing the refusal, then reading what the client still sends, may take before the
/// socket is just dropped.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// What one listener allows its clients: the `[http]` table of the cluster file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLimits {
    /// Milliseconds a client has to send a whole request head (request line and headers) once
    /// its first byte has come.
    pub header_read_timeout_ms: u64,
    /// Milliseconds a connection may sit with no request and no byte before it is closed.
    pub idle_timeout_ms: u64,
    /// Largest request head, in bytes; a larger one is answered 431.
    pub max_header_bytes: usize,
    /// Connections one listener holds at once.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            idle_timeout_ms: DEFAULT_IDLE_TIMEOUT_MS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl HttpLimits {
    /// The first limit that cannot work, in words.
    pub fn problem(&self) -> Option<String> {
        if self.header_read_timeout_ms == 0 || self.idle_timeout_ms == 0 {
            return Some(
                "http header_read_timeout_ms and idle_timeout_ms must be at least 1".into(),
            );
        }
        // hyper refuses a read buffer under 8 KiB; 1 MiB is far past any sane head.
        if !(8192..=1024 * 1024).contains(&self.max_header_bytes) {
            return Some("http max_header_bytes must be from 8192 to 1048576".into());
        }
        if !(1..=MAX_CONNECTIONS_LIMIT).contains(&self.max_connections) {
            return Some(format!(
                "http max_connections must be from 1 to {MAX_CONNECTIONS_LIMIT}"
            ));
        }
        None
    }

    fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
}

/// Serves `routes` on `listener` within `limits` until `shutdown`, then lets in-flight requests
/// finish and returns once every connection has closed.
pub async fn serve<F, T>(routes: F, listener: TcpListener, shutdown: Shutdown, limits: HttpLimits)
where
    F: Filter<Extract = (T,), Error = Infallible> + Clone + Send + Sync + 'static,
    T: Reply,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to close rather than spin.
                log::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            if let Ok(refusing) = Arc::clone(&refusals).try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(refusing);
                });
            }
            continue;
        };
        let service = warp::service(routes.clone());
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            serve_connection(stream, service, limits, shutdown).await;
            drop(slot);
        });
    }
    drop(listener);
    // Every connection holds a slot until it closes, so having them all back means all are done.
    let all = u32::try_from(limits.max_connections).expect("checked against MAX_CONNECTIONS_LIMIT");
    let _ = slots.acquire_many(all).await;
}

/// Answers a connection over the limit and closes it. The answer goes before the request is
/// read, which HTTP/1.1 allows a server that is about to close; what the client sent is then
/// read and dropped until it closes too, because closing a socket with unread bytes sends a
/// reset, and a reset can destroy the answer before the client reads it.
async fn refuse(mut stream: TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{TOO_MANY_CONNECTIONS}",
        TOO_MANY_CONNECTIONS.len()
    );
    let answer_and_drain = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, answer_and_drain).await;
}

/// One connection until it closes: requests in turn, watched for the idle and header timeouts.
async fn serve_connection(
    stream: TcpStream,
    service: impl Routes,
    limits: HttpLimits,
    shutdown: Shutdown,
) {
    let activity = Arc::new(Activity::new());
    let io = hyper_util::rt::TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let service = Counted {
        inner: service,
        activity: Arc::clone(&activity),
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .max_header_size(limits.max_header_bytes)
        // A client that shuts its side once its request is sent still gets the answer, and a
        // body cut short by that shutdown is a 400 rather than a vanished connection.
        .half_close(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let shortest = limits.header_read_timeout().min(limits.idle_timeout());
    let mut watch = tokio::time::interval((shortest / 4).max(Duration::from_millis(10)));
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    log::debug!("connection closed: {e}");
                }
                return;
            }
            () = shutdown.wait(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = watch.tick() => match activity.verdict(&limits) {
                Verdict::Busy => {}
                Verdict::Idle if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                // Closing already, yet still idle: nothing is left to finish.
                Verdict::Idle => return,
                Verdict::SlowHead => {
                    log::debug!("closing a connection whose request head took too long");
                    return;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_table_is_optional_key_by_key_and_checked() {
        let limits: HttpLimits = toml::from_str("idle_timeout_ms = 2500").unwrap();
        assert_eq!(
            limits,
            HttpLimits {
                idle_timeout_ms: 2500,
                ..HttpLimits::default()
            }
        );
        assert_eq!(HttpLimits::default().problem(), None);
        assert!(
            toml::from_str::<HttpLimits>("idle_ms = 1").is_err(),
            "unknown keys are refused"
        );
        let cases = [
            ("header_read_timeout_ms = 0", "header_read_timeout_ms"),
            ("max_header_bytes = 4096", "max_header_bytes"),
            ("max_connections = 0", "max_connections"),
            ("max_connections = 4294967296", "max_connections"),
        ];
        for (text, named) in cases {
            let problem = toml::from_str::<HttpLimits>(text).unwrap().problem();
            assert!(
                problem.as_deref().is_some_and(|p| p.contains(named)),
                "{text}: {problem:?}"
            );
        }
    }
}

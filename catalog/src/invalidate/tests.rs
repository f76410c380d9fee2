//! The invalidator against a fake frontend that refuses some pushes, on a real loopback port.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::time::Instant;
use warp::Filter;

use common::Error;

const TOKEN: &str = "test-token";

/// A frontend's invalidation endpoint that answers 503 to its first `refuse_first` requests and
/// then takes every push, remembering each one.
struct FakeFrontend {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    taken: Arc<Mutex<Vec<Vec<Invalidation>>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeFrontend {
    async fn start(refuse_first: usize) -> FakeFrontend {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(AtomicUsize::new(0));
        let taken = Arc::new(Mutex::new(Vec::new()));
        let (counted, kept) = (requests.clone(), taken.clone());
        let route = common::http::internal_post(common::frontend_api::INVALIDATE, 1 << 20).map(
            move |batch: Vec<Invalidation>| {
                if counted.fetch_add(1, Ordering::SeqCst) < refuse_first {
                    let down = Error::Unavailable("frontend paused".into());
                    let status = warp::http::StatusCode::SERVICE_UNAVAILABLE;
                    return warp::reply::with_status(warp::reply::json(&down), status);
                }
                kept.lock().unwrap().push(batch);
                warp::reply::with_status(warp::reply::json(&()), warp::http::StatusCode::OK)
            },
        );
        let server = tokio::spawn(warp::serve(route).incoming(listener).run());
        FakeFrontend {
            addr,
            requests,
            taken,
            server,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The newest version of `name` the frontend has taken, if any.
    fn taken_version(&self, name: &str) -> Option<Version> {
        let taken = self.taken.lock().unwrap();
        taken
            .iter()
            .flatten()
            .filter(|i| i.name == name)
            .map(|i| i.version)
            .max()
    }
}

impl Drop for FakeFrontend {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Waits up to `limit` for `check`.
async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// A frontend that refused two pushes (paused, partitioned) still gets the newest version of
/// the toy once it answers again, without any further stock change.
#[tokio::test]
async fn a_refused_invalidation_is_resent_until_acknowledged() {
    let frontend = FakeFrontend::start(2).await;
    let invalidator = Invalidator::new([frontend.addr], TOKEN);
    invalidator.push("Tux", 2).await;
    invalidator.push("Tux", 3).await;
    assert_eq!(
        frontend.taken_version("Tux"),
        None,
        "both pushes were refused"
    );
    assert!(
        eventually(Duration::from_secs(5), || frontend.taken_version("Tux")
            == Some(3))
        .await,
        "Tux version 3 was never resent ({} requests)",
        frontend.requests()
    );
    // Acknowledged: nothing more is sent.
    let sent = frontend.requests();
    tokio::time::sleep(RESEND_MAX_DELAY * 2).await;
    assert_eq!(frontend.requests(), sent, "an acknowledged push was resent");
}

/// A push to a live frontend is delivered by the first attempt, before `push` returns.
#[tokio::test]
async fn a_live_frontend_has_the_push_before_it_returns() {
    let frontend = FakeFrontend::start(0).await;
    let invalidator = Invalidator::new([frontend.addr], TOKEN);
    invalidator
        .push_all(&[("Tux".into(), 2), ("Fox".into(), 7)])
        .await;
    assert_eq!(frontend.taken_version("Tux"), Some(2));
    assert_eq!(frontend.taken_version("Fox"), Some(7));
    assert_eq!(frontend.requests(), 1, "one message carries both");
}

/// Resending belongs to the invalidator: once it is dropped, a frontend that never answers is
/// not called again.
#[tokio::test]
async fn dropping_the_invalidator_stops_resending() {
    let frontend = FakeFrontend::start(usize::MAX).await;
    let invalidator = Invalidator::new([frontend.addr], TOKEN);
    invalidator.push("Tux", 2).await;
    assert!(
        eventually(Duration::from_secs(5), || frontend.requests() >= 2).await,
        "the refused push was not resent"
    );
    drop(invalidator);
    // Let an attempt already under way arrive, then nothing more may come.
    tokio::time::sleep(RESEND_TIMEOUT).await;
    let sent = frontend.requests();
    tokio::time::sleep(RESEND_MAX_DELAY * 2).await;
    assert_eq!(
        frontend.requests(),
        sent,
        "resent after the invalidator was dropped"
    );
}

/// A frontend with nothing listening does not hold a push up for longer than the short timeout.
#[tokio::test]
async fn a_dead_frontend_costs_at_most_the_push_timeout() {
    let unused = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = unused.local_addr().unwrap();
    drop(unused);
    let invalidator = Invalidator::new([dead], TOKEN);
    let started = Instant::now();
    invalidator.push("Tux", 2).await;
    assert!(
        started.elapsed() < INVALIDATE_TIMEOUT + Duration::from_millis(200),
        "push took {:?}",
        started.elapsed()
    );
}

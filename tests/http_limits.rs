//! Slow and idle clients on a real frontend with short limits (`[http]` of the cluster file): an
//! idle connection is closed, a kept-alive one too once it idles, a head sent a byte at a time is
//! cut at the header timeout however steadily its bytes come, a head over the size limit gets
//! 431, and a connection past the limit gets 503 while the others are served. The catalog and
//! the replicas run the same server loop, so one of them is checked for the idle timeout too.

mod cluster;
mod raw_http;

use cluster::{ClusterOptions, TestCluster};
use common::http::HttpLimits;
use raw_http::{connect, parse, read_one, read_to_end, time_until_closed};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const TIMEOUT_MS: u64 = 600;
const LIMITS: HttpLimits = HttpLimits {
    header_read_timeout_ms: TIMEOUT_MS,
    idle_timeout_ms: TIMEOUT_MS,
    max_header_bytes: 16 * 1024,
    max_connections: 6,
};
const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nhost: s\r\n\r\n";

/// Closed after the timeout, not before, and well before a client would give up.
fn assert_closed_at_timeout(what: &str, after: Duration) {
    let timeout = Duration::from_millis(TIMEOUT_MS);
    assert!(
        after >= timeout && after < timeout * 4,
        "{what}: closed after {after:?}, the timeout is {timeout:?}"
    );
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut_off_and_connections_are_capped() {
    let cluster = TestCluster::start(ClusterOptions {
        http: LIMITS,
        ..ClusterOptions::default()
    })
    .await;
    let public = cluster.local.config.frontends[0].public;

    // The cap first, while no other connection is open: six held, the seventh refused at once.
    let mut held = Vec::new();
    for _ in 0..LIMITS.max_connections {
        held.push(connect(public).await);
    }
    let mut seventh = connect(public).await;
    let refused = parse(&read_to_end(&mut seventh).await);
    assert_eq!(
        (
            refused.status,
            refused.header("retry-after"),
            refused.json()
        ),
        (
            503,
            Some("1".to_string()),
            serde_json::json!({"error": {"code": 503, "message": "too many connections"}})
        )
    );
    // The held ones are still served.
    held[0].write_all(HEALTH).await.unwrap();
    assert_eq!(read_one(&mut held[0]).await.status, 200);
    drop(held);
    // Their slots come back as they close.
    cluster
        .wait_until("the frontend takes connections again", || async {
            let mut stream = connect(public).await;
            stream.write_all(HEALTH).await.is_ok()
                && tokio::time::timeout(Duration::from_secs(2), read_one(&mut stream))
                    .await
                    .is_ok_and(|answer| answer.status == 200)
        })
        .await;

    let (silent, kept_alive, trickled) = tokio::join!(
        async {
            let mut stream = connect(public).await;
            time_until_closed(&mut stream).await
        },
        async {
            let mut stream = connect(public).await;
            stream.write_all(HEALTH).await.unwrap();
            assert_eq!(read_one(&mut stream).await.status, 200);
            time_until_closed(&mut stream).await
        },
        async {
            let mut stream = connect(public).await;
            let start = Instant::now();
            stream
                .write_all(b"GET /health HTTP/1.1\r\nx-slow: ")
                .await
                .unwrap();
            // A byte every fifth of the timeout: never idle, never done.
            let mut sent = 0;
            while stream.write_all(b"a").await.is_ok() && start.elapsed() < Duration::from_secs(10)
            {
                sent += 1;
                tokio::time::sleep(Duration::from_millis(TIMEOUT_MS / 5)).await;
                if sent > 10 * 5 {
                    break;
                }
            }
            start.elapsed()
        },
    );
    assert_closed_at_timeout("a connection that never spoke", silent);
    assert_closed_at_timeout("a kept-alive connection after its answer", kept_alive);
    assert!(
        trickled < Duration::from_millis(TIMEOUT_MS * 4),
        "a head trickled a byte at a time was cut after {trickled:?}"
    );

    let mut huge = b"GET /health HTTP/1.1\r\nhost: s\r\nx-big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20 * 1024));
    huge.extend_from_slice(b"\r\n\r\n");
    let mut stream = connect(public).await;
    // The server may close before it has read it all; only its answer matters.
    let _ = stream.write_all(&huge).await;
    assert_eq!(parse(&read_to_end(&mut stream).await).status, 431);

    let catalog = cluster.local.config.catalog.internal;
    let mut stream = connect(catalog).await;
    assert_closed_at_timeout(
        "an idle connection to the catalog",
        time_until_closed(&mut stream).await,
    );

    let (status, _) = cluster.public("GET", "/health", None).await;
    assert_eq!(status, 200, "the frontend still serves");
}

/// SIGTERM is not held up by idle connections (they close at once, long before their idle
/// timeout), and a request already in flight, its body still coming, gets its answer.
#[tokio::test]
async fn sigterm_closes_idle_connections_and_finishes_a_request_in_flight() {
    let mut cluster = TestCluster::start(ClusterOptions::default()).await;
    let public = cluster.local.config.frontends[0].public;
    let mut silent = connect(public).await;
    let mut kept_alive = connect(public).await;
    kept_alive.write_all(HEALTH).await.unwrap();
    assert_eq!(read_one(&mut kept_alive).await.status, 200);
    let body = br#"{"name":"Tux","quantity":1}"#;
    let mut in_flight = connect(public).await;
    let head = format!(
        "POST /orders HTTP/1.1\r\nhost: s\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight.write_all(&body[..10]).await.unwrap();
    // Time for the frontend to take the head and start reading the body.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = cluster
        .local
        .pid(cluster::FRONTEND)
        .expect("the frontend runs");
    // SAFETY: kill(2) on the pid of a child this test's cluster spawned.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let idle_limit = Duration::from_millis(common::http::HttpLimits::default().idle_timeout_ms);
    for (what, stream) in [("silent", &mut silent), ("kept alive", &mut kept_alive)] {
        let after = time_until_closed(stream).await;
        assert!(
            after < idle_limit / 3,
            "{what}: closed {after:?} after SIGTERM"
        );
    }
    in_flight.write_all(&body[10..]).await.unwrap();
    let answer = read_one(&mut in_flight).await;
    assert_eq!(
        (answer.status, answer.json()),
        (200, serde_json::json!({"data": {"order_number": 0}}))
    );
    let status = cluster
        .local
        .terminate(cluster::FRONTEND, Duration::from_secs(5))
        .expect("the frontend was started here");
    assert!(
        status.is_some_and(|s| s.success()),
        "the frontend did not stop cleanly: {status:?}"
    );
}

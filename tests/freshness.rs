//! Cache freshness when the catalog's invalidations cannot reach a frontend: a missed push is
//! resent once the frontend is reachable again, and meanwhile how stale the frontend may be is
//! bounded by its cache's time to live (2 s, `CACHE_TTL` in frontend/src/cache.rs).

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use serde_json::json;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The frontend cache's time to live (`frontend::cache::CACHE_TTL`, which is crate-private).
const CACHE_TTL: Duration = Duration::from_secs(2);
/// Polling and scheduling slack on top of the bound.
const SLACK: Duration = Duration::from_secs(1);

/// A catalog started from its own cluster file, by a cluster of its own that kills it (SIGKILL)
/// when dropped.
type CutOffCatalog = supervisor::LocalCluster;

/// Starts the catalog of `cluster` from a copy of its cluster file in which frontend 1's
/// internal address is a port nobody listens on, so every invalidation push to it fails while
/// the frontend itself runs and serves from its cache.
fn catalog_that_cannot_reach_the_frontend(cluster: &TestCluster) -> CutOffCatalog {
    let nobody = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = nobody.local_addr().expect("local address");
    drop(nobody);
    catalog_pushing_to(cluster, addr)
}

/// Starts the catalog of `cluster` from a copy of its cluster file in which frontend 1's
/// internal address is `frontend_internal`.
fn catalog_pushing_to(cluster: &TestCluster, frontend_internal: SocketAddr) -> CutOffCatalog {
    let mut config = cluster.local.config.clone();
    config.frontends[0].internal = frontend_internal;
    std::fs::create_dir_all(&config.data_root).expect("data root");
    let path = config.data_root.join("catalog-cut-off.toml");
    std::fs::write(&path, config.to_toml()).expect("write the cluster file");
    let mut catalog = supervisor::LocalCluster::from_config(
        Path::new(env!("CARGO_BIN_EXE_toystore")),
        &path,
        config,
        supervisor::ChildOutput::Files,
    );
    catalog.spawn(Service::Catalog).expect("start the catalog");
    catalog
}

/// A TCP relay to a frontend's internal port: while closed it drops every connection at once
/// (the frontend looks partitioned to the catalog, yet keeps running with its cache), while open
/// it forwards them. Plain threads, so the test needs no tokio I/O features.
struct Relay {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
}

impl Relay {
    fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let addr = listener.local_addr().expect("relay address");
        let open = Arc::new(AtomicBool::new(false));
        let stopped = Arc::new(AtomicBool::new(false));
        let (is_open, is_stopped) = (open.clone(), stopped.clone());
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                if is_stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(inbound) = inbound else { continue };
                if !is_open.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes before any answer
                }
                let Ok(outbound) = TcpStream::connect(target) else {
                    continue;
                };
                pipe(&inbound, &outbound);
                pipe(&outbound, &inbound);
            }
        });
        Relay {
            addr,
            open,
            stopped,
        }
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Copies `from` into `to` on a thread until either side closes.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (mut from, mut to) = (
        from.try_clone().expect("clone stream"),
        to.try_clone().expect("clone stream"),
    );
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// Starts frontend 1 alone (product queries need no order replicas).
async fn start_frontend(cluster: &mut TestCluster) {
    cluster.spawn(Service::Frontend(1));
    if let Err(e) = cluster
        .local
        .wait_ready(Service::Frontend(1), Duration::from_secs(30))
        .await
    {
        panic!("{e}\n{}", cluster.stderr_tail());
    }
}

/// Buys 3 Tux at the catalog itself (no frontend involved, so no frontend `forget`s it).
async fn buy_three_tux_at_the_catalog(cluster: &TestCluster, request_id: &str) {
    let buy = json!({"request_id": request_id, "name": "Tux", "quantity": 3});
    let (status, receipt) = cluster
        .internal_post(cluster.local.config.catalog.internal, "/internal/buy", &buy)
        .await;
    assert_eq!(
        (status, &receipt["remaining"]),
        (200, &json!(97)),
        "{receipt}"
    );
}

/// The frontend's count of invalidations received, from `GET /metrics`.
async fn invalidations_received(cluster: &TestCluster) -> u64 {
    let (status, text) = cluster.public("GET", "/metrics", None).await;
    assert_eq!(status, 200, "{text}");
    let text = text.as_str().expect("metrics are text").to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("toystore_frontend_cache_invalidations_total "))
        .unwrap_or_else(|| panic!("no invalidation counter in {text}"))
        .trim()
        .parse()
        .expect("a count")
}

/// A frontend that missed a push while the catalog could not reach it gets it resent once it can,
/// without any further stock change: the push itself arrives (the frontend counts it), not only
/// the time to live running out.
#[tokio::test]
async fn a_missed_push_is_resent_once_the_frontend_is_reachable() {
    let mut cluster = TestCluster::new(ClusterOptions::default());
    let relay = Relay::start(cluster.local.config.frontends[0].internal);
    let _catalog = catalog_pushing_to(&cluster, relay.addr);
    cluster.wait_catalog().await;
    start_frontend(&mut cluster).await;
    assert_eq!(cluster.quantity("Tux").await, 100, "now cached");
    buy_three_tux_at_the_catalog(&cluster, "partitioned-1").await;
    assert_eq!(cluster.quantity("Tux").await, 100, "the push was missed");
    assert_eq!(invalidations_received(&cluster).await, 0);
    relay.open();
    let cluster = &cluster;
    cluster
        .wait_until("the missed invalidation to be resent", || async move {
            invalidations_received(cluster).await > 0
        })
        .await;
    assert_eq!(cluster.quantity("Tux").await, 97);
}

/// A frontend that never gets the catalog's invalidation still answers the new quantity within
/// the cache's time to live of the change, not the old one forever.
#[tokio::test]
async fn a_frontend_that_misses_every_push_is_stale_for_at_most_the_ttl() {
    let mut cluster = TestCluster::new(ClusterOptions::default());
    let _catalog = catalog_that_cannot_reach_the_frontend(&cluster);
    cluster.wait_catalog().await;
    start_frontend(&mut cluster).await;
    assert_eq!(cluster.quantity("Tux").await, 100, "now cached");
    buy_three_tux_at_the_catalog(&cluster, "cut-off-1").await;
    let changed = Instant::now();
    assert_eq!(
        cluster.quantity("Tux").await,
        100,
        "the push did not arrive, so the cached copy is still served"
    );
    let cluster = &cluster;
    cluster
        .wait_until("the frontend to answer the new quantity", || async move {
            cluster.quantity("Tux").await == 97
        })
        .await;
    assert!(
        changed.elapsed() <= CACHE_TTL + SLACK,
        "stale for {:?}, above the {CACHE_TTL:?} time to live",
        changed.elapsed()
    );
}

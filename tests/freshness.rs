//! Cache freshness when the catalog's invalidations cannot reach a frontend: how stale the
//! frontend may be is bounded by its cache's time to live (2 s, `CACHE_TTL` in
//! frontend/src/cache.rs).

mod cluster;

use cluster::{Options, Service, TestCluster, TOKEN};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The frontend cache's time to live (`frontend::cache::CACHE_TTL`, which is crate-private).
const CACHE_TTL: Duration = Duration::from_secs(2);
/// Polling and scheduling slack on top of the bound.
const SLACK: Duration = Duration::from_secs(1);

/// A catalog started from its own cluster file, killed with SIGKILL when dropped.
struct CutOffCatalog(Child);

impl Drop for CutOffCatalog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the catalog of `cluster` from a copy of its cluster file in which frontend 1's
/// internal address is a port nobody listens on, so every invalidation push to it fails while
/// the frontend itself runs and serves from its cache.
fn catalog_that_cannot_reach_the_frontend(cluster: &TestCluster) -> CutOffCatalog {
    let mut config = cluster.config.clone();
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    config.frontends[0].internal = nobody.local_addr().expect("local address");
    drop(nobody);
    std::fs::create_dir_all(&config.data_root).expect("data root");
    let path = config.data_root.join("catalog-cut-off.toml");
    std::fs::write(&path, config.to_toml()).expect("write the cluster file");
    let stderr = std::fs::File::create(cluster.local.stderr_path(Service::Catalog))
        .expect("catalog stderr file");
    let child = Command::new(env!("CARGO_BIN_EXE_toystore"))
        .arg("catalog")
        .arg("--config")
        .arg(&path)
        .env("TOYSTORE_TOKEN", TOKEN)
        .env("TOYSTORE_DATA_ROOT", &config.data_root)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start the catalog");
    CutOffCatalog(child)
}

/// A frontend that never gets the catalog's invalidation still answers the new quantity within
/// the cache's time to live of the change, not the old one forever.
#[tokio::test]
async fn a_frontend_that_misses_every_push_is_stale_for_at_most_the_ttl() {
    let mut cluster = TestCluster::new(Options::default());
    let _catalog = catalog_that_cannot_reach_the_frontend(&cluster);
    cluster.wait_catalog().await;
    cluster.spawn(Service::Frontend(1));
    if let Err(e) = cluster
        .local
        .wait_ready(Service::Frontend(1), Duration::from_secs(30))
        .await
    {
        panic!("{e}\n{}", cluster.stderr_tail());
    }
    assert_eq!(cluster.quantity("Tux").await, 100, "now cached");
    let buy = json!({"request_id": "cut-off-1", "name": "Tux", "quantity": 3});
    let (status, receipt) = cluster
        .internal_post(cluster.config.catalog.internal, "/internal/buy", &buy)
        .await;
    assert_eq!(
        (status, &receipt["remaining"]),
        (200, &json!(97)),
        "{receipt}"
    );
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

//! The order service: one replica of the replicated order log.
//!
//! The decisions are the `protocol` crate's [`protocol::Node`]; this crate drives it. `log.rs`
//! keeps the log in sled (the node's [`protocol::LogStore`]), each entry in the compact form of
//! `stored.rs`; `driver.rs` owns the node in one task, steps it with every waiting input, flushes
//! once, and only then answers or sends anything; `api.rs` is the internal HTTP API that feeds it;
//! `metrics.rs` what the replica reports in `/metrics` and `/ready`, copied from the node's
//! getters after each flush so a scrape never waits for the node.
//!
//! Invariants (docs/protocol.md has the rules, `protocol` their checks, `tests/` the end-to-end
//! proof):
//! - Nothing a step wrote is answered or sent before it is flushed: an acknowledged order is on
//!   the disk of a majority, the leader included.
//! - A local storage failure stops the process rather than serve from a log that may not be on
//!   disk.
//!
//! Deliberately left out: membership changes (the replica set is fixed by the cluster file) and
//! log compaction; leader election is the frontend's (see `protocol::Elector`).

mod api;
mod driver;
mod error;
pub mod faults;
pub mod log;
mod metrics;
pub mod stored;

use common::catalog_api::CatalogClient;
use common::http::Peer;
use common::metrics::BuildInfo;
use common::replica_api::ReplicaClient;
use common::{ClusterConfig, ReplicaId, Shutdown};
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::error::ReplicaError;
pub use crate::log::OrderLog;
/// The rules shared with the tools that compare logs (`inspect`).
pub use ::protocol::rules as protocol;

/// Runs replica `id` of `config` until `shutdown`: opens its log, serves its internal API, catches
/// up from its peers, and flushes on the way out. `build` is shown in `/metrics`.
///
/// # Errors
/// Unknown id, a log that cannot be opened, or an address that cannot be bound.
pub async fn run(
    config: ClusterConfig,
    id: ReplicaId,
    build: BuildInfo,
    shutdown: Shutdown,
) -> Result<(), ReplicaError> {
    let address = config.replica(id)?.internal;
    let dir = config.replica_dir(id);
    let log = OrderLog::open_with(config.sled_config(&dir))
        .map_err(|source| ReplicaError::Log { id, source })?;
    let listener = common::http::bind(address, &format!("order replica {id}")).await?;
    let http = Peer::http_client();
    let peers: HashMap<ReplicaId, ReplicaClient> = config
        .replicas
        .iter()
        .filter(|r| r.id != id)
        .map(|r| {
            let peer = Peer::new(http.clone(), r.internal, &config.token);
            (r.id, ReplicaClient::new(peer))
        })
        .collect();
    let catalog = CatalogClient::new(Peer::new(http, config.catalog.internal, &config.token));
    let mut ids: Vec<ReplicaId> = peers.keys().copied().collect();
    ids.sort_unstable();
    let node = ::protocol::Node::new(id, ids.clone(), log)
        .map_err(|source| ReplicaError::Log { id, source })?;
    ::log::info!(
        "order replica {id} listening on {address}, data in {}",
        dir.display()
    );
    let metrics = Arc::new(metrics::ReplicaMetrics::new(build, &ids));
    let (handle, driver) =
        driver::start(node, peers, catalog, Arc::clone(&metrics), shutdown.clone());
    let routes = api::routes(handle, metrics, &config.token);
    common::http::serve(routes, listener, shutdown, config.http).await;
    driver
        .await
        .map_err(|source| ReplicaError::Driver { id, source })?;
    ::log::info!("order replica {id} stopped");
    Ok(())
}

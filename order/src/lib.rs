//! The order service: one replica of the replicated order log.
//!
//! Each replica keeps the log in its own sled database (`log.rs`). The frontend picks the leader
//! and tells every replica `leader {id, epoch}`; the leader fences and reads a majority, adopts the
//! best log (`catchup.rs`), then numbers orders with group commit and replicates them
//! (`replication.rs`); followers take appends that extend what they hold (`replica.rs`). The
//! decisions are plain functions in `protocol.rs`, where the rules and why they are safe are written.
//!
//! Invariants (docs/protocol.md has the proofs' outline, `tests/` the end-to-end checks):
//! - An order is acknowledged only once a majority, the leader included, has flushed it.
//! - Committed numbers are dense from 0 and never change their order.
//! - A request id maps to at most one number; a repeated `place` gets the number it already has.
//! - A replica never takes an append from an epoch older than the highest it has persisted.
//! - A local storage failure stops the process rather than serve from a log that may not be on disk.
//!
//! Deliberately left out: membership changes (the replica set is fixed by the cluster file), log
//! compaction, and leader election itself, which the frontend drives.

mod api;
mod catchup;
pub mod log;
pub mod protocol;
mod replica;
mod replication;

use common::{ClusterConfig, ReplicaId, Shutdown};
use std::sync::Arc;

pub use crate::log::OrderLog;

/// Runs replica `id` of `config` until `shutdown`: opens its log, serves its internal API, catches
/// up from its peers, and flushes on the way out.
///
/// # Errors
/// Unknown id, a log that cannot be opened, or an address that cannot be bound.
pub async fn run(config: ClusterConfig, id: ReplicaId, shutdown: Shutdown) -> Result<(), String> {
    let address = config.replica(id)?.internal;
    let dir = config.replica_dir(id);
    let log = OrderLog::open(&dir).map_err(|e| e.to_string())?;
    let listener = common::http::bind(address, &format!("order replica {id}")).await?;
    let replica = Arc::new(
        replica::Replica::new(config, id, log, shutdown.clone()).map_err(|e| e.to_string())?,
    );
    ::log::info!(
        "order replica {id} listening on {address}, data in {}",
        dir.display()
    );
    let recovery = tokio::spawn(catchup::recover(replica.clone()));
    common::http::serve(api::routes(replica.clone()), listener, shutdown).await;
    recovery.abort();
    replica.state().leading = None;
    replica
        .log
        .flush()
        .await
        .map_err(|e| format!("final flush failed: {e}"))?;
    ::log::info!("order replica {id} stopped");
    Ok(())
}

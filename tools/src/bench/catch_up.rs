//! Restarting a replica: the catch-up of a follower that missed orders, and the restart of one
//! whose log is up to date.
//!
//! Catch-up: a follower is killed (SIGKILL), orders are placed from 64 connections for the length
//! of a run while it is down, then it is started again; the time from the start of its process
//! to its first `ready` health (a replica reports ready only once it has read its peers' logs
//! past its commit index and adopted what it missed) gives orders caught up per second. The
//! health is polled every [`POLL`], so times are exact to about that. With a preload, a follower
//! is also killed before it and restarted after it, so it misses the preload's orders.
//!
//! Restart: the same follower, caught up and with no order placed meanwhile, is killed and started
//! again; its start to ready is what a restart costs with a log of that length (opening sled,
//! reading the log's position, asking the peers).

use common::ReplicaId;
use std::time::{Duration, Instant};
use supervisor::{LocalCluster, Service, SupervisorError};

use super::orders::OrderTarget;
use super::preload::log_orders;
use crate::ToolError;

/// How often the restarted replica's health is asked.
const POLL: Duration = Duration::from_millis(5);
/// Longest a restarted replica may take to get ready, on top of a second per 1,000 missed.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections placing orders while the follower is down.
pub(crate) const CATCH_UP_CLIENTS: usize = 64;

/// What the catch-up measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CatchUp {
    pub follower: ReplicaId,
    /// Committed orders the follower did not have when it was started again.
    pub missed: u64,
    /// Orders that failed while it was down.
    pub errors: u64,
    /// Start of its process to its first ready health.
    pub restart_to_ready: Duration,
    /// Committed orders it still lacked when it first said ready (the leader's appends bring
    /// them).
    pub behind_at_ready: u64,
    /// Orders committed in the log when it was started again.
    pub log_orders: u64,
}

impl CatchUp {
    pub(crate) fn orders_per_second(&self) -> f64 {
        self.missed as f64 / self.restart_to_ready.as_secs_f64()
    }
}

/// What the up-to-date restart measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Restart {
    pub follower: ReplicaId,
    /// Entries in its log when it was killed.
    pub log_orders: u64,
    pub restart_to_ready: Duration,
}

/// A follower killed for a catch-up, and the length of its log then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Down {
    follower: ReplicaId,
    len: u64,
}

/// Kills a follower, places orders for `down_for`, restarts it and times it to ready.
///
/// # Errors
/// No leader, a replica that cannot be killed or started or that is not ready in time.
pub(crate) async fn catch_up(
    cluster: &mut LocalCluster,
    target: &OrderTarget,
    down_for: Duration,
) -> Result<CatchUp, ToolError> {
    let down = kill_follower(cluster).await?;
    let outcome = target.run_for(CATCH_UP_CLIENTS, down_for).await?;
    restart_behind(cluster, down, outcome.errors).await
}

/// Kills a follower (SIGKILL), for [`restart_behind`] once orders were placed without it.
///
/// # Errors
/// No leader, or no follower that answers.
pub(crate) async fn kill_follower(cluster: &mut LocalCluster) -> Result<Down, ToolError> {
    let follower = follower(cluster).await?;
    let len = health_len(cluster, follower).await?;
    cluster.kill(Service::Replica(follower))?;
    Ok(Down { follower, len })
}

/// Starts the follower of `down` again and times it to ready; `errors` are the orders that
/// failed while it was down.
///
/// # Errors
/// It cannot be started, or is not ready in time (a minute, and a second per 1,000 missed).
pub(crate) async fn restart_behind(
    cluster: &mut LocalCluster,
    down: Down,
    errors: u64,
) -> Result<CatchUp, ToolError> {
    let committed = log_orders(cluster).await?;
    let missed = committed.saturating_sub(down.len);
    let timeout = READY_TIMEOUT + Duration::from_secs(missed / 1_000);
    let restart_to_ready = restart(cluster, down.follower, timeout).await?;
    let behind_at_ready = committed.saturating_sub(health_len(cluster, down.follower).await?);
    Ok(CatchUp {
        follower: down.follower,
        missed,
        errors,
        restart_to_ready,
        behind_at_ready,
        log_orders: committed,
    })
}

/// Waits until a follower holds the whole committed log, then kills it, restarts it and times it
/// to ready.
///
/// # Errors
/// No leader, a follower that does not catch up in time, or one that cannot be restarted.
pub(crate) async fn restart_up_to_date(cluster: &mut LocalCluster) -> Result<Restart, ToolError> {
    let follower = follower(cluster).await?;
    let committed = log_orders(cluster).await?;
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut len = health_len(cluster, follower).await?;
    while len < committed {
        if Instant::now() > deadline {
            return Err(ToolError::NotConverged(format!(
                "replica {follower} holds {len} of {committed} committed orders after {READY_TIMEOUT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        len = health_len(cluster, follower).await?;
    }
    cluster.kill(Service::Replica(follower))?;
    let restart_to_ready = restart(cluster, follower, READY_TIMEOUT).await?;
    Ok(Restart {
        follower,
        log_orders: len,
        restart_to_ready,
    })
}

/// The lowest-numbered replica that is not the leader.
async fn follower(cluster: &LocalCluster) -> Result<ReplicaId, ToolError> {
    let leader = cluster
        .leader()
        .await
        .ok_or_else(|| ToolError::Service("no order replica leads".into()))?;
    cluster
        .config
        .replicas
        .iter()
        .map(|r| r.id)
        .find(|&id| id != leader && cluster.is_running(Service::Replica(id)))
        .ok_or_else(|| ToolError::Service("no running follower".into()))
}

async fn health_len(cluster: &LocalCluster, id: ReplicaId) -> Result<u64, ToolError> {
    let health = cluster
        .replica_health(id)
        .await
        .ok_or_else(|| ToolError::Service(format!("replica {id} does not answer its health")))?;
    Ok(health.len)
}

/// Starts `id` and polls it until it is ready: the time from the spawn.
async fn restart(
    cluster: &mut LocalCluster,
    id: ReplicaId,
    timeout: Duration,
) -> Result<Duration, ToolError> {
    let service = Service::Replica(id);
    let started = Instant::now();
    cluster.spawn(service)?;
    while !cluster.is_ready(service).await {
        if started.elapsed() > timeout || !cluster.reap_exited().is_empty() {
            return Err(SupervisorError::NotReady {
                service,
                timeout,
                hint: format!("; see {}", cluster.stderr_path(service).display()),
            }
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(started.elapsed())
}

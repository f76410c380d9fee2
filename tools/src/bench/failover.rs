//! The leader killed under load: 16 connections place orders for [`length`] of a run, the
//! leader is killed with SIGKILL a third of the way in, and the slowest request and the failed
//! ones are counted (the frontend retries a failed `place` on the next leader with the same
//! request id, so a client should see a slow order, not an error). The killed replica is started
//! again afterwards and waited for, so the cluster is whole when the bench ends.

use common::ReplicaId;
use std::time::{Duration, Instant};
use supervisor::{LocalCluster, Service};

use super::orders::OrderTarget;
use crate::ToolError;

/// Connections placing orders (the table's "16 connections").
pub(crate) const FAILOVER_CLIENTS: usize = 16;
/// Shortest load around the kill: the election must fit in it.
const SHORTEST: Duration = Duration::from_secs(3);
/// How long the killed replica may take to get ready again.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What the failover run measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Failover {
    pub killed: ReplicaId,
    /// The replica leading after the run.
    pub leader_after: Option<ReplicaId>,
    pub orders: u64,
    pub errors: u64,
    pub seconds: f64,
    /// When the kill came, since the start of the load.
    pub kill_at: Duration,
    pub slowest_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The length of the failover load for a timed run of `seconds`.
pub(crate) fn length(seconds: Duration) -> Duration {
    seconds.max(SHORTEST)
}

/// Runs the load with the kill in it, then restarts the killed replica.
///
/// # Errors
/// No leader, or the leader cannot be killed or started again.
pub(crate) async fn run(
    cluster: &mut LocalCluster,
    target: &OrderTarget,
    seconds: Duration,
) -> Result<Failover, ToolError> {
    let killed = cluster
        .leader()
        .await
        .ok_or_else(|| ToolError::Service("no order replica leads".into()))?;
    let length = length(seconds);
    let start = Instant::now();
    let load = target.run_for(FAILOVER_CLIENTS, length);
    let kill = async {
        tokio::time::sleep(length / 3).await;
        cluster
            .kill(Service::Replica(killed))
            .map(|()| start.elapsed())
    };
    let (outcome, kill_at) = tokio::join!(load, kill);
    let (outcome, kill_at) = (outcome?, kill_at?);
    let leader_after = cluster.leader().await;
    cluster.spawn(Service::Replica(killed))?;
    cluster
        .wait_ready(Service::Replica(killed), READY_TIMEOUT)
        .await?;
    Ok(Failover {
        killed,
        leader_after,
        orders: outcome.ok,
        errors: outcome.errors,
        seconds: outcome.seconds,
        kill_at,
        slowest_ms: outcome.max_ms(),
        p50_ms: outcome.ms_at(0.5),
        p99_ms: outcome.ms_at(0.99),
    })
}

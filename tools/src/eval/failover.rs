//! The failover experiment: a load run during which the order leader is killed with SIGKILL and
//! later restarted, every request's latency kept for the figure.

use crate::ToolError;
use common::Shutdown;
use std::time::{Duration, Instant};

use super::plan::{Plan, KILL_AT, RESTART_AT};
use super::probe::Probe;
use super::results::Failover;
use crate::load::{run_load, verify, LoadConfig, RequestKind};
use client::StoreClient;
use supervisor::{LocalCluster, Service};

/// Error messages kept in the results.
const ERROR_EXAMPLES: usize = 5;
/// How long the restarted replica may take to catch up and report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the load and the kill-and-restart side by side, then verifies every order.
///
/// # Errors
/// No leader at the start, the leader cannot be killed or restarted, or the frontend's counters
/// cannot be read.
pub(crate) async fn run(
    cluster: &mut LocalCluster,
    client: &StoreClient,
    probe: &Probe,
    plan: &Plan,
    toys: &[String],
) -> Result<Failover, ToolError> {
    let before = probe.counters().await?;
    let leader = u32::try_from(before.leader_id)
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ToolError::Service("the frontend has no order leader before the failover run".into())
        })?;
    let config = LoadConfig {
        sessions: plan.sessions,
        iterations: None,
        duration: Some(plan.failover_duration),
        p: plan.failover_p,
        max_quantity: plan.max_quantity,
        seed: Some(plan.seed.wrapping_add(900)),
        toys: toys.to_vec(),
        rate: None,
        keyless: false,
        buy_sold_out: false,
    };
    // Kept alive for the run: dropping a trigger stops it.
    let (_never, stop) = Shutdown::new();
    let start = Instant::now();
    let load = run_load(client, &config, |_| {}, stop);
    let chaos = kill_and_restart(cluster, Service::Replica(leader), plan, start);
    let (report, chaos) = tokio::join!(load, chaos);
    let (kill_at, restart_at, ready_at) = chaos?;
    let delta = probe.counters().await?.since(&before);
    let verification = verify(client, &report.orders).await;
    let errors: Vec<String> = report
        .failures
        .iter()
        .filter(|f| f.error != client::ClientError::OutOfStock)
        .map(|f| {
            format!(
                "{} at {:.2} s: {}",
                f.kind.name(),
                f.at.as_secs_f64(),
                f.error
            )
        })
        .collect();
    Ok(Failover {
        p: plan.failover_p,
        seconds: report.elapsed.as_secs_f64(),
        killed: leader,
        leader_before: before.leader_id,
        leader_after: delta.leader_id,
        kill_at_s: kill_at.as_secs_f64(),
        restart_at_s: restart_at.as_secs_f64(),
        ready_at_s: ready_at.as_secs_f64(),
        leader_changes: delta.leader_changes,
        order_retries: delta.order_retries,
        query: report.summary(RequestKind::Query),
        buy: report.summary(RequestKind::Buy),
        lookup: verification.summary(),
        errors: errors.len(),
        error_examples: errors.into_iter().take(ERROR_EXAMPLES).collect(),
        orders: report.orders.len(),
        verified: verification.checked,
        mismatches: verification.mismatches.len(),
        lookup_failures: verification.lookup_failures.len(),
        samples: report.timeline,
    })
}

/// Kills `leader` at [`KILL_AT`] of the run and starts it again at [`RESTART_AT`]; returns when
/// each happened and when it was ready again, since `start`.
async fn kill_and_restart(
    cluster: &mut LocalCluster,
    leader: Service,
    plan: &Plan,
    start: Instant,
) -> Result<(Duration, Duration, Duration), ToolError> {
    tokio::time::sleep_until((start + plan.failover_duration.mul_f64(KILL_AT)).into()).await;
    cluster.kill(leader)?;
    let killed = start.elapsed();
    tokio::time::sleep_until((start + plan.failover_duration.mul_f64(RESTART_AT)).into()).await;
    cluster.spawn(leader)?;
    let restarted = start.elapsed();
    cluster.wait_ready(leader, READY_TIMEOUT).await?;
    Ok((killed, restarted, start.elapsed()))
}

//! Which order replica leads, and getting each order call through it despite replica crashes.
//!
//! The decisions are the `protocol` crate's [`Elector`] (follow a live leader, wait for a running
//! takeover, propose the best ready replica for a fresh epoch); this file drives it: one monitor
//! task ticks it, polls the replicas' health and sends its proposals, and publishes the leader.
//!
//! A call that fails in a way only this leader hits (not leader, stale epoch, unreachable, a
//! storage or internal error) is retried with the same request id, after a back-off, on the
//! current leader or a newly elected one, for up to [`RETRY_BUDGET`]; only then does the client
//! get a 503. Deterministic answers (not found, out of stock, bad request, a reused key) go
//! straight back to the client.

use common::http::Peer;
use common::replica_api::ReplicaClient;
use common::wire::{Health, PlaceRequest, Placed};
use common::{
    ClusterConfig, Epoch, Error, FrontendId, OrderEntry, OrderNumber, ReplicaId, Result, Shutdown,
};
use futures_util::future::join_all;
use log::{debug, info, warn};
use protocol::{Action, Elector, ElectorConfig, TICK};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::batcher::PlaceBatcher;
use crate::metrics::{bump, Metrics};

/// How long an order call keeps retrying through failovers before the client gets a 503.
pub(crate) const RETRY_BUDGET: Duration = Duration::from_secs(15);
/// First back-off between retries; it doubles up to [`MAX_BACKOFF`].
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// Longest back-off between retries.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// How long a call waits for a leader to be elected before it counts as one failed attempt.
const LEADER_WAIT: Duration = Duration::from_secs(1);

/// The replica leading an epoch, as this frontend follows it.
#[derive(Clone, Debug)]
pub(crate) struct Leader {
    pub id: ReplicaId,
    pub epoch: Epoch,
    client: ReplicaClient,
    batcher: Arc<PlaceBatcher>,
}

impl Leader {
    /// Places `request`, batched with whatever other orders go to this leader at the moment.
    pub(crate) async fn place(&self, request: &PlaceRequest) -> Result<Placed> {
        self.batcher.place(request).await
    }

    pub(crate) async fn order(&self, number: OrderNumber) -> Result<OrderEntry> {
        self.client.order(number).await
    }
}

/// The frontend's view of the order-replica group.
pub(crate) struct Leadership {
    frontend: FrontendId,
    replicas: BTreeMap<ReplicaId, ReplicaClient>,
    batchers: BTreeMap<ReplicaId, Arc<PlaceBatcher>>,
    elector: Mutex<Elector>,
    current: watch::Sender<Option<(ReplicaId, Epoch)>>,
    /// Wakes the monitor at once after a failed call.
    wake: Notify,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
}

/// Owns the monitor task; dropping it stops the task.
pub(crate) struct MonitorGuard(JoinHandle<()>);

impl Drop for MonitorGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Leadership {
    /// The replica group of `config`, reached through `http`; no leader yet.
    pub(crate) fn new(
        frontend: FrontendId,
        config: &ClusterConfig,
        http: reqwest::Client,
        metrics: Arc<Metrics>,
        shutdown: Shutdown,
    ) -> Leadership {
        let replicas: BTreeMap<ReplicaId, ReplicaClient> = config
            .replicas
            .iter()
            .map(|r| {
                let peer = Peer::new(http.clone(), r.internal, &config.token);
                (r.id, ReplicaClient::new(peer))
            })
            .collect();
        let elector = Elector::new(ElectorConfig {
            frontend,
            replicas: replicas.keys().copied().collect(),
            seed: rand::random(),
        });
        let batchers = replicas
            .iter()
            .map(|(id, client)| (*id, PlaceBatcher::new(client.clone(), Arc::clone(&metrics))))
            .collect();
        Leadership {
            frontend,
            replicas,
            batchers,
            elector: Mutex::new(elector),
            current: watch::Sender::new(None),
            wake: Notify::new(),
            metrics,
            shutdown,
        }
    }

    fn elector(&self) -> MutexGuard<'_, Elector> {
        // The elector's fields are plain values updated in place; a panic elsewhere leaves none
        // half-written, so a poisoned lock is still sound to use.
        common::sync::lock(&self.elector)
    }

    fn leader_of(&self, (id, epoch): (ReplicaId, Epoch)) -> Leader {
        Leader {
            id,
            epoch,
            client: self.replicas[&id].clone(),
            batcher: Arc::clone(&self.batchers[&id]),
        }
    }

    /// Publishes the elector's leader to callers and metrics.
    fn publish(&self) {
        let (leader, changes) = {
            let elector = self.elector();
            (elector.leader(), elector.changes)
        };
        self.metrics
            .leader_changes
            .store(changes, Ordering::Relaxed);
        self.metrics
            .leader_id
            .store(leader.map_or(0, |(id, _)| u64::from(id)), Ordering::Relaxed);
        if let Some((_, epoch)) = leader {
            self.metrics.leader_epoch.store(epoch, Ordering::Relaxed);
        }
        self.current.send_if_modified(|c| {
            let changed = *c != leader;
            *c = leader;
            changed
        });
    }

    /// The current leader, waiting a little for an election.
    ///
    /// # Errors
    /// `Unavailable`, saying why, when no leader is had within [`LEADER_WAIT`].
    pub(crate) async fn leader(&self) -> Result<Leader> {
        let mut current = self.current.subscribe();
        let found = tokio::time::timeout(LEADER_WAIT, current.wait_for(|c| c.is_some())).await;
        match found {
            Ok(Ok(leader)) => Ok(self.leader_of(leader.expect("waited for some"))),
            _ => Err(self.elector().unavailable()),
        }
    }

    /// Runs `op` on the leader until it gives an answer that is the client's business: a
    /// success or a deterministic error. Other failures tell the elector, and retry with
    /// back-off; `op` must be idempotent (it resends the same request id).
    ///
    /// # Errors
    /// The deterministic error, or `Unavailable` once [`RETRY_BUDGET`] is spent or the
    /// frontend is shutting down.
    pub(crate) async fn call<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: Fn(Leader) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let cause = match self.leader().await {
                Err(e) => e,
                Ok(leader) => match op(leader.clone()).await {
                    Ok(value) => return Ok(value),
                    Err(e) if e.is_deterministic() => return Err(e),
                    Err(e) => {
                        debug!(
                            "frontend {}: {what} failed on replica {} (epoch {}): {e}",
                            self.frontend, leader.id, leader.epoch
                        );
                        let definite = matches!(
                            e,
                            Error::NotLeader { .. }
                                | Error::StaleEpoch { .. }
                                | Error::EpochTaken { .. }
                        );
                        self.elector()
                            .on_call_failed(leader.id, leader.epoch, definite);
                        self.publish();
                        self.wake.notify_one();
                        e
                    }
                },
            };
            if started.elapsed() + backoff > RETRY_BUDGET || self.shutdown.is_down() {
                warn!(
                    "frontend {}: giving up on {what} after {:?}: {cause}",
                    self.frontend,
                    started.elapsed()
                );
                return Err(Error::Unavailable(format!(
                    "order service unavailable: {cause}"
                )));
            }
            bump(&self.metrics.order_retries);
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.shutdown.wait() => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Starts the monitor: it ticks the elector, polls and proposes as it asks. It stops on
    /// shutdown or when the guard is dropped.
    pub(crate) fn start_monitor(self: &Arc<Self>) -> MonitorGuard {
        let this = Arc::clone(self);
        MonitorGuard(tokio::spawn(async move { this.monitor().await }))
    }

    async fn monitor(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.wake.notified() => {}
                _ = self.shutdown.wait() => return,
            }
            let mut actions = self.elector().tick();
            while let Some(action) = actions.pop() {
                actions.extend(self.carry_out(action).await);
                self.publish();
            }
        }
    }

    async fn carry_out(&self, action: Action) -> Vec<Action> {
        match action {
            Action::PollHealth => {
                let answers = self.poll_health().await;
                self.elector().on_health(&answers)
            }
            Action::Propose { candidate, epoch } => {
                bump(&self.metrics.elections);
                info!(
                    "frontend {}: proposing replica {candidate} for epoch {epoch}",
                    self.frontend
                );
                let notice = common::wire::LeaderNotice {
                    id: candidate,
                    epoch,
                };
                let answer = self.replicas[&candidate].leader(&notice).await;
                self.elector().on_proposed(candidate, epoch, answer);
                Vec::new()
            }
        }
    }

    /// Asks every replica for its health at once: each one's answer or why it gave none.
    pub(crate) async fn ask_health(&self) -> Vec<(ReplicaId, Result<Health>)> {
        let asks = self
            .replicas
            .iter()
            .map(|(id, client)| async move { (*id, client.health().await) });
        join_all(asks).await
    }

    /// The replicas in the cluster file.
    pub(crate) fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// Asks every replica for its health at once; the ones that answer in time.
    async fn poll_health(&self) -> Vec<(ReplicaId, Health)> {
        let mut answers = Vec::new();
        for (id, health) in self.ask_health().await {
            match health {
                Ok(health) if health.id == id => answers.push((id, health)),
                Ok(health) => warn!(
                    "replica {id} reports id {}: check the cluster file; ignoring it",
                    health.id
                ),
                Err(Error::Unauthorized) => warn!(
                    "frontend {}: replica {id} refused the cluster token",
                    self.frontend
                ),
                Err(e) => debug!("replica {id} did not answer its health check: {e}"),
            }
        }
        answers
    }
}

//! Which order replica leads, and getting each order call through it despite replica crashes.
//!
//! - One election at a time (a tokio mutex), and a generation count so that the requests that
//!   queued behind a failed election share its answer instead of each running their own.
//! - A call that fails in a way only this leader hits (not leader, stale epoch, unreachable, a
//!   storage or internal error) is retried with the same request id, after a back-off, on the
//!   current leader or a newly elected one, for up to [`RETRY_BUDGET`]; only then does the
//!   client get a 503. Deterministic answers (not found, out of stock, bad request) go straight
//!   back to the client.
//! - A monitor task checks the leader every [`MONITOR_PERIOD`] and re-elects when it is gone or
//!   no longer leads our epoch. A healthy leader is never preempted, even by a higher id.

use common::http::Peer;
use common::wire::{Health, PlaceRequest, Placed};
use common::{
    ClusterConfig, Epoch, Error, FrontendId, OrderEntry, OrderNumber, ReplicaId, Result, Shutdown,
};
use log::{debug, info, warn};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

use crate::election::{self, leads, Replica, HEALTH_TIMEOUT};
use crate::metrics::{bump, Metrics};

/// How long a `place` may take: the leader answers once a majority has flushed the order.
pub(crate) const PLACE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long reading one committed order may take.
pub(crate) const GET_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an order call keeps retrying through failovers before the client gets a 503.
pub(crate) const RETRY_BUDGET: Duration = Duration::from_secs(15);
/// First back-off between retries; it doubles up to [`MAX_BACKOFF`].
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest back-off between retries.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// How often the monitor checks the leader (and elects when there is none).
pub(crate) const MONITOR_PERIOD: Duration = Duration::from_millis(500);
/// Health checks in a row the leader may miss before the monitor replaces it; one miss under
/// load is not a crash (a crashed process refuses connections at once anyway).
pub(crate) const MONITOR_MISSES: u32 = 2;
/// A failed election is reused for this long instead of running another at once.
const ELECTION_COOLDOWN: Duration = Duration::from_millis(100);

/// The replica leading an epoch, as this frontend installed it.
#[derive(Clone, Debug)]
pub(crate) struct Leader {
    pub id: ReplicaId,
    pub epoch: Epoch,
    peer: Peer,
}

impl Leader {
    /// `POST /internal/place`.
    pub(crate) async fn place(&self, request: &PlaceRequest) -> Result<Placed> {
        self.peer
            .post("/internal/place", request, PLACE_TIMEOUT)
            .await
    }

    /// `GET /internal/orders/{number}`.
    pub(crate) async fn order(&self, number: OrderNumber) -> Result<OrderEntry> {
        self.peer
            .get(&format!("/internal/orders/{number}"), GET_TIMEOUT)
            .await
    }

    async fn health(&self) -> Result<Health> {
        self.peer.get("/internal/health", HEALTH_TIMEOUT).await
    }
}

/// State only the election in progress touches.
#[derive(Default)]
struct ElectionState {
    /// Highest epoch this frontend has sent in a notice.
    last_epoch: Epoch,
    /// When the last election failed, and why (cleared by a success).
    last_failure: Option<(Instant, Error)>,
}

/// The frontend's view of the order-replica group.
pub(crate) struct Leadership {
    frontend: FrontendId,
    replicas: Vec<Replica>,
    majority: usize,
    current: RwLock<Option<Leader>>,
    election: tokio::sync::Mutex<ElectionState>,
    /// Bumped at the end of every election, successful or not.
    generation: AtomicU64,
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
        let replicas = config
            .replicas
            .iter()
            .map(|r| Replica {
                id: r.id,
                peer: Peer::new(http.clone(), r.internal, &config.token),
            })
            .collect();
        Leadership {
            frontend,
            replicas,
            majority: config.majority(),
            current: RwLock::new(None),
            election: tokio::sync::Mutex::new(ElectionState::default()),
            generation: AtomicU64::new(0),
            metrics,
            shutdown,
        }
    }

    fn current(&self) -> Option<Leader> {
        // Only whole `Option<Leader>` values are ever stored, so a poisoned lock is still sound.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Drops the leader of `epoch` if it is still the current one (a newer leader stays).
    fn mark_failed(&self, epoch: Epoch, cause: &str) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if let Some(leader) = current.as_ref().filter(|l| l.epoch == epoch) {
            warn!(
                "frontend {}: dropping replica {} as leader of epoch {epoch}: {cause}",
                self.frontend, leader.id
            );
            *current = None;
            self.metrics.leader_id.store(0, Ordering::Relaxed);
        }
    }

    /// The current leader, electing one when there is none.
    ///
    /// # Errors
    /// `Unavailable` when no leader can be had now (see [`election::elect`]).
    pub(crate) async fn leader(self: &Arc<Self>) -> Result<Leader> {
        if let Some(leader) = self.current() {
            return Ok(leader);
        }
        let seen = self.generation.load(Ordering::SeqCst);
        let this = Arc::clone(self);
        // Spawned so that a client hanging up cannot cut an election between the fencing notices
        // and the candidate's notice.
        tokio::spawn(async move { this.elect_once(seen).await })
            .await
            .map_err(|e| Error::Internal(format!("election task failed: {e}")))?
    }

    /// Runs an election unless one that ended after `seen` already settled the question.
    async fn elect_once(&self, seen: u64) -> Result<Leader> {
        let mut state = self.election.lock().await;
        if let Some(leader) = self.current() {
            return Ok(leader);
        }
        if let Some((at, error)) = &state.last_failure {
            if self.generation.load(Ordering::SeqCst) != seen || at.elapsed() < ELECTION_COOLDOWN {
                return Err(error.clone());
            }
        }
        bump(&self.metrics.elections);
        let result = election::elect(
            self.frontend,
            &self.replicas,
            self.majority,
            &mut state.last_epoch,
        )
        .await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        match result {
            Ok((id, epoch)) => {
                let replica = self
                    .replicas
                    .iter()
                    .find(|r| r.id == id)
                    .expect("the leader is one of our replicas");
                let leader = Leader {
                    id,
                    epoch,
                    peer: replica.peer.clone(),
                };
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(leader.clone());
                state.last_failure = None;
                info!(
                    "frontend {}: replica {id} leads epoch {epoch}",
                    self.frontend
                );
                bump(&self.metrics.leader_changes);
                self.metrics
                    .leader_id
                    .store(u64::from(id), Ordering::Relaxed);
                self.metrics.leader_epoch.store(epoch, Ordering::Relaxed);
                Ok(leader)
            }
            Err(error) => {
                let repeated = state
                    .last_failure
                    .as_ref()
                    .is_some_and(|(_, e)| *e == error);
                if repeated {
                    debug!("frontend {}: election failed again: {error}", self.frontend);
                } else {
                    warn!("frontend {}: election failed: {error}", self.frontend);
                }
                state.last_failure = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    /// After `error` from `leader`: drops it unless it still leads our epoch. `NotLeader` and
    /// `StaleEpoch` say so outright; any other failure (a timeout under load, the catalog down,
    /// no majority for the moment) gets a health check first, so that a living leader is not
    /// deposed for a failure a new leader would hit just the same.
    async fn suspect(&self, leader: &Leader, error: &Error) {
        if !matches!(error, Error::NotLeader { .. } | Error::StaleEpoch { .. }) {
            match leader.health().await {
                Ok(h) if leads(&h, leader.id, leader.epoch) => {
                    debug!(
                        "frontend {}: replica {} still leads epoch {}",
                        self.frontend, leader.id, leader.epoch
                    );
                    return;
                }
                Ok(_) | Err(_) => {}
            }
        }
        self.mark_failed(leader.epoch, &error.to_string());
    }

    /// Runs `op` on the leader until it gives an answer that is the client's business: a
    /// success or a deterministic error. Other failures re-elect (when the leader is gone) and
    /// retry with back-off; `op` must be idempotent (it resends the same request id).
    ///
    /// # Errors
    /// The deterministic error, or `Unavailable` once [`RETRY_BUDGET`] is spent or the
    /// frontend is shutting down.
    pub(crate) async fn call<T, F, Fut>(self: &Arc<Self>, what: &str, op: F) -> Result<T>
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
                        info!(
                            "frontend {}: {what} failed on replica {} (epoch {}): {e}",
                            self.frontend, leader.id, leader.epoch
                        );
                        self.suspect(&leader, &e).await;
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
            debug!("frontend {}: retrying {what} in {backoff:?}", self.frontend);
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.shutdown.wait() => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Starts the monitor: it elects at start-up (retrying until a majority is up), then checks
    /// the leader every [`MONITOR_PERIOD`]. It stops on shutdown or when the guard is dropped.
    pub(crate) fn start_monitor(self: &Arc<Self>) -> MonitorGuard {
        let this = Arc::clone(self);
        MonitorGuard(tokio::spawn(async move { this.monitor().await }))
    }

    async fn monitor(self: Arc<Self>) {
        let mut tick = tokio::time::interval(MONITOR_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut misses = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.shutdown.wait() => return,
            }
            if let Some(leader) = self.current() {
                match leader.health().await {
                    Ok(h) if leads(&h, leader.id, leader.epoch) => {
                        misses = 0;
                        continue;
                    }
                    Ok(h) => {
                        let why = format!(
                            "it reports epoch {} {:?} ready={}",
                            h.epoch, h.role, h.ready
                        );
                        self.mark_failed(leader.epoch, &why);
                    }
                    Err(e) => {
                        misses += 1;
                        if misses < MONITOR_MISSES {
                            debug!(
                                "frontend {}: leader {} missed a health check: {e}",
                                self.frontend, leader.id
                            );
                            continue;
                        }
                        self.mark_failed(
                            leader.epoch,
                            &format!("{misses} health checks missed: {e}"),
                        );
                    }
                }
            }
            misses = 0;
            // A failure is logged by the election itself; the next tick tries again.
            let _ = self.leader().await;
        }
    }
}

//! Leading an epoch: placing orders with group commit, and one replication loop per follower.
//!
//! Group commit: `place` calls queue up while a batch is being flushed; the batcher then takes them
//! all, numbers them, writes them in one transaction and flushes once. Each follower loop sends
//! everything the follower lacks in one `append` and waits for its answer before the next, so the
//! cost per order falls as the load grows (one flush per batch per replica).

use common::wire::{AppendReply, AppendRequest, BuyReceipt, BuyRequest, PlaceRequest, Placed};
use common::{
    last_of, len_after, Epoch, Error, OrderEntry, OrderNumber, ReplicaId, RequestId, Result,
    Shutdown,
};
use log::{debug, info, warn};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

use crate::log::META_COMMIT_LEN;
use crate::protocol::commit_len;
use crate::replica::Replica;

/// Most orders written in one batch.
pub const MAX_BATCH: usize = 4096;
/// How long a placed order may wait for a majority before the frontend is told to retry.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(3);
/// A follower with nothing new still hears from the leader this often (commit index, liveness).
pub const HEARTBEAT: Duration = Duration::from_millis(200);
/// Time an append may take before the follower counts as unreachable for this round.
pub const APPEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Time the catalog may take to answer a `buy`.
pub const CATALOG_TIMEOUT: Duration = Duration::from_secs(3);

/// An order waiting for a number.
pub(crate) struct Pending {
    request: PlaceRequest,
    reply: oneshot::Sender<Result<OrderNumber>>,
}

/// What the leader's tasks share.
pub(crate) struct LeaderShared {
    pub epoch: Epoch,
    /// The commit index when this leadership began: followers are first sent the log from here
    /// (one that is synced less far says so, and gets the log from where it is synced).
    pub takeover_commit_len: u64,
    /// The leader's flushed log length.
    pub flushed: watch::Sender<u64>,
    /// The commit length.
    pub commit: watch::Sender<u64>,
    /// Flushed length each follower confirmed in this epoch.
    pub matched: Mutex<HashMap<ReplicaId, u64>>,
    /// Fires when this leadership ends, so waiters answer at once instead of timing out.
    pub ended: Shutdown,
}

/// Held in the replica's state while it leads; dropping it stops the batcher and follower loops.
pub(crate) struct Leadership {
    pub shared: Arc<LeaderShared>,
    submit: mpsc::Sender<Pending>,
    _stop: common::shutdown::ShutdownTrigger,
}

impl Leadership {
    /// Starts leading `epoch` over a log of `len` entries, `commit_len` of them committed.
    pub fn start(replica: &Arc<Replica>, epoch: Epoch, len: u64, commit_len: u64) -> Leadership {
        let (trigger, stop) = Shutdown::new();
        let shared = Arc::new(LeaderShared {
            ended: stop.clone(),
            epoch,
            takeover_commit_len: commit_len,
            flushed: watch::Sender::new(len),
            commit: watch::Sender::new(commit_len),
            matched: Mutex::new(HashMap::new()),
        });
        let (submit, queue) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(batcher(
            replica.clone(),
            shared.clone(),
            queue,
            stop.clone(),
        ));
        for (peer_id, _) in &replica.peers {
            tokio::spawn(follower_loop(
                replica.clone(),
                shared.clone(),
                *peer_id,
                stop.clone(),
            ));
        }
        Leadership {
            shared,
            submit,
            _stop: trigger,
        }
    }
}

/// `POST /internal/place`: queue the order for the batcher (which buys it from the catalog,
/// idempotently by request id, and numbers it), and answer once a majority has it flushed.
pub(crate) async fn place(replica: &Arc<Replica>, request: PlaceRequest) -> Result<Placed> {
    if !(common::MIN_ORDER_QUANTITY..=common::MAX_ORDER_QUANTITY).contains(&request.quantity) {
        return Err(Error::BadRequest(
            "quantity must be a whole number from 1 to 1000".into(),
        ));
    }
    let (shared, submit) = {
        let s = replica.state();
        match &s.leading {
            Some(l) => (l.shared.clone(), l.submit.clone()),
            None => return Err(Error::NotLeader { leader: s.leader }),
        }
    };
    // The batcher answers a request already in the log with its number, so a retry needs no
    // lookup of its own here.
    let (reply, numbered) = oneshot::channel();
    let gone = || Error::NotLeader { leader: None };
    submit
        .send(Pending { request, reply })
        .await
        .map_err(|_| gone())?;
    let number = numbered.await.map_err(|_| gone())??;
    await_commit(&shared, number).await
}

async fn await_commit(shared: &LeaderShared, number: OrderNumber) -> Result<Placed> {
    let mut commit = shared.commit.subscribe();
    let committed = tokio::time::timeout(COMMIT_TIMEOUT, async {
        tokio::select! {
            waited = commit.wait_for(|&c| c > number) => waited.is_ok(),
            _ = shared.ended.wait() => false,
        }
    })
    .await;
    match committed {
        Ok(true) => Ok(Placed { number }),
        Ok(false) => Err(Error::NotLeader { leader: None }),
        Err(_) => Err(Error::Unavailable(format!(
            "order {number} is not on a majority of replicas yet"
        ))),
    }
}

/// Group commit: takes every queued order, buys the new ones from the catalog in one call,
/// numbers and writes the bought ones in one transaction, and flushes once.
async fn batcher(
    replica: Arc<Replica>,
    shared: Arc<LeaderShared>,
    mut queue: mpsc::Receiver<Pending>,
    stop: Shutdown,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            _ = stop.wait() => return,
            n = queue.recv_many(&mut batch, MAX_BATCH) => if n == 0 { return },
        }
        // Requests already in the log get their number; repeats within the batch share one buy.
        let mut waiting: HashMap<RequestId, Vec<oneshot::Sender<Result<OrderNumber>>>> =
            HashMap::new();
        let mut to_buy: Vec<BuyRequest> = Vec::new();
        for Pending { request, reply } in batch.drain(..) {
            match replica.log.lookup(&request.request_id) {
                Ok(Some(number)) => {
                    let _ = reply.send(Ok(number));
                }
                Ok(None) => {
                    let waiters = waiting.entry(request.request_id.clone()).or_default();
                    if waiters.is_empty() {
                        to_buy.push(BuyRequest {
                            request_id: request.request_id,
                            name: request.name,
                            quantity: request.quantity,
                        });
                    }
                    waiters.push(reply);
                }
                Err(e) => replica.fail_stop("request lookup", &e),
            }
        }
        if to_buy.is_empty() {
            continue;
        }
        let bought: Result<Vec<Result<BuyReceipt>>> = replica
            .catalog
            .post("/internal/buy_batch", &to_buy, CATALOG_TIMEOUT)
            .await;
        let outcomes = match bought {
            Ok(outcomes) if outcomes.len() == to_buy.len() => outcomes,
            Ok(outcomes) => {
                let e = Error::Internal(format!(
                    "catalog answered {} of {} buys",
                    outcomes.len(),
                    to_buy.len()
                ));
                to_buy.iter().map(|_| Err(e.clone())).collect()
            }
            Err(e) => {
                warn!(
                    "epoch {}: catalog buy of {} orders failed: {e}",
                    shared.epoch,
                    to_buy.len()
                );
                to_buy.iter().map(|_| Err(e.clone())).collect()
            }
        };
        let mut orders = Vec::new();
        for (buy, outcome) in to_buy.into_iter().zip(outcomes) {
            let waiters = waiting
                .remove(&buy.request_id)
                .expect("every buy has its waiters");
            match outcome {
                Ok(_receipt) => orders.push((buy, waiters)),
                Err(e) => {
                    for waiter in waiters {
                        let _ = waiter.send(Err(e.clone()));
                    }
                }
            }
        }
        if !orders.is_empty() && !write_batch(&replica, &shared, orders).await {
            return;
        }
    }
}

/// Numbers, writes and flushes bought orders, then answers their waiters. Returns false when this
/// leadership has ended (the waiters are told to retry elsewhere).
async fn write_batch(
    replica: &Replica,
    shared: &LeaderShared,
    orders: Vec<(BuyRequest, Vec<oneshot::Sender<Result<OrderNumber>>>)>,
) -> bool {
    let _writing = replica.write_lock.lock().await;
    let (len, commit_len) = {
        let s = replica.state();
        let still_leading = s
            .leading
            .as_ref()
            .is_some_and(|l| l.shared.epoch == shared.epoch);
        if !still_leading {
            for (_, waiters) in orders {
                for waiter in waiters {
                    let _ = waiter.send(Err(Error::NotLeader { leader: s.leader }));
                }
            }
            return false;
        }
        (s.len, s.commit_len)
    };
    let entries: Vec<OrderEntry> = orders
        .iter()
        .zip(len..)
        .map(|((buy, _), number)| OrderEntry {
            number,
            epoch: shared.epoch,
            request_id: buy.request_id.clone(),
            name: buy.name.clone(),
            quantity: buy.quantity,
        })
        .collect();
    let new_len = replica
        .log
        .write(len, &entries, commit_len, |_| false)
        .unwrap_or_else(|e| replica.fail_stop("batch write", &e));
    assert_eq!(
        new_len,
        len + entries.len() as u64,
        "a leader only appends: its log was not {len} entries long"
    );
    if let Err(e) = replica.log.flush().await {
        replica.fail_stop("batch flush", &e);
    }
    replica.faults.hit("leader-after-local-flush");
    replica.state().len = new_len;
    shared.flushed.send_replace(new_len);
    recompute_commit(replica, shared);
    debug!(
        "epoch {}: batch of {} orders flushed, log length {new_len}",
        shared.epoch,
        entries.len()
    );
    for ((_, waiters), number) in orders.into_iter().zip(len..) {
        for waiter in waiters {
            let _ = waiter.send(Ok(number));
        }
    }
    true
}

/// Raises the commit index to what a majority has flushed in this epoch.
fn recompute_commit(replica: &Replica, shared: &LeaderShared) {
    let mut lens = vec![*shared.flushed.borrow()];
    {
        let matched = shared
            .matched
            .lock()
            .expect("matched lock is never poisoned");
        lens.extend(
            replica
                .peers
                .iter()
                .map(|(id, _)| matched.get(id).copied().unwrap_or(0)),
        );
    }
    let majority_len = commit_len(&lens, replica.config.majority());
    let mut s = replica.state();
    if majority_len > s.commit_len
        && s.leading
            .as_ref()
            .is_some_and(|l| l.shared.epoch == shared.epoch)
    {
        s.commit_len = majority_len;
        // Persisted lazily: the next flush carries it, and a restart that lost it only re-learns it.
        if let Err(e) = replica.log.raise_meta(META_COMMIT_LEN, majority_len) {
            warn!("replica {}: cannot record commit index: {e}", replica.id);
        }
        replica.faults.hit("leader-after-commit");
        shared.commit.send_if_modified(|c| {
            let raised = majority_len > *c;
            *c = (*c).max(majority_len);
            raised
        });
    }
}

/// Keeps one follower's log equal to the leader's: sends whatever it lacks (or a heartbeat), and
/// on a gap resends from where the follower says it is synced.
async fn follower_loop(
    replica: Arc<Replica>,
    shared: Arc<LeaderShared>,
    peer_id: ReplicaId,
    stop: Shutdown,
) {
    let peer = replica
        .peers
        .iter()
        .find(|(id, _)| *id == peer_id)
        .map(|(_, p)| p.clone())
        .expect("follower loops are started only for known peers");
    let mut next = shared.takeover_commit_len;
    let mut flushed = shared.flushed.subscribe();
    let mut reachable = true;
    while !stop.is_down() {
        let leader_len = *flushed.borrow_and_update();
        let commit = *shared.commit.borrow();
        let entries = if next < leader_len {
            match replica.log.slice(next, leader_len) {
                Ok(entries) => entries,
                Err(e) => replica.fail_stop("reading entries to replicate", &e),
            }
        } else {
            Vec::new()
        };
        let request = AppendRequest {
            epoch: shared.epoch,
            leader: replica.id,
            prev: last_of(next),
            entries,
            last: last_of(leader_len),
            commit: last_of(commit),
        };
        let answer: Result<AppendReply> = tokio::select! {
            _ = stop.wait() => return,
            answer = peer.post("/internal/append", &request, APPEND_TIMEOUT) => answer,
        };
        match answer {
            Ok(AppendReply { ok: true, .. }) => {
                if !reachable {
                    info!(
                        "epoch {}: follower {peer_id} is back, synced to {leader_len}",
                        shared.epoch
                    );
                    reachable = true;
                }
                next = leader_len;
                shared
                    .matched
                    .lock()
                    .expect("matched lock is never poisoned")
                    .insert(peer_id, leader_len);
                recompute_commit(&replica, &shared);
            }
            Ok(AppendReply { ok: false, synced }) => {
                let from = len_after(synced);
                info!(
                    "epoch {}: follower {peer_id} has a gap; resending from {from}",
                    shared.epoch
                );
                next = from;
                continue;
            }
            Err(Error::StaleEpoch { current, .. }) => {
                warn!(
                    "epoch {}: follower {peer_id} is at epoch {current}; stepping down",
                    shared.epoch
                );
                let _ = replica.observe_epoch(current, None).await;
                return;
            }
            Err(e) => {
                if reachable {
                    warn!(
                        "epoch {}: follower {peer_id} unreachable: {e}",
                        shared.epoch
                    );
                    reachable = false;
                }
                tokio::select! {
                    _ = stop.wait() => return,
                    _ = tokio::time::sleep(HEARTBEAT) => {}
                }
                continue;
            }
        }
        // Wait for new entries, or send a heartbeat.
        tokio::select! {
            _ = stop.wait() => return,
            _ = flushed.changed() => {}
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
}

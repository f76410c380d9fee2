//! The leader's side: placing orders with group commit, replicating to followers, the commit
//! rule, reads through the read index, and stepping down when a majority is out of reach.
//!
//! - **Group commit.** `place` requests queue while a catalog buy is out; then one buy carries
//!   them all, one write numbers the bought ones, and one flush (the driver's, after the step)
//!   makes them durable. Each buy has an id ([`BuyId`]) that its answer must match (`buying.rs`).
//! - **Replication.** Each follower gets the leader's whole suffix from where it is synced; one
//!   append is out per follower at a time, plus heartbeats. A gap answer moves `next` back. The
//!   appends leave while the leader's own flush of the same entries runs, not after it.
//! - **Commit.** An entry is committed once a majority holds it on disk as this epoch's leader
//!   has it: [`commit_len`] over the followers' `matched` lengths and the leader's own flushed
//!   length (`Leading::flushed_len`), never its written one.
//! - **Reads.** A committed order answers at once; one in the log but not committed yet waits for
//!   its commit; a number past the log answers "not found" only after a majority has answered a
//!   heartbeat round begun after the read arrived (the read index): only then is it sure that no
//!   newer leader could have committed it. A read index rather than a lease: it needs no bound on
//!   clock drift, and the simulator drifts clocks on purpose.
//! - **Check quorum.** A leader that has heard from no majority for [`STEP_DOWN_TICKS`] steps
//!   down, so a leader cut off from its followers is replaced; it also buys nothing from the
//!   catalog while its last majority contact is older than [`BUY_LEASE_TICKS`].

use common::wire::{PlaceRequest, Placed};
use common::{Epoch, Error, OrderNumber, ReplicaId, RequestId, Result};
use log::warn;
use std::collections::BTreeMap;

use crate::io::{BuyId, Reply, Tag};
use crate::node::{Duty, Node};
use crate::store::LogStore;

/// Most orders bought and written in one batch.
pub const MAX_BATCH: usize = 4096;
/// Most catalog buys a leader has out at once, by default ([`Node::buys_out`]). Two out gave
/// fewer orders/s and a slower buy under mixed load than one (docs/performance.md): the catalog
/// flushes each buy, so two small buys cost two flushes where one larger buy costs one.
pub const MAX_BUYS_OUT: usize = 1;
/// A follower with nothing new still hears from the leader this often.
pub const HEARTBEAT_TICKS: u64 = 5;
/// An append unanswered this long counts as lost and is sent again.
pub const APPEND_RETRY_TICKS: u64 = 100;
/// A leader that has heard from no majority for this long steps down.
pub const STEP_DOWN_TICKS: u64 = 100;
/// A leader buys only while it has heard from a majority this recently.
pub const BUY_LEASE_TICKS: u64 = 50;
/// Buy batches in a row that may fail to reach the catalog before the leader steps down, so that
/// a leader cut off from the catalog (but not from its followers) is replaced by one that can
/// reach it. While the catalog is down for everyone, leaders take turns at this pace.
pub const CATALOG_FAILURES_TO_STEP_DOWN: u32 = 3;
/// How long a leader that stepped down for want of a majority or of the catalog abstains from
/// standing again.
pub const ABSTAIN_TICKS: u64 = 250;
/// How long a placed order or a read may wait for its commit before the frontend is told to retry.
pub const COMMIT_TIMEOUT_TICKS: u64 = 150;

/// One follower as the leader sees it.
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    /// Where the next append starts.
    pub(crate) next: u64,
    /// Entries `0..matched` are on the follower as this leader has them.
    pub(crate) matched: u64,
    /// When the append out now was sent.
    pub(crate) in_flight: Option<u64>,
    pub(crate) last_sent: u64,
    /// When the follower last answered in this epoch.
    pub(crate) heard: u64,
    /// Highest heartbeat round it answered.
    pub(crate) round: u64,
    /// It said it is catching up after a restart: it gets heartbeats, not entries, until it
    /// says otherwise.
    pub(crate) recovering: bool,
    /// Its last append or heartbeat failed (down, cut off, timed out): it gets heartbeats, not
    /// entries, until it answers one, so a follower that is down does not cost the leader a
    /// read and a send of its whole gap with every batch.
    pub(crate) unreachable: bool,
}

/// What a waiting request is answered with once its order commits.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Answer {
    Placed,
    Order,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Waiter {
    pub(crate) tag: Tag,
    pub(crate) answer: Answer,
    pub(crate) deadline: u64,
}

/// A read past the log, waiting for a majority to answer heartbeat `round`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IndexRead {
    pub tag: Tag,
    pub number: OrderNumber,
    pub round: u64,
    pub deadline: u64,
}

/// A request not in the log yet: queued for a buy, or being bought.
pub(crate) struct Buying {
    pub(crate) request: PlaceRequest,
    pub(crate) tags: Vec<Tag>,
}

/// The state of leading one epoch.
pub(crate) struct Leading {
    pub(crate) epoch: Epoch,
    pub(crate) followers: BTreeMap<ReplicaId, Progress>,
    pub(crate) round: u64,
    /// Requests not in the log yet, by id, and the order they came in.
    pub(crate) unbought: BTreeMap<RequestId, Buying>,
    pub(crate) queue: Vec<RequestId>,
    /// The batches the catalog is buying now, by the id of their buy.
    pub(crate) in_catalog: BTreeMap<BuyId, Vec<RequestId>>,
    pub(crate) waiting: BTreeMap<OrderNumber, Vec<Waiter>>,
    pub(crate) reads: Vec<IndexRead>,
    /// Buy batches in a row that did not reach the catalog.
    pub(crate) catalog_failures: u32,
    /// How much of its log this leader knows to be on its own disk: nothing until the first
    /// flush after the takeover, then the length at its last flush. A leader only appends, so
    /// this is a prefix of what it sends.
    pub(crate) flushed_len: Option<u64>,
}

impl Leading {
    /// Leading `epoch`: followers are first sent the log from `from` (the takeover's commit
    /// index); the ones that promised count as heard now.
    pub(crate) fn new(
        epoch: Epoch,
        peers: &[ReplicaId],
        promised: &[ReplicaId],
        from: u64,
        now: u64,
    ) -> Leading {
        let followers = peers
            .iter()
            .map(|&p| {
                let progress = Progress {
                    next: from,
                    matched: 0,
                    in_flight: None,
                    last_sent: now,
                    heard: if promised.contains(&p) { now } else { 0 },
                    round: 0,
                    recovering: false,
                    unreachable: false,
                };
                (p, progress)
            })
            .collect();
        Leading {
            epoch,
            followers,
            round: 0,
            unbought: BTreeMap::new(),
            queue: Vec::new(),
            in_catalog: BTreeMap::new(),
            waiting: BTreeMap::new(),
            reads: Vec::new(),
            catalog_failures: 0,
            flushed_len: None,
        }
    }

    /// Every request still waiting on this leadership.
    pub(crate) fn waiting_tags(self) -> Vec<Tag> {
        let mut tags: Vec<Tag> = self.unbought.into_values().flat_map(|b| b.tags).collect();
        tags.extend(self.waiting.into_values().flatten().map(|w| w.tag));
        tags.extend(self.reads.into_iter().map(|r| r.tag));
        tags
    }

    /// Followers heard from within `ticks`, plus the leader itself.
    pub(crate) fn heard_within(&self, now: u64, ticks: u64) -> usize {
        1 + self
            .followers
            .values()
            .filter(|p| now.saturating_sub(p.heard) < ticks)
            .count()
    }
}

impl<S: LogStore> Node<S> {
    pub(crate) fn leading_mut(&mut self) -> Option<&mut Leading> {
        match &mut self.duty {
            Duty::Leader(leading) => Some(leading),
            _ => None,
        }
    }

    /// Whether this replica's appends may leave before the flush of the step that wrote their
    /// entries: only a leader's, and only once its takeover is on disk.
    pub(crate) fn appends_leave_early(&self) -> bool {
        matches!(&self.duty, Duty::Leader(leading) if leading.flushed_len.is_some())
    }

    /// The leader's own length as the commit rule counts it: what it has flushed.
    pub(crate) fn own_durable_len(&self) -> u64 {
        match &self.duty {
            Duty::Leader(_) if self.flaws.commit_counts_unflushed_leader => self.len,
            Duty::Leader(leading) => leading.flushed_len.unwrap_or(0).min(self.len),
            _ => 0,
        }
    }

    /// Everything written so far is on disk: a leader counts it towards a commit now.
    pub(crate) fn flushed(&mut self) -> Result<()> {
        let len = self.len;
        let Some(leading) = self.leading_mut() else {
            return Ok(());
        };
        leading.flushed_len = Some(len);
        self.recompute_commit()
    }

    pub(crate) fn not_leader(&self) -> Error {
        Error::NotLeader {
            leader: self.granted.filter(|&g| g != self.id),
        }
    }

    /// Answers at once if `number` is committed, else waits for it.
    pub(crate) fn await_commit(
        &mut self,
        tag: Tag,
        number: OrderNumber,
        answer: Answer,
    ) -> Option<Reply> {
        if number < self.commit_len {
            return self.committed_reply(number, answer).ok();
        }
        let deadline = self.now + COMMIT_TIMEOUT_TICKS;
        let leading = self.leading_mut()?;
        leading.waiting.entry(number).or_default().push(Waiter {
            tag,
            answer,
            deadline,
        });
        None
    }

    pub(crate) fn committed_reply(&self, number: OrderNumber, answer: Answer) -> Result<Reply> {
        Ok(match answer {
            Answer::Placed => Reply::Placed(Placed { number }),
            Answer::Order => Reply::Order(self.store.get(number)?.ok_or_else(|| {
                Error::Internal(format!("committed order {number} is missing from the log"))
            })?),
        })
    }

    // ---- time ----

    pub(crate) fn tick_leading(&mut self) -> Result<()> {
        let (now, majority, id, epoch) = (self.now, self.majority, self.id, self.epoch);
        let no_check_quorum = self.flaws.no_check_quorum;
        let Some(leading) = self.leading_mut() else {
            return Ok(());
        };
        if !no_check_quorum && leading.heard_within(now, STEP_DOWN_TICKS) < majority {
            warn!("replica {id}: no majority heard in epoch {epoch} for {STEP_DOWN_TICKS} ticks");
            self.step_down("a majority is out of reach");
            self.abstain_until = now + ABSTAIN_TICKS;
            return Ok(());
        }
        let mut expired = Vec::new();
        for waiters in leading.waiting.values_mut() {
            waiters.retain(|w| {
                let keep = w.deadline > now;
                if !keep {
                    expired.push(w.tag);
                }
                keep
            });
        }
        leading.waiting.retain(|_, w| !w.is_empty());
        leading.reads.retain(|r| {
            let keep = r.deadline > now;
            if !keep {
                expired.push(r.tag);
            }
            keep
        });
        for tag in expired {
            self.reply(
                tag,
                Err(Error::Unavailable(
                    "the order is not on a majority of replicas yet".into(),
                )),
            );
        }
        self.replicate(false)?;
        self.maybe_buy();
        Ok(())
    }
}

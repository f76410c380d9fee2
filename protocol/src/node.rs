//! One order replica's decisions: a synchronous state machine driven by requests, peers'
//! answers, the catalog's answers and ticks. It does no I/O and reads no clock; it calls its
//! [`LogStore`] and queues [`Output`]s for its driver.
//!
//! This file holds the state and the epoch rules; `follower.rs` the follower's side; `pull.rs`
//! the reading of peers' logs (a restart's catch-up, a candidate's takeover); `leading.rs`,
//! `buying.rs`, `replication.rs` and `reads.rs` the leader's side.

use common::wire::{Health, LeaderNotice, LogPage, LogQuery, Prepare, Promise, Role, MAX_LOG_PAGE};
use common::{Epoch, Error, OrderEntry, ReplicaId, Result, MAX_EPOCH, MAX_LOG_LEN};
use log::{info, warn};

use crate::io::{BuyId, BuyOutcome, Call, Output, Reply, Request, Tag};
use crate::leading::Leading;
use crate::pull::{Pull, Takeover};
use crate::rules::LogSummary;
use crate::store::LogStore;
use crate::Flaws;

/// What a replica does in its epoch.
pub(crate) enum Duty {
    Follower,
    /// Chosen by a frontend, reading a majority's logs before it leads.
    Candidate(Takeover),
    Leader(Box<Leading>),
}

/// One order replica.
///
/// Invariants, asserted where they are kept:
/// - `epoch` never goes backwards, across restarts too: it is persisted with `granted` before
///   any answer that depends on it leaves.
/// - An epoch is granted to one leader only (`granted`), and a replica leads only an epoch it
///   granted itself and a majority granted it.
/// - `log_epoch <= epoch`: a log is never labelled with an epoch the replica has not entered.
/// - `commit_len <= len`, and an entry below `commit_len` never changes.
/// - `synced_len <= len`: entries `0..synced_len` are held as the leader of `epoch` has them.
pub struct Node<S: LogStore> {
    pub(crate) id: ReplicaId,
    pub(crate) peers: Vec<ReplicaId>,
    pub(crate) majority: usize,
    pub(crate) store: S,
    pub(crate) epoch: Epoch,
    pub(crate) granted: Option<ReplicaId>,
    pub(crate) log_epoch: Epoch,
    /// The last epoch this replica led (persisted).
    pub(crate) led_epoch: Epoch,
    pub(crate) len: u64,
    pub(crate) commit_len: u64,
    pub(crate) synced_len: u64,
    /// The leader whose appends this replica took in `epoch`.
    pub(crate) follows: Option<ReplicaId>,
    /// Caught up after start: may be proposed as leader.
    pub(crate) ready: bool,
    /// After stepping down because a majority or the catalog was out of reach, this replica
    /// does not stand for leader again until this tick: another replica, which may reach what
    /// it could not, gets the lead instead.
    pub(crate) abstain_until: u64,
    pub(crate) duty: Duty,
    /// The catch-up after start, while it runs.
    pub(crate) catch_up: Option<Pull>,
    /// Entries catch-ups took from peers' logs since start.
    pub(crate) caught_up_entries: u64,
    /// Ticks since start.
    pub(crate) now: u64,
    pub(crate) outputs: Vec<Output>,
    /// The id of the next catalog buy; never reused while the node lives.
    pub(crate) next_buy: u64,
    halted: bool,
    /// Most entries this replica asks a peer for, and gives, in one page of a log read:
    /// [`MAX_LOG_PAGE`]; the simulator makes it small so that its short logs are read in pages.
    pub page_limit: usize,
    /// Most catalog buys out at once while leading: [`crate::MAX_BUYS_OUT`]; the simulator sets
    /// two in half its seeds, so that answers arrive out of order and must find their batch.
    pub buys_out: usize,
    /// Old behaviours kept switchable so the simulator can prove it finds them; all off in
    /// production.
    pub flaws: Flaws,
}

impl<S: LogStore> Node<S> {
    /// Replica `id` of a group with `peers`, over a store holding what it persisted.
    ///
    /// # Errors
    /// The store cannot be read.
    pub fn new(id: ReplicaId, peers: Vec<ReplicaId>, store: S) -> Result<Node<S>> {
        let position = store.position()?;
        // A majority of the whole group: the peers and this replica.
        let group = peers.len() + 1;
        let majority = group / 2 + 1;
        info!(
            "replica {id} opened its log: {} entries, commit {}, epoch {} (granted to {:?}), log epoch {}",
            position.len, position.commit_len, position.epoch, position.granted, position.log_epoch
        );
        Ok(Node {
            id,
            peers,
            majority,
            store,
            // A log written before labels were bounded by the epoch is read as entering it.
            epoch: position.epoch.max(position.log_epoch),
            granted: position.granted,
            log_epoch: position.log_epoch,
            led_epoch: position.led_epoch,
            len: position.len,
            commit_len: position.commit_len.min(position.len),
            synced_len: position.commit_len.min(position.len),
            follows: None,
            ready: false,
            abstain_until: 0,
            duty: Duty::Follower,
            catch_up: None,
            caught_up_entries: 0,
            now: 0,
            outputs: Vec::new(),
            next_buy: 0,
            halted: false,
            page_limit: MAX_LOG_PAGE,
            buys_out: crate::MAX_BUYS_OUT,
            flaws: Flaws::default(),
        })
    }

    /// Starts the catch-up from the peers; a replica without peers is ready at once.
    pub fn start(&mut self) {
        self.run(|node| {
            node.begin_catch_up();
            Ok(())
        });
    }

    /// A request from a frontend or a peer; its answer comes as [`Output::Reply`] with `tag`.
    pub fn on_request(&mut self, tag: Tag, request: Request) {
        self.run(|node| node.request(tag, request));
    }

    /// A peer's answer to a request this node sent with `call`.
    pub fn on_answer(&mut self, from: ReplicaId, call: Call, answer: Result<Reply>) {
        self.run(|node| node.answer(from, call, answer));
    }

    /// The catalog's answer to the [`Output::Buy`] named `id`.
    pub fn on_bought(&mut self, id: BuyId, outcome: BuyOutcome) {
        self.run(|node| node.on_bought_batch(id, outcome));
    }

    /// One tick of time: resends, heartbeats, timeouts.
    pub fn tick(&mut self) {
        self.run(|node| {
            node.now += 1;
            node.tick_pulls()?;
            node.tick_leading()
        });
    }

    /// The driver flushed everything the node wrote so far: a leader's own entries count
    /// towards a commit up to here from now on ([`Output::leaves_before_flush`]).
    pub fn on_flushed(&mut self) {
        self.run(|node| node.flushed());
    }

    /// What the node wants done, in order; the driver flushes the store first, but for what
    /// [`Output::leaves_before_flush`] names.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    /// The health report frontends elect from.
    pub fn health(&self) -> Health {
        let ready = self.ready && self.now >= self.abstain_until;
        let role = match (&self.duty, self.ready) {
            (Duty::Leader(_), _) => Role::Leader,
            (Duty::Candidate(_), _) => Role::Candidate,
            (Duty::Follower, true) => Role::Follower,
            (Duty::Follower, false) => Role::Recovering,
        };
        Health {
            id: self.id,
            epoch: self.epoch,
            role,
            leader: self.granted,
            len: self.len,
            commit_len: self.commit_len,
            ready: ready || matches!(self.duty, Duty::Leader(_)),
        }
    }

    /// The epoch this replica leads, if it leads.
    pub fn leading(&self) -> Option<Epoch> {
        matches!(self.duty, Duty::Leader(_)).then_some(self.epoch)
    }

    /// Highest epoch seen.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Epoch of the leader whose log this one copies.
    pub fn log_epoch(&self) -> Epoch {
        self.log_epoch
    }

    /// Log length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Committed length.
    pub fn commit_len(&self) -> u64 {
        self.commit_len
    }

    /// Whether the storage failed and the node stopped.
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// The store, for tools and the simulator's checks.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, for the driver's flush.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Runs one step; a storage failure halts the node (fail-stop: a replica whose disk failed
    /// must not answer from a log that may differ from what is on disk).
    fn run(&mut self, step: impl FnOnce(&mut Self) -> Result<()>) {
        if self.halted {
            return;
        }
        if let Err(error) = step(self) {
            warn!("replica {}: halting: {error}", self.id);
            self.halted = true;
            self.outputs.clear();
            self.outputs.push(Output::Halt { error });
        }
        self.check_invariants();
    }

    fn check_invariants(&self) {
        assert!(
            self.log_epoch <= self.epoch,
            "replica {}: log epoch {} above epoch {}",
            self.id,
            self.log_epoch,
            self.epoch
        );
        assert!(
            self.commit_len <= self.len && self.synced_len <= self.len,
            "replica {}: commit {} synced {} past length {}",
            self.id,
            self.commit_len,
            self.synced_len,
            self.len
        );
    }

    pub(crate) fn reply(&mut self, tag: Tag, reply: Result<Reply>) {
        self.outputs.push(Output::Reply { tag, reply });
    }

    pub(crate) fn send(&mut self, to: ReplicaId, request: Request, call: Call) {
        let early = matches!(request, Request::Append(_)) && self.appends_leave_early();
        self.outputs.push(Output::Send {
            to,
            request,
            call,
            early,
        });
    }

    pub(crate) fn summary(&self) -> LogSummary {
        LogSummary {
            log_epoch: self.log_epoch,
            len: self.len,
        }
    }

    /// Dispatches a request. Errors that are the request's own go back as its reply; only
    /// storage failures come back as `Err`.
    fn request(&mut self, tag: Tag, request: Request) -> Result<()> {
        let answer = match request {
            Request::Health => Ok(Some(Reply::Health(self.health()))),
            Request::Leader(notice) => self.on_notice(tag, notice),
            Request::Place(place) => self.place(tag, place),
            Request::Get(number) => self.get(tag, number),
            Request::Prepare(prepare) => self.on_prepare(prepare),
            Request::Append(append) => self.on_append(append),
            Request::Log(query) => self.page(&query).map(|p| Some(Reply::Page(p))),
        };
        match answer {
            Ok(Some(reply)) => self.reply(tag, Ok(reply)),
            Ok(None) => {}
            Err(e @ (Error::Storage(_) | Error::Internal(_))) => return Err(e),
            Err(e) => self.reply(tag, Err(e)),
        }
        Ok(())
    }

    fn answer(&mut self, from: ReplicaId, call: Call, answer: Result<Reply>) -> Result<()> {
        if let Err(Error::StaleEpoch { current, .. }) = &answer {
            return self.observe_epoch(*current);
        }
        match call {
            Call::Append { epoch } => self.on_appended(from, epoch, answer),
            Call::Prepare { epoch } => self.on_promise(from, epoch, answer),
            Call::Log { from: at } => self.on_page(from, at, answer),
        }
    }

    // ---- epochs ----

    /// Grants `epoch` to `leader` if this replica may, durably; refuses an epoch below ours and
    /// another leader for an epoch already granted.
    ///
    /// # Errors
    /// `BadRequest` for an epoch past [`MAX_EPOCH`]; `StaleEpoch`; `EpochTaken`.
    pub(crate) fn grant(&mut self, epoch: Epoch, leader: ReplicaId) -> Result<()> {
        if epoch > MAX_EPOCH && !self.flaws.unchecked_epochs {
            return Err(Error::BadRequest(format!(
                "epoch {epoch} is out of range (at most {MAX_EPOCH})"
            )));
        }
        if epoch < self.epoch {
            return Err(Error::StaleEpoch {
                got: epoch,
                current: self.epoch,
            });
        }
        if epoch > self.epoch {
            return self.enter_epoch(epoch, Some(leader));
        }
        let candidate_here = !matches!(self.duty, Duty::Follower);
        let taking_over = matches!(self.duty, Duty::Candidate(_));
        match self.granted {
            Some(granted) if granted == leader => Ok(()),
            // Two candidates split the epoch's votes: the higher id wins it, so the lower one
            // gives its takeover up and its vote to the higher one (it never led this epoch,
            // so its vote counted only in its own takeover).
            Some(granted) if granted == self.id && taking_over && leader > self.id => {
                self.step_down(&format!("replica {leader} also stands for epoch {epoch}"));
                self.granted = Some(leader);
                self.store.set_vote(epoch, Some(leader))
            }
            // Our own candidacy for this epoch failed (it never led: a takeover that finishes
            // records the epoch it leads first): that vote counted only in our takeover, which
            // is over, so it may go to the leader that won.
            Some(granted) if granted == self.id && !candidate_here && self.led_epoch < epoch => {
                info!(
                    "replica {}: lost epoch {epoch}; following replica {leader}",
                    self.id
                );
                self.granted = Some(leader);
                self.store.set_vote(epoch, Some(leader))
            }
            Some(_) if self.flaws.grant_any_leader_in_epoch => Ok(()),
            Some(granted) => Err(Error::EpochTaken {
                epoch,
                leader: granted,
            }),
            None => {
                self.granted = Some(leader);
                self.store.set_vote(epoch, Some(leader))
            }
        }
    }

    /// Learns of a higher epoch without granting it (from a refusal, or a log adopted in
    /// catch-up).
    pub(crate) fn observe_epoch(&mut self, epoch: Epoch) -> Result<()> {
        if epoch > self.epoch && epoch <= MAX_EPOCH {
            self.enter_epoch(epoch, None)?;
        }
        Ok(())
    }

    /// Moves to a newer epoch: whatever this replica led or was taking over ends, and nothing
    /// past the commit index is known to match the new leader yet.
    fn enter_epoch(&mut self, epoch: Epoch, granted: Option<ReplicaId>) -> Result<()> {
        assert!(
            epoch > self.epoch,
            "replica {}: epoch must grow: {} -> {epoch}",
            self.id,
            self.epoch
        );
        self.step_down(&format!("epoch {epoch} supersedes {}", self.epoch));
        info!(
            "replica {}: entering epoch {epoch} (leader {granted:?})",
            self.id
        );
        self.epoch = epoch;
        self.granted = granted;
        self.follows = None;
        self.synced_len = self.commit_len;
        self.store.set_vote(epoch, granted)
    }

    /// Stops leading or taking over; everything waiting on it is told to go elsewhere.
    pub(crate) fn step_down(&mut self, why: &str) {
        match std::mem::replace(&mut self.duty, Duty::Follower) {
            Duty::Follower => {}
            Duty::Candidate(takeover) => {
                info!(
                    "replica {}: gives up taking over epoch {}: {why}",
                    self.id, takeover.epoch
                );
                let error = Error::Unavailable(format!(
                    "replica {} could not take over epoch {}: {why}",
                    self.id, takeover.epoch
                ));
                for tag in takeover.tags {
                    self.reply(tag, Err(error.clone()));
                }
            }
            Duty::Leader(leading) => {
                info!(
                    "replica {}: steps down from epoch {}: {why}",
                    self.id, self.epoch
                );
                for tag in (*leading).waiting_tags() {
                    self.reply(tag, Err(Error::NotLeader { leader: None }));
                }
            }
        }
    }

    // ---- requests every replica answers ----

    fn on_notice(&mut self, tag: Tag, notice: LeaderNotice) -> Result<Option<Reply>> {
        let LeaderNotice { id, epoch } = notice;
        if id != self.id && !self.peers.contains(&id) {
            return Err(Error::BadRequest(format!("no replica {id} in this group")));
        }
        if id != self.id {
            // A notice naming another replica only fences: it grants that leader the epoch.
            self.grant(epoch, id)?;
            return Ok(Some(Reply::Health(self.health())));
        }
        if !self.ready || self.now < self.abstain_until {
            return Err(Error::NotLeader {
                leader: self.granted.filter(|&g| g != self.id),
            });
        }
        self.grant(epoch, id)?;
        match &mut self.duty {
            Duty::Leader(_) => Ok(Some(Reply::Health(self.health()))),
            Duty::Candidate(takeover) if takeover.epoch == epoch => {
                takeover.tags.push(tag);
                Ok(None)
            }
            _ => {
                self.begin_takeover(epoch, tag)?;
                Ok(None)
            }
        }
    }

    fn on_prepare(&mut self, prepare: Prepare) -> Result<Option<Reply>> {
        let Prepare {
            epoch,
            leader,
            from,
        } = prepare;
        if !self.peers.contains(&leader) {
            return Err(Error::BadRequest(format!(
                "prepare from {leader}, not a peer of replica {}",
                self.id
            )));
        }
        if from > MAX_LOG_LEN {
            return Err(Error::BadRequest(format!(
                "prepare from {from} is out of range"
            )));
        }
        self.grant(epoch, leader)?;
        let entries = self.entries_from(from, self.page_limit)?;
        Ok(Some(Reply::Promise(Promise {
            epoch: self.epoch,
            log_epoch: self.log_epoch,
            len: self.len,
            commit_len: self.commit_len,
            from,
            entries,
        })))
    }

    /// Up to `limit` entries from `from` (none when `from` is at or past the end).
    pub(crate) fn entries_from(&self, from: u64, limit: usize) -> Result<Vec<OrderEntry>> {
        let to = self.len.min(from.saturating_add(limit as u64));
        if from >= to {
            return Ok(Vec::new());
        }
        self.store.slice(from, to)
    }

    fn page(&self, query: &LogQuery) -> Result<LogPage> {
        Ok(LogPage {
            entries: self.entries_from(query.from, query.limit.min(self.page_limit))?,
            epoch: self.epoch,
            log_epoch: self.log_epoch,
            len: self.len,
            commit_len: self.commit_len,
        })
    }
}

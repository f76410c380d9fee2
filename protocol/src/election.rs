//! The frontend's election, as a state machine: which replica this frontend sends orders to,
//! and when and whom to propose as a new leader. It does no I/O; the driver polls the replicas'
//! health and sends the proposals it asks for, and feeds the answers back.
//!
//! The rules:
//! - **Follow before electing.** A replica that reports itself ready leader of the highest epoch
//!   any replica reports is followed as it is: a frontend that sees a live leader never proposes,
//!   so several frontends settle on the same leader without fighting.
//! - **Wait for a running takeover.** A candidate of the highest epoch is given
//!   [`CANDIDATE_WAIT_TICKS`] to finish before anyone proposes over it.
//! - **Propose the best.** Otherwise, with a majority answering, the ready replica with the highest
//!   id (skipping ones that just failed to take over) is proposed for an epoch above every epoch
//!   seen; it leads only once a majority has granted it that epoch (see the node's takeover).
//! - **A loser learns.** A proposal refused because the epoch is taken or stale is not retried
//!   with the next epoch at once: the frontend polls again after a randomized pause, and follows
//!   whoever won.
//! - **Checked arithmetic.** An epoch that cannot be raised is "unavailable", never a wrap.

use common::wire::{Health, Role};
use common::{Epoch, Error, FrontendId, ReplicaId, Result, MAX_EPOCH};
use log::{debug, info, warn};
use std::collections::BTreeSet;

/// Ticks between health polls while a leader is known.
pub const MONITOR_TICKS: u64 = 25;
/// Shortest pause before polling again while there is no leader; a random share of
/// [`POLL_JITTER_TICKS`] is added so that frontends do not move in step.
pub const RETRY_POLL_TICKS: u64 = 3;
/// See [`RETRY_POLL_TICKS`].
pub const POLL_JITTER_TICKS: u64 = 8;
/// How long a candidate of the highest epoch is left to finish its takeover.
pub const CANDIDATE_WAIT_TICKS: u64 = 60;
/// Polls in a row the leader may miss before it is given up (one miss under load is not a crash).
pub const LEADER_MISSES: u32 = 2;

/// What the elector is built from.
#[derive(Clone, Debug)]
pub struct ElectorConfig {
    pub frontend: FrontendId,
    pub replicas: Vec<ReplicaId>,
    /// Seeds the jitter of retries.
    pub seed: u64,
}

/// What the driver must do for the elector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Ask every replica for its health; answer with [`Elector::on_health`].
    PollHealth,
    /// Send `leader {candidate, epoch}` to the candidate; answer with [`Elector::on_proposed`].
    Propose { candidate: ReplicaId, epoch: Epoch },
}

/// One frontend's view of who leads the order replicas.
pub struct Elector {
    frontend: FrontendId,
    replicas: Vec<ReplicaId>,
    majority: usize,
    current: Option<(ReplicaId, Epoch)>,
    /// Highest epoch this frontend proposed.
    last_epoch: Epoch,
    now: u64,
    polling: bool,
    proposing: Option<(ReplicaId, Epoch)>,
    next_poll: u64,
    misses: u32,
    /// Candidates that failed to take over since the last success, and the last leader that
    /// stepped down while alive (it may be cut off from something it needs, such as the
    /// catalog): the next election tries the others first.
    failed: BTreeSet<ReplicaId>,
    /// A takeover seen running: who, which epoch, since when.
    candidate_seen: Option<(ReplicaId, Epoch, u64)>,
    /// A leader its followers name but that did not answer: how many polls it was waited for.
    unheard_leader: Option<(ReplicaId, Epoch, u32)>,
    /// Why there is no leader now.
    unavailable: Error,
    rng: u64,
    /// Leader changes this frontend has seen.
    pub changes: u64,
}

/// Whether `health` says its replica leads `epoch` as `id`, ready to take orders.
pub fn leads(health: &Health, id: ReplicaId, epoch: Epoch) -> bool {
    health.id == id && health.epoch == epoch && health.role == Role::Leader && health.ready
}

impl Elector {
    /// An elector with no leader yet; its first tick polls.
    pub fn new(config: ElectorConfig) -> Elector {
        let majority = config.replicas.len() / 2 + 1;
        Elector {
            frontend: config.frontend,
            replicas: config.replicas,
            majority,
            current: None,
            last_epoch: 0,
            now: 0,
            polling: false,
            proposing: None,
            next_poll: 0,
            misses: 0,
            failed: BTreeSet::new(),
            candidate_seen: None,
            unheard_leader: None,
            unavailable: Error::Unavailable("no order leader elected yet".into()),
            rng: config.seed | 1,
            changes: 0,
        }
    }

    /// The leader orders go to, and its epoch.
    pub fn leader(&self) -> Option<(ReplicaId, Epoch)> {
        self.current
    }

    /// Why there is no leader, for the client's 503.
    pub fn unavailable(&self) -> Error {
        self.unavailable.clone()
    }

    /// Its state in one line, for failure reports.
    pub fn describe(&self) -> String {
        format!(
            "leader {:?}, polling {}, proposing {:?}, next poll at {} (now {}), failed {:?}, unheard {:?}",
            self.current, self.polling, self.proposing, self.next_poll, self.now, self.failed, self.unheard_leader
        )
    }

    /// The replicas this elector polls.
    pub fn replicas(&self) -> &[ReplicaId] {
        &self.replicas
    }

    /// One tick: polls when one is due.
    pub fn tick(&mut self) -> Vec<Action> {
        self.now += 1;
        if self.polling || self.proposing.is_some() || self.now < self.next_poll {
            return Vec::new();
        }
        self.polling = true;
        vec![Action::PollHealth]
    }

    /// An order call to `leader` of `epoch` failed; `definite` when the replica said it does
    /// not lead (not leader, stale epoch), otherwise it is checked by a poll first.
    pub fn on_call_failed(&mut self, leader: ReplicaId, epoch: Epoch, definite: bool) {
        if self.current != Some((leader, epoch)) {
            return;
        }
        if definite {
            info!(
                "frontend {}: replica {leader} no longer leads epoch {epoch}",
                self.frontend
            );
            self.current = None;
        }
        self.next_poll = self.now;
    }

    /// The answers of a health poll (the replicas that answered in time).
    pub fn on_health(&mut self, answers: &[(ReplicaId, Health)]) -> Vec<Action> {
        self.polling = false;
        let answers: Vec<&(ReplicaId, Health)> = answers
            .iter()
            .filter(|(id, h)| h.id == *id && self.replicas.contains(id))
            .collect();
        let top = answers.iter().map(|(_, h)| h.epoch).max().unwrap_or(0);
        let live = answers
            .iter()
            .find(|(id, h)| leads(h, *id, h.epoch) && h.epoch == top)
            .map(|(id, h)| (*id, h.epoch));
        if let Some((id, epoch)) = self.current {
            if live == Some((id, epoch)) {
                self.misses = 0;
                self.next_poll = self.now + MONITOR_TICKS;
                return Vec::new();
            }
            let answered = answers.iter().any(|(r, _)| *r == id);
            if !answered && live.is_none() {
                self.misses += 1;
                if self.misses < LEADER_MISSES {
                    self.next_poll = self.now + RETRY_POLL_TICKS;
                    return Vec::new();
                }
            }
            info!(
                "frontend {}: replica {id} no longer leads epoch {epoch}",
                self.frontend
            );
            self.current = None;
            if answered {
                self.failed.insert(id);
            }
        }
        self.misses = 0;
        if let Some((id, epoch)) = live {
            self.follow(id, epoch);
            return Vec::new();
        }
        self.next_poll = self.now + self.retry_ticks();
        if self.proposing.is_some() {
            return Vec::new();
        }
        if answers.len() < self.majority {
            self.unavailable =
                Error::Unavailable("fewer than a majority of order replicas are up".into());
            return Vec::new();
        }
        let running = answers
            .iter()
            .find(|(_, h)| h.role == Role::Candidate && h.epoch == top)
            .map(|(id, h)| (*id, h.epoch));
        if let Some((id, epoch)) = running {
            let since = match self.candidate_seen {
                Some((i, e, since)) if (i, e) == (id, epoch) => since,
                _ => self.now,
            };
            self.candidate_seen = Some((id, epoch, since));
            if self.now - since < CANDIDATE_WAIT_TICKS {
                debug!(
                    "frontend {}: replica {id} is taking over epoch {epoch}; waiting",
                    self.frontend
                );
                return Vec::new();
            }
        }
        // Followers name a leader of the top epoch that did not answer: its answer may be lost
        // or late, so it is given a couple more polls before anyone is proposed over it.
        let named = answers
            .iter()
            .filter(|(_, h)| h.epoch == top && h.role == Role::Follower)
            .find_map(|(_, h)| h.leader)
            .filter(|l| !answers.iter().any(|(id, _)| id == l));
        if let Some(leader) = named {
            let waited = match self.unheard_leader {
                Some((l, e, n)) if (l, e) == (leader, top) => n + 1,
                _ => 1,
            };
            self.unheard_leader = Some((leader, top, waited));
            if waited <= LEADER_MISSES {
                return Vec::new();
            }
        }
        let mut ready: Vec<ReplicaId> = answers
            .iter()
            .filter(|(_, h)| h.ready)
            .map(|(id, _)| *id)
            .collect();
        ready.sort_unstable_by(|a, b| b.cmp(a));
        if ready.iter().all(|id| self.failed.contains(id)) {
            self.failed.clear();
        }
        let Some(&candidate) = ready.iter().find(|id| !self.failed.contains(id)) else {
            self.unavailable = Error::Unavailable("no order replica is ready to lead".into());
            return Vec::new();
        };
        let Some(epoch) = top
            .max(self.last_epoch)
            .checked_add(1)
            .filter(|&e| e <= MAX_EPOCH)
        else {
            warn!(
                "frontend {}: replicas report epoch {top}, which cannot be raised",
                self.frontend
            );
            self.unavailable = Error::Unavailable(format!("epoch {top} cannot be raised"));
            return Vec::new();
        };
        info!(
            "frontend {}: proposing replica {candidate} for epoch {epoch} ({} of {} replicas answer)",
            self.frontend,
            answers.len(),
            self.replicas.len()
        );
        self.last_epoch = epoch;
        self.proposing = Some((candidate, epoch));
        vec![Action::Propose { candidate, epoch }]
    }

    /// The candidate's answer to a proposal.
    pub fn on_proposed(&mut self, candidate: ReplicaId, epoch: Epoch, answer: Result<Health>) {
        if self.proposing != Some((candidate, epoch)) {
            return;
        }
        self.proposing = None;
        match answer {
            Ok(health) if leads(&health, candidate, epoch) => self.follow(candidate, epoch),
            Err(Error::StaleEpoch { .. } | Error::EpochTaken { .. }) => {
                // Another frontend's election got there first: learn its outcome.
                debug!(
                    "frontend {}: epoch {epoch} went to another election",
                    self.frontend
                );
                self.next_poll = self.now + self.retry_ticks();
            }
            other => {
                let why = match other {
                    Ok(h) => format!("it reports epoch {} {:?}", h.epoch, h.role),
                    Err(e) => e.to_string(),
                };
                warn!(
                    "frontend {}: replica {candidate} did not take epoch {epoch}: {why}",
                    self.frontend
                );
                self.unavailable = Error::Unavailable(format!(
                    "replica {candidate} could not take the lead: {why}"
                ));
                self.failed.insert(candidate);
                self.next_poll = self.now + self.retry_ticks();
            }
        }
    }

    fn follow(&mut self, id: ReplicaId, epoch: Epoch) {
        info!(
            "frontend {}: replica {id} leads epoch {epoch}",
            self.frontend
        );
        self.current = Some((id, epoch));
        self.unheard_leader = None;
        self.failed.retain(|&f| f != id);
        self.candidate_seen = None;
        self.misses = 0;
        self.changes += 1;
        self.next_poll = self.now + MONITOR_TICKS;
    }

    fn retry_ticks(&mut self) -> u64 {
        // xorshift64: the jitter only has to differ between frontends, and be replayable.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        RETRY_POLL_TICKS + self.rng % POLL_JITTER_TICKS
    }
}

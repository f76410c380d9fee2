//! Reading peers' logs: the catch-up of a restarted replica and the takeover of a candidate.
//! Both read every peer's log past the local commit index, pick the best log
//! ([`best_log`]), fetch the rest of it page by page if it is long (`fetch.rs`), and adopt it:
//! a catch-up writes its committed part page by page as it comes, a takeover adopts it whole.
//!
//! A takeover's reads are fencing reads ([`Prepare`]): each peer grants the candidate the epoch
//! before it answers, so once a majority has answered no older leader can commit, and the best
//! of their logs holds every committed entry. The candidate leads only then.

use common::wire::{LogPage, LogQuery, Prepare, Promise};
use common::{Epoch, Error, OrderEntry, ReplicaId, Result};
use log::{info, warn};
use std::collections::{BTreeMap, BTreeSet};

use crate::fetch::Fetch;
use crate::io::{Call, Reply, Request, Tag};
use crate::leading::Leading;
use crate::node::{Duty, Node};
use crate::rules::{best_log, LogSummary};
use crate::store::LogStore;

/// Ticks between resends of unanswered reads.
pub const PULL_RESEND_TICKS: u64 = 25;
/// Ticks a restarted replica waits for every peer before it decides on the answers it has.
pub const CATCH_UP_WAIT_TICKS: u64 = 25;
/// Ticks a candidate may take to hear from a majority before it gives up.
pub const TAKEOVER_TICKS: u64 = 100;
/// Ticks a catch-up waits for the next page of the log it chose before it chooses again.
pub const FETCH_STALL_TICKS: u64 = 6 * PULL_RESEND_TICKS;

/// A peer's log past the pull's `from`, as far as it has been read.
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub log_epoch: Epoch,
    pub len: u64,
    pub commit_len: u64,
    pub entries: Vec<OrderEntry>,
}

impl Page {
    fn summary(&self) -> LogSummary {
        LogSummary {
            log_epoch: self.log_epoch,
            len: self.len,
        }
    }
}

/// One read of the peers' logs.
pub(crate) struct Pull {
    /// The local commit length when it began: everything before is committed and equal.
    pub from: u64,
    /// The local log when it began.
    pub mine: LogSummary,
    pub answers: BTreeMap<ReplicaId, Page>,
    /// Peers that refused (a takeover's epoch granted to another).
    pub refused: BTreeSet<ReplicaId>,
    pub started: u64,
    pub last_sent: u64,
    /// The best log, being fetched page by page.
    pub fetching: Option<Box<Fetch>>,
}

/// A candidate's takeover of `epoch`: the notices waiting for it and its read.
pub(crate) struct Takeover {
    pub epoch: Epoch,
    pub tags: Vec<Tag>,
    pub pull: Pull,
}

/// What a pull decided once it heard enough.
enum Decision {
    Wait,
    KeepOwn,
    Adopt(ReplicaId, Page),
    Fetch(ReplicaId, Page),
}

impl<S: LogStore> Node<S> {
    pub(crate) fn new_pull(&self) -> Pull {
        Pull {
            from: self.commit_len,
            mine: self.summary(),
            answers: BTreeMap::new(),
            refused: BTreeSet::new(),
            started: self.now,
            last_sent: self.now,
            fetching: None,
        }
    }

    pub(crate) fn begin_catch_up(&mut self) {
        if self.peers.is_empty() {
            self.ready = true;
            return;
        }
        let pull = self.new_pull();
        info!(
            "replica {}: catching up from {} (log epoch {}, {} entries)",
            self.id, pull.from, pull.mine.log_epoch, pull.mine.len
        );
        self.catch_up = Some(pull);
        self.send_pull_reads();
    }

    pub(crate) fn begin_takeover(&mut self, epoch: Epoch, tag: Tag) -> Result<()> {
        self.step_down(&format!("taking over epoch {epoch}"));
        info!(
            "replica {}: taking over epoch {epoch}: reading a majority from {}",
            self.id, self.commit_len
        );
        let pull = self.new_pull();
        self.duty = Duty::Candidate(Takeover {
            epoch,
            tags: vec![tag],
            pull,
        });
        self.send_pull_reads();
        self.advance_pull()
    }

    pub(crate) fn pull(&mut self) -> Option<&mut Pull> {
        match &mut self.duty {
            Duty::Candidate(takeover) => Some(&mut takeover.pull),
            _ => self.catch_up.as_mut(),
        }
    }

    pub(crate) fn takeover_epoch(&self) -> Option<Epoch> {
        match &self.duty {
            Duty::Candidate(takeover) => Some(takeover.epoch),
            _ => None,
        }
    }

    /// Sends the pull's reads: the fetch of the best log, or a read to every peer not heard yet.
    pub(crate) fn send_pull_reads(&mut self) {
        let (id, epoch, now) = (self.id, self.takeover_epoch(), self.now);
        let peers = self.peers.clone();
        let page_limit = self.page_limit;
        let Some(pull) = self.pull() else { return };
        if pull.fetching.is_some() {
            return self.send_fetch_reads(true);
        }
        pull.last_sent = now;
        let from = pull.from;
        let mut sends = Vec::new();
        let unheard: Vec<ReplicaId> = peers
            .iter()
            .copied()
            .filter(|p| !pull.answers.contains_key(p) && !pull.refused.contains(p))
            .collect();
        for peer in unheard {
            sends.push(match epoch {
                Some(epoch) => (
                    peer,
                    Request::Prepare(Prepare {
                        epoch,
                        leader: id,
                        from,
                    }),
                    Call::Prepare { epoch },
                ),
                None => (peer, log_read(from, page_limit), Call::Log { from }),
            });
        }
        for (to, request, call) in sends {
            self.send(to, request, call);
        }
    }

    pub(crate) fn on_promise(
        &mut self,
        from: ReplicaId,
        epoch: Epoch,
        answer: Result<Reply>,
    ) -> Result<()> {
        if self.takeover_epoch() != Some(epoch) {
            return Ok(());
        }
        let majority = self.majority;
        let group = self.peers.len() + 1;
        let Some(pull) = self.pull() else {
            return Ok(());
        };
        match answer {
            Ok(Reply::Promise(Promise {
                epoch: granted,
                log_epoch,
                len,
                commit_len,
                from: at,
                entries,
            })) if granted == epoch && at == pull.from => {
                pull.answers.insert(
                    from,
                    Page {
                        log_epoch,
                        len,
                        commit_len,
                        entries,
                    },
                );
            }
            Err(Error::EpochTaken { leader, .. }) => {
                pull.refused.insert(from);
                if group - pull.refused.len() < majority {
                    self.step_down(&format!("epoch {epoch} is granted to replica {leader}"));
                    return Ok(());
                }
            }
            _ => return Ok(()),
        }
        self.advance_pull()
    }

    pub(crate) fn on_page(
        &mut self,
        from: ReplicaId,
        at: u64,
        answer: Result<Reply>,
    ) -> Result<()> {
        let Ok(Reply::Page(page)) = answer else {
            return Ok(());
        };
        let takeover = self.takeover_epoch().is_some();
        let Some(pull) = self.pull() else {
            return Ok(());
        };
        if pull.fetching.is_some() {
            if !self.on_fetched_page(from, at, page)? {
                return Ok(());
            }
        } else if !takeover && at == pull.from {
            pull.answers.insert(from, page_of(&page));
        } else {
            return Ok(());
        }
        self.advance_pull()
    }

    pub(crate) fn tick_pulls(&mut self) -> Result<()> {
        let now = self.now;
        let takeover = self.takeover_epoch();
        let Some(pull) = self.pull() else {
            return Ok(());
        };
        let (started, last_sent, heard) = (pull.started, pull.last_sent, pull.answers.len());
        let resend_after = pull
            .fetching
            .as_ref()
            .map_or(PULL_RESEND_TICKS, |fetch| fetch.resend_after());
        let stalled = pull
            .fetching
            .as_ref()
            .is_some_and(|fetch| now - fetch.progressed_at() >= FETCH_STALL_TICKS);
        if stalled && takeover.is_none() {
            // The peer it reads from went away: read every peer again and choose again, rather
            // than wait on one peer while a replica that takes no appends keeps a majority short.
            warn!(
                "replica {}: catch-up restarts: no page came for {FETCH_STALL_TICKS} ticks",
                self.id
            );
            self.catch_up = Some(self.new_pull());
            self.send_pull_reads();
            return Ok(());
        }
        if let Some(epoch) = takeover {
            if now - started >= TAKEOVER_TICKS {
                let needed = self.majority;
                self.step_down(&format!(
                    "epoch {epoch}: reached {} of the {needed} replicas it needs",
                    heard + 1
                ));
                return Ok(());
            }
        }
        if now - last_sent >= resend_after {
            self.send_pull_reads();
        }
        self.advance_pull()
    }

    /// Decides, fetches or adopts, as far as the answers so far allow.
    fn advance_pull(&mut self) -> Result<()> {
        let decision = self.decide();
        // A catch-up counts what it receives once: a page that starts a fetch or is adopted
        // as it came, not the end of a fetch whose pages were counted as they came.
        let fetching = self.pull().is_some_and(|pull| pull.fetching.is_some());
        if self.takeover_epoch().is_none() && !fetching {
            if let Decision::Fetch(_, page) | Decision::Adopt(_, page) = &decision {
                self.caught_up_entries += page.entries.len() as u64;
            }
        }
        match decision {
            Decision::Wait => Ok(()),
            Decision::Fetch(peer, page) => {
                let now = self.now;
                let Some(pull) = self.pull() else {
                    return Ok(());
                };
                pull.fetching = Some(Box::new(Fetch::new(peer, page, now)));
                if self.takeover_epoch().is_none() {
                    self.write_fetched_committed()?;
                }
                self.send_fetch_reads(false);
                Ok(())
            }
            Decision::KeepOwn => self.finish_pull(None),
            Decision::Adopt(peer, page) => self.finish_pull(Some((peer, page))),
        }
    }

    fn decide(&mut self) -> Decision {
        let takeover = self.takeover_epoch().is_some();
        let (majority, peers, now) = (self.majority, self.peers.len(), self.now);
        let Some(pull) = self.pull() else {
            return Decision::Wait;
        };
        if let Some(fetch) = &pull.fetching {
            return if fetch.is_done(pull.from) {
                Decision::Adopt(fetch.peer, fetch.page.clone())
            } else {
                Decision::Wait
            };
        }
        let enough = if takeover {
            pull.answers.len() + 1 >= majority
        } else {
            pull.answers.len() == peers || now - pull.started >= CATCH_UP_WAIT_TICKS
        };
        if !enough {
            return Decision::Wait;
        }
        // A log shorter than our commit index lacks committed entries; it cannot be the best.
        let from = pull.from;
        let heard: Vec<(ReplicaId, &Page)> = pull
            .answers
            .iter()
            .filter(|(_, p)| p.len >= from)
            .map(|(id, p)| (*id, p))
            .collect();
        let mut summaries = vec![pull.mine];
        summaries.extend(heard.iter().map(|(_, p)| p.summary()));
        match best_log(&summaries).expect("the list holds at least our own log") {
            0 => Decision::KeepOwn,
            best => {
                let (peer, page) = heard[best - 1];
                if from + page.entries.len() as u64 >= page.len {
                    Decision::Adopt(peer, page.clone())
                } else {
                    Decision::Fetch(peer, page.clone())
                }
            }
        }
    }

    /// Adopts the chosen log (or keeps ours), then leads (a takeover) or reports ready.
    fn finish_pull(&mut self, chosen: Option<(ReplicaId, Page)>) -> Result<()> {
        match std::mem::replace(&mut self.duty, Duty::Follower) {
            Duty::Candidate(takeover) => self.finish_takeover(takeover, chosen),
            other => {
                self.duty = other;
                let pull = self.catch_up.take().expect("a pull is running");
                self.finish_catch_up(pull, chosen)
            }
        }
    }

    fn finish_takeover(
        &mut self,
        takeover: Takeover,
        chosen: Option<(ReplicaId, Page)>,
    ) -> Result<()> {
        let Takeover { epoch, tags, pull } = takeover;
        let source = match &chosen {
            Some((peer, page)) => format!(
                "replica {peer} (log epoch {}, {} entries)",
                page.log_epoch, page.len
            ),
            None => "its own log".to_string(),
        };
        let mut adopted = 0;
        if let Some((_, mut page)) = chosen {
            page.entries.truncate((page.len - pull.from) as usize);
            self.adopt(pull.from, &page.entries)?;
            adopted = page.entries.len();
        }
        self.log_epoch = epoch;
        self.store.set_log_epoch(epoch)?;
        self.led_epoch = epoch;
        self.store.set_led_epoch(epoch)?;
        let peers_commit = pull
            .answers
            .values()
            .map(|p| p.commit_len)
            .max()
            .unwrap_or(0);
        let commit = self.commit_len.max(peers_commit).min(self.len);
        if commit > self.commit_len {
            self.commit_len = commit;
            self.store.set_commit_len(commit)?;
        }
        self.synced_len = self.len;
        let promised: Vec<ReplicaId> = pull.answers.keys().copied().collect();
        self.duty = Duty::Leader(Box::new(Leading::new(
            epoch,
            &self.peers,
            &promised,
            pull.from,
            self.now,
        )));
        info!(
            "replica {} leads epoch {epoch}: adopted {adopted} entries from {} of {source}; log length {}, commit {}",
            self.id, pull.from, self.len, self.commit_len
        );
        let health = self.health();
        for tag in tags {
            self.reply(tag, Ok(Reply::Health(health.clone())));
        }
        self.replicate(true)
    }

    fn finish_catch_up(&mut self, pull: Pull, chosen: Option<(ReplicaId, Page)>) -> Result<()> {
        // Nothing but the pull itself writes while it runs: appends are refused until ready.
        assert!(
            self.summary() == pull.mine && self.commit_len == pull.from,
            "replica {}: the log changed under its catch-up",
            self.id
        );
        match chosen {
            Some((peer, mut page)) => {
                page.entries.truncate((page.len - pull.from) as usize);
                if !self.flaws.catch_up_keeps_epoch {
                    self.observe_epoch(page.log_epoch)?;
                }
                self.adopt(pull.from, &page.entries)?;
                if page.log_epoch > self.log_epoch {
                    self.log_epoch = page.log_epoch;
                    self.store.set_log_epoch(page.log_epoch)?;
                }
                let commit = page.commit_len.min(self.len);
                if commit > self.commit_len {
                    self.commit_len = commit;
                    self.store.set_commit_len(commit)?;
                }
                info!(
                    "replica {}: caught up {} entries from {} off replica {peer} (log epoch {}); log length {}, commit {}",
                    self.id,
                    page.entries.len(),
                    pull.from,
                    page.log_epoch,
                    self.len,
                    self.commit_len
                );
            }
            None => info!(
                "replica {}: catch-up from {}: heard {} peers, none ahead",
                self.id,
                pull.from,
                pull.answers.len()
            ),
        }
        self.ready = true;
        info!(
            "replica {} ready: log length {}, commit {}, epoch {}",
            self.id, self.len, self.commit_len, self.epoch
        );
        Ok(())
    }

    /// Replaces everything past `from` with `entries`.
    fn adopt(&mut self, from: u64, entries: &[OrderEntry]) -> Result<()> {
        self.check_committed_unchanged(from, entries)?;
        self.len = self.store.write(from, entries, &|_| true)?;
        self.synced_len = self.synced_len.min(self.len);
        Ok(())
    }
}

/// A read of up to `limit` entries of a peer's log from `from`.
pub(crate) fn log_read(from: u64, limit: usize) -> Request {
    Request::Log(LogQuery { from, limit })
}

fn page_of(page: &LogPage) -> Page {
    Page {
        log_epoch: page.log_epoch,
        len: page.len,
        commit_len: page.commit_len,
        entries: page.entries.clone(),
    }
}

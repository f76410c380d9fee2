//! Fetching the best log page by page, once a pull chose it (`pull.rs`).
//!
//! Up to [`FETCH_WINDOW`] pages are asked for at once, so the next page travels while this one is
//! written and flushed. Pages may come back in any order; each is taken only once every page
//! before it was. A page still out is asked for again after [`PULL_RESEND_TICKS`], then after
//! twice that, up to [`MAX_RESEND_TICKS`]: a slow page is not made slower by copies of itself.
//!
//! A catch-up writes, as each page comes, the part of it the peer reported committed
//! ([`Node::write_committed`]), so the memory a catch-up holds and the size of each write are a
//! page, not the whole gap. Only the uncommitted rest is kept and adopted at the end, as a
//! takeover adopts all it fetched.

use common::wire::LogPage;
use common::{OrderEntry, ReplicaId, Result};
use log::warn;
use std::collections::{BTreeMap, BTreeSet};

use crate::io::Call;
use crate::node::Node;
use crate::pull::{log_read, Page, PULL_RESEND_TICKS};
use crate::store::LogStore;

/// Pages asked for at once.
pub const FETCH_WINDOW: u64 = 2;
/// Most committed entries a catch-up writes in one write.
pub const WRITE_PIECE: usize = 1_000;
/// Longest wait before a page still out is asked for again.
pub const MAX_RESEND_TICKS: u64 = 8 * PULL_RESEND_TICKS;

/// The best log, being read from `peer`.
pub(crate) struct Fetch {
    pub peer: ReplicaId,
    /// The peer's log: its label, its length when chosen (the fetch ends there), the highest
    /// commit length it reported, and its entries from the pull's `from`, as far as taken.
    pub page: Page,
    /// Offsets asked for and not taken yet.
    asked: BTreeSet<u64>,
    /// Pages that came before a page they follow.
    early: BTreeMap<u64, LogPage>,
    /// Ticks to wait before asking again for what is still out.
    resend_after: u64,
    /// When entries were last taken (or the fetch began).
    progressed_at: u64,
}

/// What a page that came did to the fetch.
pub(crate) enum Fetched {
    /// Nothing (a stale or a duplicate answer, or one kept until the pages before it come).
    Nothing,
    /// Entries were taken.
    Progress,
    /// The peer's log is no longer the one chosen.
    Changed(String),
}

impl Fetch {
    pub(crate) fn new(peer: ReplicaId, page: Page, now: u64) -> Fetch {
        Fetch {
            peer,
            page,
            asked: BTreeSet::new(),
            early: BTreeMap::new(),
            resend_after: PULL_RESEND_TICKS,
            progressed_at: now,
        }
    }

    pub(crate) fn progressed_at(&self) -> u64 {
        self.progressed_at
    }

    /// The number of the first entry not taken yet.
    fn next(&self, from: u64) -> u64 {
        from + self.page.entries.len() as u64
    }

    /// Entries of the chosen log not held yet.
    pub(crate) fn remaining(&self, from: u64) -> u64 {
        self.page.len.saturating_sub(self.next(from))
    }

    /// Whether every entry of the chosen log is held.
    pub(crate) fn is_done(&self, from: u64) -> bool {
        self.next(from) >= self.page.len
    }

    /// How far the entries held are committed, as the peer reported.
    fn committed_end(&self, from: u64) -> u64 {
        self.page.commit_len.min(self.page.len).min(self.next(from))
    }

    /// Takes `page`, the answer for `at`, and every early page it makes next.
    fn take(&mut self, from: u64, at: u64, page: LogPage, now: u64) -> Fetched {
        let next = self.next(from);
        if at < next || self.is_done(from) {
            return Fetched::Nothing;
        }
        if at > next {
            if self.asked.contains(&at) {
                self.early.insert(at, page);
            }
            return Fetched::Nothing;
        }
        let mut page = page;
        loop {
            let next = self.next(from);
            self.asked.remove(&next);
            let extends = page.log_epoch == self.page.log_epoch
                && page.len >= self.page.len
                && page.entries.first().is_some_and(|e| e.number == next);
            if !extends {
                return Fetched::Changed(format!(
                    "replica {}'s log changed while it was read (log epoch {} length {}, was {} length {})",
                    self.peer, page.log_epoch, page.len, self.page.log_epoch, self.page.len
                ));
            }
            self.page.commit_len = self.page.commit_len.max(page.commit_len);
            self.page.entries.extend(page.entries);
            match self.early.remove(&self.next(from)) {
                Some(early) => page = early,
                None => break,
            }
        }
        self.resend_after = PULL_RESEND_TICKS;
        self.progressed_at = now;
        Fetched::Progress
    }

    /// The offsets to ask for now: the window past what is held, not asked yet; with `resend`,
    /// also those asked for and still out.
    fn offsets_to_ask(&mut self, from: u64, page_limit: usize, resend: bool) -> Vec<u64> {
        let next = self.next(from);
        let step = page_limit.max(1) as u64;
        let mut ask = Vec::new();
        for i in 0..FETCH_WINDOW {
            let at = next + i * step;
            if at >= self.page.len {
                break;
            }
            let out = self.asked.contains(&at);
            if (!out || resend) && !self.early.contains_key(&at) {
                ask.push(at);
                self.asked.insert(at);
            }
        }
        if resend {
            self.resend_after = (self.resend_after * 2).min(MAX_RESEND_TICKS);
        }
        ask
    }

    pub(crate) fn resend_after(&self) -> u64 {
        self.resend_after
    }
}

impl<S: LogStore> Node<S> {
    /// Asks the fetch's peer for the pages of the window not asked yet (all of them still out,
    /// with `resend`).
    pub(crate) fn send_fetch_reads(&mut self, resend: bool) {
        let (now, page_limit) = (self.now, self.page_limit);
        let Some(pull) = self.pull() else { return };
        let from = pull.from;
        let Some(fetch) = pull.fetching.as_mut() else {
            return;
        };
        let peer = fetch.peer;
        let offsets = fetch.offsets_to_ask(from, page_limit, resend);
        if !offsets.is_empty() {
            pull.last_sent = now;
        }
        for at in offsets {
            self.send(peer, log_read(at, page_limit), Call::Log { from: at });
        }
    }

    /// A page of the fetch came. A catch-up writes what of it is committed; a changed log
    /// restarts a catch-up and ends a takeover.
    pub(crate) fn on_fetched_page(
        &mut self,
        from: ReplicaId,
        at: u64,
        page: LogPage,
    ) -> Result<bool> {
        let takeover = self.takeover_epoch().is_some();
        let now = self.now;
        let Some(pull) = self.pull() else {
            return Ok(false);
        };
        let pull_from = pull.from;
        let Some(fetch) = pull.fetching.as_mut() else {
            return Ok(false);
        };
        if fetch.peer != from {
            return Ok(false);
        }
        let held_before = fetch.page.entries.len();
        let fetched = fetch.take(pull_from, at, page, now);
        let taken = fetch.page.entries.len().saturating_sub(held_before) as u64;
        match fetched {
            Fetched::Nothing => Ok(false),
            Fetched::Changed(why) => {
                if takeover {
                    self.step_down(&why);
                } else {
                    warn!("replica {}: catch-up restarts: {why}", self.id);
                    self.catch_up = Some(self.new_pull());
                    self.send_pull_reads();
                }
                Ok(false)
            }
            Fetched::Progress => {
                if !takeover {
                    self.caught_up_entries += taken;
                    self.write_fetched_committed()?;
                }
                self.send_fetch_reads(false);
                Ok(true)
            }
        }
    }

    /// Writes the committed part of what a catch-up fetched so far, and moves the pull's `from`
    /// past it.
    pub(crate) fn write_fetched_committed(&mut self) -> Result<()> {
        let Some(pull) = self.catch_up.as_mut() else {
            return Ok(());
        };
        let from = pull.from;
        let Some(fetch) = pull.fetching.as_mut() else {
            return Ok(());
        };
        let end = fetch.committed_end(from);
        if end <= from {
            return Ok(());
        }
        let entries: Vec<OrderEntry> = fetch.page.entries.drain(..(end - from) as usize).collect();
        // In pieces: one sled transaction of ten thousand entries holds several times the
        // memory and leaves several times the disk behind that ten of a thousand do.
        for (i, piece) in entries.chunks(WRITE_PIECE).enumerate() {
            self.write_committed(from + (i * WRITE_PIECE) as u64, piece)?;
        }
        let summary = self.summary();
        let pull = self.catch_up.as_mut().expect("the catch-up still runs");
        pull.from = end;
        pull.mine = summary;
        Ok(())
    }

    /// Writes `entries`, which a peer reported committed, over the log at `from`, and counts them
    /// committed.
    ///
    /// Committed entries are the same on every log, so writing them is safe whatever this log
    /// holds and whatever its label. The entries past them are dropped only if this log differs
    /// from them somewhere: then its entries past that point come from a log that lost and none
    /// is committed (logs that agree at an entry agree before it). A log that agrees keeps its
    /// tail, which may hold committed entries the peer did not know committed yet, so its label
    /// still tells the truth about it.
    pub(crate) fn write_committed(&mut self, from: u64, entries: &[OrderEntry]) -> Result<()> {
        self.check_committed_unchanged(from, entries)?;
        let end = from + entries.len() as u64;
        let held_to = self.len.min(end);
        let diverges = from < held_to
            && self
                .store
                .slice(from, held_to)?
                .iter()
                .zip(entries)
                .any(|(held, entry)| !held.same_order(entry));
        // The flaw keeps the committed prefix, so that the simulator shows what dropping an
        // agreeing tail loses, not the node's own commit check.
        let keep_below = if self.flaws.catch_up_drops_agreeing_tail {
            self.commit_len.max(end)
        } else {
            u64::MAX
        };
        self.len = self
            .store
            .write(from, entries, &|e| diverges || e.number >= keep_below)?;
        // Committed entries are held as every leader holds them, this epoch's included.
        self.synced_len = self.synced_len.min(self.len).max(end);
        if end > self.commit_len {
            self.commit_len = end;
            self.store.set_commit_len(end)?;
        }
        Ok(())
    }
}

//! The leader keeping its followers' logs equal to its own: one append out per follower with
//! the whole suffix from where it is synced, heartbeats even while an append is out, gap answers
//! that move `next` back, and the commit rule over what the followers hold. A follower that did
//! not answer gets heartbeats only until it does: its gap is sent once it can take it.

use common::wire::AppendRequest;
use common::{Epoch, ReplicaId, Result};
use log::debug;

use crate::io::{Call, Reply, Request};
use crate::leading::{APPEND_RETRY_TICKS, HEARTBEAT_TICKS};
use crate::node::Node;
use crate::rules::commit_len;
use crate::store::LogStore;

impl<S: LogStore> Node<S> {
    /// Sends each follower what it lacks (or a heartbeat when due); `all` sends to every
    /// follower with nothing out.
    pub(crate) fn replicate(&mut self, all: bool) -> Result<()> {
        let (now, len) = (self.now, self.len);
        let Some(leading) = self.leading_mut() else {
            return Ok(());
        };
        let mut due = Vec::new();
        let mut beat = Vec::new();
        for (id, p) in &leading.followers {
            match p.in_flight {
                Some(sent) if now - sent >= APPEND_RETRY_TICKS => due.push(*id),
                // An append that is slow or lost must not starve the follower of heartbeats:
                // they keep its (and our) view of the epoch alive, and its answer says where
                // it stands.
                Some(_) if now - p.last_sent >= HEARTBEAT_TICKS => beat.push(*id),
                Some(_) => {}
                // A follower catching up takes no entries; it only needs to hear of us. One that
                // did not answer hears from us too, and gets its entries once it answers.
                None if (p.recovering || p.unreachable) && now - p.last_sent >= HEARTBEAT_TICKS => {
                    beat.push(*id)
                }
                None if p.recovering || p.unreachable => {}
                None if all || p.next < len || now - p.last_sent >= HEARTBEAT_TICKS => {
                    due.push(*id)
                }
                None => {}
            }
        }
        for peer in due {
            self.send_append(peer)?;
        }
        for peer in beat {
            self.heartbeat(peer);
        }
        Ok(())
    }

    /// An empty append at the end of our log: a follower synced that far says ok, one behind
    /// says where it is.
    pub(crate) fn heartbeat(&mut self, peer: ReplicaId) {
        let (len, commit_len, id, now) = (self.len, self.commit_len, self.id, self.now);
        let Some(leading) = self.leading_mut() else {
            return;
        };
        let (epoch, round) = (leading.epoch, leading.round);
        if let Some(p) = leading.followers.get_mut(&peer) {
            p.last_sent = now;
        }
        let heartbeat = AppendRequest {
            epoch,
            leader: id,
            from: len,
            entries: Vec::new(),
            commit_len,
            round,
        };
        self.send(peer, Request::Append(heartbeat), Call::Append { epoch });
    }

    pub(crate) fn send_append(&mut self, peer: ReplicaId) -> Result<()> {
        let (now, len, commit_len, id) = (self.now, self.len, self.commit_len, self.id);
        let leading = self.leading_mut().expect("only a leader appends");
        let (epoch, round) = (leading.epoch, leading.round);
        let progress = leading.followers.get_mut(&peer).expect("a known follower");
        let from = progress.next.min(len);
        progress.in_flight = Some(now);
        progress.last_sent = now;
        let entries = self.entries_from(from, usize::MAX)?;
        let append = AppendRequest {
            epoch,
            leader: id,
            from,
            entries,
            commit_len,
            round,
        };
        self.send(peer, Request::Append(append), Call::Append { epoch });
        Ok(())
    }

    /// A follower's answer to an append.
    pub(crate) fn on_appended(
        &mut self,
        from: ReplicaId,
        epoch: Epoch,
        answer: Result<Reply>,
    ) -> Result<()> {
        let now = self.now;
        if let Ok(Reply::Appended(reply)) = &answer {
            if reply.epoch > self.epoch {
                return self.observe_epoch(reply.epoch);
            }
        }
        let Some(leading) = self.leading_mut() else {
            return Ok(());
        };
        if leading.epoch != epoch {
            return Ok(());
        }
        let Some(progress) = leading.followers.get_mut(&from) else {
            return Ok(());
        };
        progress.in_flight = None;
        let Ok(Reply::Appended(reply)) = answer else {
            progress.unreachable = true;
            return Ok(());
        };
        progress.unreachable = false;
        if reply.epoch != epoch {
            return Ok(());
        }
        progress.heard = now;
        progress.round = progress.round.max(reply.round);
        progress.recovering = reply.recovering;
        if reply.ok {
            progress.matched = progress.matched.max(reply.synced_len);
        } else {
            debug!(
                "epoch {epoch}: follower {from} has a gap; resending from {}",
                reply.synced_len
            );
        }
        // Not raised to `matched`: a follower that restarted holds its matched entries on disk
        // but knows itself synced only to its commit index, and says so.
        progress.next = reply.synced_len;
        let recovering = progress.recovering;
        let behind = progress.next < self.len && !recovering;
        self.recompute_commit()?;
        self.resolve_reads()?;
        if behind {
            self.send_append(from)?;
        }
        self.maybe_buy();
        Ok(())
    }

    /// Raises the commit index to what a majority holds in this epoch; answers the waiters.
    pub(crate) fn recompute_commit(&mut self) -> Result<()> {
        let (own, majority) = (self.own_durable_len(), self.majority);
        let Some(leading) = self.leading_mut() else {
            return Ok(());
        };
        let mut lens = vec![own];
        lens.extend(leading.followers.values().map(|p| p.matched));
        let committed = commit_len(&lens, majority);
        if committed <= self.commit_len {
            return Ok(());
        }
        self.commit_len = committed;
        self.store.set_commit_len(committed)?;
        let leading = self.leading_mut().expect("checked above");
        let still = leading.waiting.split_off(&committed);
        let done = std::mem::replace(&mut leading.waiting, still);
        for (number, waiters) in done {
            for waiter in waiters {
                let reply = self.committed_reply(number, waiter.answer);
                self.reply(waiter.tag, reply);
            }
        }
        Ok(())
    }
}

//! The follower's side of a replica: taking a leader's appends, and following the winner of an
//! epoch it voted in for someone else.

use common::wire::{AppendReply, AppendRequest};
use common::{Epoch, Error, OrderEntry, ReplicaId, Result, MAX_LOG_LEN};
use log::info;

use crate::io::Reply;
use crate::node::Node;
use crate::rules::drops_past_leader_end;
use crate::store::LogStore;

impl<S: LogStore> Node<S> {
    /// Takes `leader` as the leader of `epoch` because it appends: only a replica that won a
    /// majority of grants for the epoch appends in it, so a replica that granted its vote to a
    /// candidate that lost follows the winner (as Raft's followers do). A replica that leads or
    /// led the epoch itself, or already follows another leader of it, refuses: two leaders of
    /// one epoch is a bug to stop, not to follow.
    ///
    /// # Errors
    /// As [`Self::grant`]; `EpochTaken` when this replica led `epoch`.
    pub(crate) fn follow(&mut self, epoch: Epoch, leader: ReplicaId) -> Result<()> {
        if epoch != self.epoch
            || self.granted == Some(leader)
            || self.flaws.grant_any_leader_in_epoch
        {
            self.grant(epoch, leader)?;
            self.follows = Some(leader);
            return Ok(());
        }
        if let Some(followed) = self.follows.filter(|&f| f != leader) {
            return Err(Error::EpochTaken {
                epoch,
                leader: followed,
            });
        }
        if self.led_epoch == epoch {
            return Err(Error::EpochTaken {
                epoch,
                leader: self.id,
            });
        }
        self.step_down(&format!("replica {leader} won epoch {epoch}"));
        info!(
            "replica {}: follows replica {leader}, the winner of epoch {epoch} (granted to {:?})",
            self.id, self.granted
        );
        self.granted = Some(leader);
        self.follows = Some(leader);
        self.store.set_vote(epoch, Some(leader))
    }

    /// Takes the leader's suffix if this replica holds everything before it as the leader does.
    pub(crate) fn on_append(&mut self, append: AppendRequest) -> Result<Option<Reply>> {
        let leader_len = if self.flaws.unchecked_epochs {
            append.from + append.entries.len() as u64
        } else {
            append.leader_len()?
        };
        if !self.peers.contains(&append.leader) {
            return Err(Error::BadRequest(format!(
                "append from {}, not a peer of replica {}",
                append.leader, self.id
            )));
        }
        if let Some((i, bad)) = append
            .entries
            .iter()
            .enumerate()
            .find(|(i, e)| e.number != append.from + *i as u64 || e.epoch > append.epoch)
        {
            return Err(Error::BadRequest(format!(
                "append entry {i} out of place: number {} epoch {} in an append of epoch {} from {}",
                bad.number, bad.epoch, append.epoch, append.from
            )));
        }
        if append.commit_len > MAX_LOG_LEN {
            return Err(Error::BadRequest("append commit is out of range".into()));
        }
        self.follow(append.epoch, append.leader)?;
        let reply = |node: &Self, ok| {
            Some(Reply::Appended(AppendReply {
                epoch: node.epoch,
                ok,
                synced_len: node.synced_len,
                round: append.round,
                recovering: node.catch_up.is_some(),
            }))
        };
        // A replica catching up takes no entries: the pages it reads bring them, a page at a
        // time, where the whole suffix it lacks would come in one append, one write.
        if append.from > self.synced_len || self.catch_up.is_some() {
            return Ok(reply(self, false));
        }
        self.check_committed_unchanged(append.from, &append.entries)?;
        let epoch = append.epoch;
        // Entries below `synced_len` are the leader's own, whatever their stamp: an append that
        // a newer one overtook must not drop them.
        let keep_below = if self.flaws.drop_within_synced {
            leader_len
        } else {
            leader_len.max(self.synced_len)
        };
        self.len = self.store.write(append.from, &append.entries, &|e| {
            drops_past_leader_end(epoch, keep_below, e.number, e.epoch)
        })?;
        if self.log_epoch < epoch {
            self.log_epoch = epoch;
            self.store.set_log_epoch(epoch)?;
        }
        self.synced_len = self.synced_len.max(leader_len).min(self.len);
        let commit = append.commit_len.min(self.synced_len);
        if commit > self.commit_len {
            self.commit_len = commit;
            self.store.set_commit_len(commit)?;
        }
        Ok(reply(self, true))
    }

    /// A committed entry never changes: a write over the committed prefix must carry the same
    /// orders. A violation is a protocol bug, and the replica stops rather than diverge.
    pub(crate) fn check_committed_unchanged(
        &self,
        from: u64,
        entries: &[OrderEntry],
    ) -> Result<()> {
        let overlap = self
            .commit_len
            .saturating_sub(from)
            .min(entries.len() as u64) as usize;
        if overlap == 0 {
            return Ok(());
        }
        let held = self.store.slice(from, from + overlap as u64)?;
        match held.iter().zip(entries).find(|(a, b)| !a.same_order(b)) {
            None => Ok(()),
            Some((was, new)) => Err(Error::Internal(format!(
                "replica {}: committed entry {} would change from {was:?} to {new:?}",
                self.id, was.number
            ))),
        }
    }
}

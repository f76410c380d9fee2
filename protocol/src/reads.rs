//! Reading an order on the leader: a committed number answers at once, one in the log waits for
//! its commit, and one past the log is "not found" only after a read index: a majority answering
//! a heartbeat round begun after the read arrived.

use common::{Error, OrderNumber, ReplicaId, Result};

use crate::io::{Reply, Tag};
use crate::leading::{Answer, IndexRead, COMMIT_TIMEOUT_TICKS};
use crate::node::{Duty, Node};
use crate::store::LogStore;

impl<S: LogStore> Node<S> {
    pub(crate) fn get(&mut self, tag: Tag, number: OrderNumber) -> Result<Option<Reply>> {
        if self.leading_mut().is_none() {
            return Err(self.not_leader());
        }
        if number < self.commit_len {
            return self.committed_reply(number, Answer::Order).map(Some);
        }
        if self.flaws.read_commit_only {
            return Err(Error::NotFound("order not found".into()));
        }
        if number < self.len {
            return Ok(self.await_commit(tag, number, Answer::Order));
        }
        let (now, majority) = (self.now, self.majority);
        let leading = self.leading_mut().expect("checked above");
        leading.round += 1;
        let read = IndexRead {
            tag,
            number,
            round: leading.round,
            deadline: now + COMMIT_TIMEOUT_TICKS,
        };
        leading.reads.push(read);
        if majority == 1 {
            self.resolve_reads()?;
        } else {
            self.heartbeat_all();
        }
        Ok(None)
    }

    /// Answers the reads whose round a majority has answered.
    pub(crate) fn resolve_reads(&mut self) -> Result<()> {
        let majority = self.majority;
        let Some(leading) = self.leading_mut() else {
            return Ok(());
        };
        let confirmed = |round: u64| {
            1 + leading
                .followers
                .values()
                .filter(|p| p.round >= round)
                .count()
                >= majority
        };
        let (done, pending): (Vec<IndexRead>, Vec<IndexRead>) =
            leading.reads.drain(..).partition(|r| confirmed(r.round));
        leading.reads = pending;
        for read in done {
            if read.number >= self.len {
                self.reply(read.tag, Err(Error::NotFound("order not found".into())));
            } else if let Some(reply) = self.await_commit(read.tag, read.number, Answer::Order) {
                self.reply(read.tag, Ok(reply));
            }
        }
        Ok(())
    }

    /// An empty append to every follower, for a read's round: it does not wait for the appends
    /// already out, whose answers carry an older round.
    pub(crate) fn heartbeat_all(&mut self) {
        let peers: Vec<ReplicaId> = match &self.duty {
            Duty::Leader(leading) => leading.followers.keys().copied().collect(),
            _ => return,
        };
        for peer in peers {
            self.heartbeat(peer);
        }
    }
}

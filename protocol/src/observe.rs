//! What a replica's driver reads off the node to report it (`/metrics`, `/ready`): values only,
//! so the node stays free of I/O and its driver decides when and how to publish them.

use common::ReplicaId;

use crate::node::{Duty, Node};
use crate::store::LogStore;

/// How far the catch-up after start has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// Entries of the chosen peer's log still to fetch; 0 while the peers' logs are still being
    /// compared and none is chosen yet.
    pub remaining: u64,
}

impl<S: LogStore> Node<S> {
    /// The catch-up after start while it runs: until then the replica may lack committed
    /// entries it learned of, so it is not ready.
    pub fn catching_up(&self) -> Option<CatchUp> {
        let pull = self.catch_up.as_ref()?;
        let remaining = pull
            .fetching
            .as_ref()
            .map_or(0, |fetch| fetch.remaining(pull.from));
        Some(CatchUp { remaining })
    }

    /// Entries catch-ups took from peers' logs since this node started.
    pub fn caught_up_entries(&self) -> u64 {
        self.caught_up_entries
    }

    /// While this replica leads: each follower and the length of the prefix it holds as this
    /// leader has it (its lag is [`Node::len`] minus that).
    pub fn followers_matched(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        let leading = match &self.duty {
            Duty::Leader(leading) => Some(leading),
            _ => None,
        };
        leading
            .into_iter()
            .flat_map(|leading| leading.followers.iter().map(|(id, p)| (*id, p.matched)))
    }
}

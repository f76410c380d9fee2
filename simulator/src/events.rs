//! What happens in the simulated world: the events, ordered by tick and then by the order they
//! were scheduled in, so that one seed always replays the same run.

use common::{ReplicaId, Result};
use protocol::{BuyOutcome, Reply, Request};
use std::cmp::Ordering;

use crate::actors::{Origin, Site};

/// Something that happens at a tick.
#[derive(Clone)]
pub(crate) enum Event {
    ToReplica {
        to: ReplicaId,
        origin: Origin,
        corr: u64,
        request: Request,
    },
    ReplyToReplica {
        to: ReplicaId,
        incarnation: u64,
        from: ReplicaId,
        corr: u64,
        answer: Result<Reply>,
    },
    ReplyToFrontend {
        to: u32,
        corr: u64,
        answer: Result<Reply>,
    },
    ToCatalog {
        from: ReplicaId,
        incarnation: u64,
        corr: u64,
        batch: Vec<common::wire::BuyRequest>,
    },
    CatalogReply {
        to: ReplicaId,
        incarnation: u64,
        corr: u64,
        outcome: BuyOutcome,
    },
    ClientToFrontend {
        to: u32,
        client: usize,
        corr: u64,
        request: Request,
    },
    FrontendToClient {
        client: usize,
        corr: u64,
        answer: Result<Reply>,
    },
    FlushDone {
        replica: ReplicaId,
        incarnation: u64,
    },
}

pub(crate) struct Scheduled {
    pub at: u64,
    pub seq: u64,
    /// The link it crosses, checked against partitions on delivery.
    pub link: Option<(Site, Site)>,
    pub event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A copy of a message the network may deliver twice (requests and their answers; the
/// simulated processes' own hand-offs are never duplicated).
pub(crate) fn duplicate(event: &Event) -> Option<Event> {
    matches!(
        event,
        Event::ToReplica { .. } | Event::ReplyToReplica { .. } | Event::ToCatalog { .. }
    )
    .then(|| event.clone())
}

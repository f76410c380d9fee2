//! The simulated processes around the real state machines: a replica process (node, disk,
//! in-flight calls), a frontend (elector, forwarding and retries), a client, and the catalog.

use common::wire::{BuyReceipt, BuyRequest, Health};
use common::{Epoch, Error, OrderNumber, ReplicaId, RequestId, Result};
use protocol::{BuyId, Call, Elector, MemoryStore, Node, Output, Reply, Request};
use std::collections::{BTreeMap, BTreeSet};

/// Where a message comes from or goes to, for partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Site {
    Replica(ReplicaId),
    Frontend(u32),
    Catalog,
}

/// Who sent a request to a replica, so its reply finds its way back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Replica {
        id: ReplicaId,
        incarnation: u64,
    },
    Frontend(u32),
    /// An operator with the token sending nonsense on purpose.
    Rogue,
}

/// One replica process.
pub struct SimReplica {
    pub id: ReplicaId,
    pub node: Option<Node<MemoryStore>>,
    /// The disk while the process is down.
    pub disk: Option<MemoryStore>,
    pub incarnation: u64,
    /// Outputs held until the flush that covers their step's writes completes.
    pub held: Vec<Output>,
    pub flushing: bool,
    /// Extra ticks a flush takes (a slow disk).
    pub disk_delay: u64,
    /// Inbound requests waiting for their answer: tag → (origin, correlation).
    pub tags: BTreeMap<u64, (Origin, u64)>,
    pub next_tag: u64,
    /// Outbound calls: correlation → (peer, call, deadline).
    pub calls: BTreeMap<u64, (ReplicaId, Call, u64)>,
    /// Buy batches out at the catalog: correlation → (the node's id of the buy, deadline). They
    /// outlive the leadership that sent them, as a real catalog call does.
    pub buying: BTreeMap<u64, (BuyId, u64)>,
    pub restart_at: Option<u64>,
    /// Probability of ticking in a time unit: timers drift.
    pub tick_rate: f64,
}

/// A client call a frontend is working on.
pub struct FrontCall {
    pub client: usize,
    pub client_corr: u64,
    pub request: Request,
    /// The attempt out now: correlation, leader, epoch, deadline.
    pub attempt: Option<(u64, ReplicaId, Epoch, u64)>,
    pub retry_at: u64,
    pub backoff: u64,
    /// Ticks this call has waited while a majority could serve it.
    pub healthy_wait: u64,
}

/// What a frontend's outbound correlation is for.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    Poll(ReplicaId),
    Propose(ReplicaId, Epoch),
    Call(u64),
}

/// A health poll in progress.
pub struct Poll {
    pub answers: Vec<(ReplicaId, Health)>,
    pub waiting: BTreeSet<ReplicaId>,
    pub deadline: u64,
}

/// One frontend.
pub struct SimFrontend {
    pub id: u32,
    pub elector: Elector,
    pub tick_rate: f64,
    pub calls: BTreeMap<u64, FrontCall>,
    pub next_call: u64,
    pub purposes: BTreeMap<u64, Purpose>,
    pub poll: Option<Poll>,
    pub proposal_deadline: Option<u64>,
}

/// What a client is doing.
#[derive(Clone, Debug)]
pub enum ClientState {
    Idle,
    Placing {
        key: String,
        name: String,
        quantity: u32,
        expect: Expect,
        corr: u64,
    },
    Reading {
        number: OrderNumber,
        key: String,
        corr: u64,
    },
}

/// What a client expects of a `place`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    New,
    /// A retry of an acknowledged key: the same number.
    Same(OrderNumber),
    /// An acknowledged key with another body: a conflict.
    Conflict,
}

/// One client: a bounded script of orders.
pub struct SimClient {
    pub id: usize,
    pub state: ClientState,
    pub started: usize,
    pub next_corr: u64,
    /// Acknowledged keys: number, name, quantity.
    pub acked: BTreeMap<String, (OrderNumber, String, u32)>,
}

/// The catalog: stock, and the outcome of every buy by request id (idempotent, durable).
#[derive(Default)]
pub struct SimCatalog {
    pub stock: BTreeMap<String, u32>,
    pub outcomes: BTreeMap<RequestId, Result<BuyReceipt>>,
    /// Stock taken per request id: the exactly-once check reads it.
    pub taken: BTreeMap<RequestId, u32>,
    pub version: u64,
}

impl SimCatalog {
    pub fn buy(&mut self, batch: &[BuyRequest]) -> Vec<Result<BuyReceipt>> {
        batch
            .iter()
            .map(|b| {
                if let Some(outcome) = self.outcomes.get(&b.request_id) {
                    return outcome.clone();
                }
                let outcome = match self.stock.get_mut(&b.name) {
                    None => Err(Error::NotFound("product not found".into())),
                    Some(left) if *left < b.quantity => Err(Error::OutOfStock),
                    Some(left) => {
                        *left -= b.quantity;
                        self.version += 1;
                        *self.taken.entry(b.request_id.clone()).or_default() += b.quantity;
                        Ok(BuyReceipt {
                            version: self.version,
                            remaining: *left,
                        })
                    }
                };
                self.outcomes.insert(b.request_id.clone(), outcome.clone());
                outcome
            })
            .collect()
    }
}

/// Whether an answer from a replica goes back to the client as it is.
pub fn is_final(answer: &Result<Reply>) -> bool {
    match answer {
        Ok(_) => true,
        Err(e) => e.is_deterministic(),
    }
}

/// The catalog's toys and their stock: one scarce toy, so that "out of stock" happens.
pub const PRODUCTS: &[(&str, u32)] = &[("Tux", 100_000), ("Lego", 100_000), ("Whale", 40)];
